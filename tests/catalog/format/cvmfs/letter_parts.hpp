// What the tests of CernVM-FS's signed files share: the three parts of a
// signed file (whitelist, manifest), cut by the tests themselves rather than
// by catalog/format/cvmfs/letter.hpp, so what they check does not rest on
// the code under test; and trim() for what `openssl` prints.
#pragma once

#include <doctest/doctest.h>

#include <string>

namespace stratum::test {

struct letter_parts {
  std::string text, hash, signature;
};

// The output of a command line, without its trailing newline.
inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

inline letter_parts split_letter(const std::string& doc) {
  const auto mark = doc.find("\n--\n");
  REQUIRE(mark != std::string::npos);
  const auto hash_end = doc.find('\n', mark + 4);
  REQUIRE(hash_end != std::string::npos);
  return {doc.substr(0, mark + 1), doc.substr(mark + 4, hash_end - mark - 4), doc.substr(hash_end + 1)};
}

}  // namespace stratum::test
