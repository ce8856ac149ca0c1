// Shared by the fuzz targets in tests/fuzz/ (tests/fuzz/README.md). Each
// target is one LLVMFuzzerTestOneInput, linked either with libFuzzer (clang,
// STRATUM_FUZZ=ON) or with replay_main.cpp (any build: the corpus replay test).
// Runs on the fuzzer's (or the replay's) one thread.
//
// What counts as a finding: a sanitizer report, an exception other than
// stratum's errc::corrupt (errc::usage too for a URL a user types; a parser
// must turn every malformed input into that, never std::bad_alloc,
// std::length_error or std::out_of_range), or a
// broken property checked with require() (a round trip that changes the data).
#pragma once

#include "async/error.hpp"
#include "io/io.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>

namespace stratum::fuzz {

[[noreturn]] inline void finding(const char* what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what);
  std::abort();  // libFuzzer saves the input; the replay test fails
}

inline void require(bool ok, const char* what) {
  if (!ok) finding(what);
}

// Runs `parse`; a stratum error of one of the `allowed` classes is the
// expected answer to a malformed input (errc::corrupt for bytes from a store;
// errc::usage too for what a user types, such as a URL), anything else thrown
// is a finding. Returns whether `parse` succeeded; `message`, when given, gets
// the error's what() (for properties of messages: no secret in them).
template <class F>
bool accepts(F&& parse, std::initializer_list<errc> allowed = {errc::corrupt}, std::string* message = nullptr) {
  try {
    parse();
    return true;
  } catch (const stratum::error& e) {
    if (std::find_if(allowed.begin(), allowed.end(), [&](errc c) { return e.code() == make_error_code(c); }) ==
        allowed.end()) {
      std::fprintf(stderr, "unexpected error class: %s\n", e.what());
      finding("a parser threw an error of a class it must not answer with");
    }
    if (message) *message = e.what();
    return false;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    finding("a parser threw something other than stratum::error");
  }
}

// The input after its first byte, which the targets of several parsers use
// to choose one.
inline std::string_view rest(const std::uint8_t* data, std::size_t size) {
  return size < 2 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);
}

inline byte_view view(const std::uint8_t* data, std::size_t size) { return {data, size}; }

}  // namespace stratum::fuzz
