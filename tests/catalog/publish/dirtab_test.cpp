// Dirtab rules (catalog/publish/dirtab.hpp): the .cvmfsdirtab syntax —
// element-wise globs, relaxed `!` exclusions, comments — and the lines it
// refuses, each named with its line number.
#include "catalog/publish/dirtab.hpp"

#include <doctest/doctest.h>
#include <system_error>

using namespace stratum;

TEST_CASE("dirtab globs match element by element and exclusions match the whole path") {
  auto t = dirtab::parse("# software releases\n"
                         "/software/*/*\n"
                         "  /data/run-??  \n"
                         "\n"
                         "! *.git\n"
                         "! /software/old/*\n",
                         "tab");
  CHECK(t.matches("software/atlas/22.0"));
  CHECK(t.matches("software/cms/x"));
  CHECK_FALSE(t.matches("software/atlas"));             // one level short
  CHECK_FALSE(t.matches("software/atlas/22.0/bin"));    // one level too deep
  CHECK_FALSE(t.matches("software/atlas/repo.git"));    // excluded anywhere
  CHECK_FALSE(t.matches("software/old/1"));             // excluded by an absolute rule
  CHECK(t.matches("data/run-01"));
  CHECK_FALSE(t.matches("data/run-1"));                 // ? is exactly one character
  CHECK_FALSE(t.matches("data/run-001"));
  CHECK_FALSE(t.matches(""));
  CHECK_FALSE(t.matches("other/a/b"));
}

TEST_CASE("dirtab: * stays within one element in a rule, crosses elements in an exclusion") {
  auto t = dirtab::parse("/a/*\n! /a/x*\n", "tab");
  CHECK(t.matches("a/b"));
  CHECK_FALSE(t.matches("a/b/c"));
  CHECK_FALSE(t.matches("a/xyz"));
  auto u = dirtab::parse("/*/*\n! a/b\n", "tab");
  CHECK(u.matches("a/b"));  // a relative exclusion must match from the path's start ("/a/b")
}

TEST_CASE("dirtab escapes make * and ? literal") {
  auto t = dirtab::parse("/lit/a\\*b\n/lit/q\\?\n/lit/back\\\\slash\n", "tab");
  CHECK(t.matches("lit/a*b"));
  CHECK_FALSE(t.matches("lit/axb"));
  CHECK(t.matches("lit/q?"));
  CHECK_FALSE(t.matches("lit/qx"));
  CHECK(t.matches("lit/back\\slash"));
}

TEST_CASE("a dirtab line that is not a valid rule is refused with its line number") {
  CHECK_THROWS_WITH_AS(dirtab::parse("/ok/*\n/bad/\\x\n", "/src/.stratumdirtab"),
                       doctest::Contains("dirtab '/src/.stratumdirtab' line 2"), std::system_error);
  CHECK_THROWS_WITH_AS(dirtab::parse("/trailing\\\n", "t"), doctest::Contains("line 1"), std::system_error);
  CHECK_THROWS_WITH_AS(dirtab::parse("# c\nsoftware/*\n", "t"), doctest::Contains("line 2"), std::system_error);
  CHECK_THROWS_WITH_AS(dirtab::parse("software/*\n", "t"), doctest::Contains("absolute"), std::system_error);
  CHECK_THROWS_WITH_AS(dirtab::parse("/a/*\n! /a/*\n", "t"), doctest::Contains("line 2"), std::system_error);
  CHECK_NOTHROW(dirtab::parse("! *.git\n# only exclusions\n", "t"));
}
