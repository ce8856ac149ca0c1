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
