// Shared by the fuzz targets in tests/fuzz/ (tests/fuzz/README.md). Each
// target is one LLVMFuzzerTestOneInput, linked either with libFuzzer (clang,
// STRATUM_FUZZ=ON) or with replay_main.cpp (any build: the corpus replay test).
// Runs on the fuzzer's (or the replay's) one thread.
//
// What counts as a finding: a sanitizer report, an exception other than
// stratum's errc::corrupt (a parser must turn every malformed input into
// that, never std::bad_alloc, std::length_error or std::out_of_range), or a
// broken property checked with require() (a round trip that changes the data).
#pragma once

#include "async/error.hpp"
#include "io/io.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace stratum::fuzz {

[[noreturn]] inline void finding(const char* what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what);
  std::abort();  // libFuzzer saves the input; the replay test fails
}

inline void require(bool ok, const char* what) {
  if (!ok) finding(what);
}

// Runs `parse`; a stratum error of errc::corrupt is the expected answer to
// a malformed input, anything else thrown is a finding. Returns whether
// `parse` succeeded.
template <class F>
bool accepts(F&& parse) {
  try {
    parse();
    return true;
  } catch (const stratum::error& e) {
    if (e.code() != make_error_code(errc::corrupt)) {
      std::fprintf(stderr, "unexpected error class: %s\n", e.what());
      finding("a parser threw an error other than errc::corrupt");
    }
    return false;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    finding("a parser threw something other than stratum::error");
  }
}

inline byte_view view(const std::uint8_t* data, std::size_t size) { return {data, size}; }

}  // namespace stratum::fuzz
