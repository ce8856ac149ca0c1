// edit_history (catalog/publish/tag_edit.hpp): what a tag edit makes of a
// history, and what it refuses, without a store.
#include "catalog/format/native_format.hpp"
#include "catalog/publish/tag_edit.hpp"
#include "io/sha256.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

namespace {

hash256 root_of(int n) { return sha256(as_bytes(std::string("root ") + std::to_string(n))); }

// Two revisions, as a publish leaves them.
struct two {
  manifest head{.revision = 2, .timestamp = 200, .root = root_of(2), .root_size = 22};
  history h;
  two() {
    h.revisions = {{1, root_of(1), 100, 11}, {2, root_of(2), 200, 22}};
    h.set({"trunk", root_of(2), 2, 200, "current revision", 22});
    h.set({"trunk-previous", root_of(1), 1, 100, "previous revision", 11});
  }
};

history edit(const two& t, const tag_request& r) {
  return edit_history(t.h, t.head, r, *make_native_writer({})->reader(), "store");
}

}  // namespace

TEST_CASE("edit_history: a tag of the current revision, of an earlier one, by root, and removals") {
  two t;
  auto now = edit(t, {.add = "now", .message = "m"});
  REQUIRE(now.find("now"));
  CHECK(*now.find("now") == tag{"now", root_of(2), 2, 200, "m", 22});
  auto old = edit(t, {.add = "old", .revision = 1});
  CHECK(*old.find("old") == tag{"old", root_of(1), 1, 100, "", 11});
  auto by_root = edit(t, {.add = "r", .root = root_of(1).hex()});
  CHECK(by_root.find("r")->revision == 1);
  // Sorted by name, the revisions untouched.
  CHECK(old.tags.front().name == "old");
  CHECK(old.revisions == t.h.revisions);
  auto gone = edit_history(old, t.head, {.remove = {"old"}}, *make_native_writer({})->reader(), "store");
  CHECK(gone.tags == t.h.tags);
  CHECK(gone.revisions == t.h.revisions);
}

TEST_CASE("edit_history: refuses bad names, moving tags, unknown tags and revisions, trunk") {
  two t;
  t.h.set({"v1", root_of(1), 1, 100, "", 11});
  auto reader = make_native_writer({})->reader();
  auto refused = [&](const tag_request& r, const std::string& says) {
    expect_failure([&] { edit_history(t.h, t.head, r, *reader, "store"); }, errc::usage, "", says);
  };
  refused({}, "nothing to do");
  refused({.add = "with space"}, "is not allowed");
  refused({.add = "a/b"}, "is not allowed");
  refused({.add = ".hidden"}, "is not allowed");
  refused({.add = "trunk"}, "is not allowed");
  refused({.add = "v1"}, "tags do not move");
  refused({.add = "x", .revision = 7}, "revision 7");
  refused({.add = "x", .root = "00ff"}, "is not one of the revisions");
  refused({.add = "x", .revision = 1, .root = root_of(1).hex()}, "not both");
  refused({.revision = 1}, "give -a NAME");
  refused({.remove = {"trunk"}}, "cannot be removed");
  refused({.remove = {"trunk-previous"}}, "cannot be removed");
  refused({.remove = {"nope"}}, "its tags: trunk, trunk-previous, v1");
}
