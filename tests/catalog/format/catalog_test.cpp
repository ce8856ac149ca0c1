// Catalog encoding (catalog/format/catalog.hpp): determinism, validation, path order.
#include "catalog/format/catalog.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

namespace {

catalog sample_catalog() {
  catalog c;
  c.entries.push_back({.path = "", .type = entry_type::directory, .mode = 0755});
  c.entries.push_back({.path = "a", .type = entry_type::directory, .mode = 0700});
  entry f{.path = "a/f", .type = entry_type::regular, .mode = 04755, .uid = 7, .gid = 8, .size = 5, .mtime_sec = -3, .mtime_nsec = 999999999};
  f.object = sha256(as_bytes("hello"));
  f.xattrs = {{"user.k", "v"}};
  c.entries.push_back(f);
  c.entries.push_back({.path = "a-b", .type = entry_type::symlink, .size = 3, .link_target = "../"});
  c.stats.regular = 1;
  return c;
}

}  // namespace

TEST_CASE("catalogs encode deterministically and decode to the same value") {
  auto c = sample_catalog();
  auto b1 = encode_catalog(c), b2 = encode_catalog(c);
  CHECK(b1 == b2);
  auto d = decode_catalog(b1, "cat");
  CHECK(d.entries == c.entries);
  CHECK(d.stats == c.stats);
  CHECK(encode_catalog(d) == b1);
  CHECK(object_key(sha256(b1), object_kind::catalog).size() == 5 + 3 + 64 + 1);
}

TEST_CASE("the catalog reader rejects names that would escape the destination") {
  for (std::string bad : {"..", "a/../../etc", "a//b", "/abs", "a/.", "."}) {
    auto c = sample_catalog();
    c.entries[2].path = bad;
    CAPTURE(bad);
    CHECK_THROWS_WITH(decode_catalog(encode_catalog(c), "cat X"), doctest::Contains("cat X"));
  }
  auto c = sample_catalog();
  std::swap(c.entries[1], c.entries[3]);  // out of order: child before parent
  CHECK_THROWS(decode_catalog(encode_catalog(c), "x"));
  auto t = encode_catalog(sample_catalog());
  t.pop_back();
  CHECK_THROWS(decode_catalog(t, "x"));
}

TEST_CASE("path order is pre-order with names by bytes") {
  CHECK(path_before("", "a"));
  CHECK(path_before("a", "a/b"));
  CHECK(path_before("a/b", "a-c"));  // a's subtree before its sibling a-c
  CHECK(path_before("a/z", "b"));
  CHECK_FALSE(path_before("b", "a/z"));
  CHECK(path_within("a/b", "a"));
  CHECK_FALSE(path_within("ab", "a"));
}
