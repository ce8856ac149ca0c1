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

TEST_CASE("version 2 records each nested catalog size, and version 1 without sizes is still read") {
  auto c = sample_catalog();
  c.entries[1].nested_root = true;
  c.entries.erase(c.entries.begin() + 2);  // a/f lives in the nested catalog
  c.nested.push_back({"a", sha256(as_bytes("nested")), 1234});
  auto v2 = encode_catalog(c);
  CHECK(v2[16] == 2);  // the version, right after the magic
  auto d = decode_catalog(v2, "cat");
  REQUIRE(d.nested.size() == 1);
  CHECK(d.nested[0].size == 1234);
  CHECK(d.entries == c.entries);
  CHECK(encode_catalog(d) == v2);

  // As an older stratum wrote it: version 1, no size in the reference.
  auto c1 = c;
  c1.nested[0].size.reset();
  auto v1 = encode_catalog(c1);
  CHECK(v1[16] == 1);
  CHECK(v1.size() == v2.size() - 2);  // 1234 is a 2-byte varint
  auto d1 = decode_catalog(v1, "cat");
  REQUIRE(d1.nested.size() == 1);
  CHECK_FALSE(d1.nested[0].size);
  CHECK(d1.nested[0].hash == c.nested[0].hash);
  CHECK(encode_catalog(d1) == v1);

  // A size of 0 cannot be a catalog's.
  c.nested[0].size = 0;
  CHECK_THROWS_WITH(decode_catalog(encode_catalog(c), "cat Z"), doctest::Contains("has size 0"));
  // Neither version 0 nor 3 is read.
  for (std::uint8_t version : {0, 3}) {
    auto other = v2;
    other[16] = version;
    CHECK_THROWS_WITH(decode_catalog(other, "cat V"), doctest::Contains("version"));
  }
}
