// The history object (catalog/format/history.hpp).
#include "catalog/format/history.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

TEST_CASE("history keeps tags sorted and round-trips") {
  history h;
  h.set({"v2", sha256(as_bytes("2")), 2, 20, "second"});
  h.set({"trunk", sha256(as_bytes("1")), 1, 10, ""});
  h.set({"v2", sha256(as_bytes("3")), 3, 30, "moved"});
  h.revisions = {{1, sha256(as_bytes("1")), 10}, {3, sha256(as_bytes("3")), 30}};
  REQUIRE(h.tags.size() == 2);
  CHECK(h.tags[0].name == "trunk");
  auto d = decode_history(encode_history(h), "h");
  CHECK(d.tags == h.tags);
  CHECK(d.revisions == h.revisions);
  CHECK(d.find("v2")->revision == 3);
  CHECK_FALSE(valid_tag_name("../x"));
  CHECK_FALSE(valid_tag_name(""));
  CHECK(valid_tag_name("release-1.2_rc"));
}

TEST_CASE("version 2 records the root catalog size of each tag and revision, and version 1 is still read") {
  history h;
  h.set({"trunk", sha256(as_bytes("2")), 2, 20, "current revision", 4321});
  h.set({"old", sha256(as_bytes("1")), 1, 10, "", 0});  // kept from a version-1 history
  h.revisions = {{1, sha256(as_bytes("1")), 10, 0}, {2, sha256(as_bytes("2")), 20, 4321}};
  auto b = encode_history(h);
  CHECK(b[16] == 2);
  auto d = decode_history(b, "h");
  CHECK(d.tags == h.tags);
  CHECK(d.revisions == h.revisions);
  CHECK(d.find("trunk")->root_size == 4321);

  // Version 1, as an older stratum wrote it: the same without the sizes.
  encoder e;
  e.varint(1);
  e.varint(1);
  e.str("trunk");
  e.hash(sha256(as_bytes("2")));
  e.varint(2);
  e.svarint(20);
  e.str("current revision");
  e.varint(1);
  e.varint(2);
  e.hash(sha256(as_bytes("2")));
  e.svarint(20);
  const std::string magic = "STRATUM-HISTORY\n";
  bytes old(magic.begin(), magic.end());
  auto rest = e.take();
  old.insert(old.end(), rest.begin(), rest.end());
  auto v1 = decode_history(old, "h1");
  REQUIRE(v1.tags.size() == 1);
  CHECK(v1.tags[0].root_size == 0);
  CHECK(v1.tags[0].description == "current revision");
  REQUIRE(v1.revisions.size() == 1);
  CHECK(v1.revisions[0].root_size == 0);
  CHECK(v1.revisions[0].timestamp == 20);

  auto v3 = b;
  v3[16] = 3;
  CHECK_THROWS_WITH(decode_history(v3, "h3"), doctest::Contains("version 3"));
}
