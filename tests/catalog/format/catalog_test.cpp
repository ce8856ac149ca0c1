// Catalog encoding (catalog/format/catalog.hpp): determinism, validation, path order.
#include "catalog/format/catalog.hpp"
#include "crafted.hpp"
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

TEST_CASE("every number is checked against the field it lands in, not after a cast") {
  const std::uint64_t two32 = std::uint64_t(1) << 32;
  // As written by an encoder, the largest values that fit decode as such.
  auto fits = decode_catalog(raw_catalog({.mode = 07777, .uid = two32 - 2, .gid = two32 - 1, .nsec = 999999999, .hardlink = two32 - 1}), "cat");
  CHECK(fits.entries[1].uid == two32 - 2);
  CHECK(fits.entries[1].hardlink_group == two32 - 1);
  // Each of these had been cut to 32 bits: uid 2^32 became root's 0, and a
  // mode of 2^32 + 0644 passed the 07777 check as 0644.
  struct bad_case {
    const char* field;
    raw_fields f;
  };
  for (const auto& c : {bad_case{"uid", {.uid = two32}}, bad_case{"gid", {.gid = two32 + 7}},
                        bad_case{"mode", {.mode = two32 + 0644}}, bad_case{"mtime nanoseconds", {.nsec = two32 + 5}},
                        bad_case{"mtime nanoseconds", {.nsec = 1000000000}}, bad_case{"hardlink group", {.hardlink = two32 + 1}}}) {
    CAPTURE(c.field);
    CHECK_THROWS_WITH(decode_catalog(raw_catalog(c.f), "cat X"), doctest::Contains((std::string(c.field) + " of 'p' is out of range").c_str()));
  }
}

TEST_CASE("only a directory can be a nested catalog's mount point") {
  // A flagged FIFO with no reference had passed: restore then looked for its
  // nested catalog and found none.
  CHECK_THROWS_WITH(decode_catalog(raw_catalog({.flags = 1}), "cat X"), doctest::Contains("is marked as a nested catalog's mount point"));
}

TEST_CASE("chunk sizes that add up to the file's size only modulo 2^64 are refused") {
  auto c = sample_catalog();
  entry& f = c.entries[2];
  f.object.reset();
  f.size = 10;
  f.chunks = {{std::uint64_t(-1), sha256(as_bytes("a"))}, {11, sha256(as_bytes("b"))}};  // 2^64 - 1 + 11 = 10 (mod 2^64)
  CHECK_THROWS_WITH(decode_catalog(encode_catalog(c), "cat X"), doctest::Contains("add up to more than its size"));
  f.chunks = {{4, sha256(as_bytes("a"))}, {6, sha256(as_bytes("b"))}};
  CHECK(decode_catalog(encode_catalog(c), "cat X").entries[2].chunks.size() == 2);
}

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
