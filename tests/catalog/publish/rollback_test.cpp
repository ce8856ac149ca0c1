// rollback_target and rollback_history (catalog/publish/rollback.hpp): which
// tags a rollback keeps, moves and removes (CernVM-FS's rule), and what it
// refuses, without a store.
#include "catalog/publish/rollback.hpp"
#include "io/sha256.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

namespace {

hash256 root_of(int n) { return sha256(as_bytes(std::string("root ") + std::to_string(n))); }

// Four revisions: v1 tags 1, keep also 1, mid 2, late 3, now 4 (current).
struct four {
  manifest head{.revision = 4, .timestamp = 400, .root = root_of(4), .root_size = 44};
  history h;
  four() {
    for (int i = 1; i <= 4; ++i) h.revisions.push_back({std::uint64_t(i), root_of(i), 100 * i, 11u * i});
    h.set({"v1", root_of(1), 1, 100, "first", 11});
    h.set({"keep", root_of(1), 1, 100, "", 11});
    h.set({"mid", root_of(2), 2, 200, "", 22});
    h.set({"late", root_of(3), 3, 300, "", 33});
    h.set({"now", root_of(4), 4, 400, "", 44});
    h.set({"trunk", root_of(4), 4, 400, "current revision", 44});
    h.set({"trunk-previous", root_of(3), 3, 300, "previous revision", 33});
  }
};

const tag new_head{"", root_of(9), 5, 500, "", 99};

}  // namespace

TEST_CASE("rollback_history: tags after the target go, the target and trunk name the new revision") {
  four f;
  const tag& t = rollback_target(f.h, f.head, "v1", "store");
  auto r = rollback_history(f.h, t, new_head);
  std::vector<std::string> names;
  for (const auto& x : r.h.tags) names.push_back(x.name);
  CHECK(names == std::vector<std::string>{"keep", "trunk", "v1"});
  CHECK(*r.h.find("v1") == tag{"v1", root_of(9), 5, 500, "first", 99});
  CHECK(*r.h.find("trunk") == tag{"trunk", root_of(9), 5, 500, "current revision", 99});
  CHECK(*r.h.find("keep") == tag{"keep", root_of(1), 1, 100, "", 11});  // the target's revision, another name: stays
  std::vector<std::string> removed;
  for (const auto& x : r.removed) removed.push_back(x.name);
  CHECK(removed == std::vector<std::string>{"now", "late", "mid"});  // newest first
  // Every published revision stays listed, the new one last.
  REQUIRE(r.h.revisions.size() == 5);
  CHECK(r.h.revisions.back() == revision_record{5, root_of(9), 500, 99});
}

TEST_CASE("rollback_history: to trunk-previous, which goes too (one undo only, as CernVM-FS)") {
  four f;
  const tag& t = rollback_target(f.h, f.head, "trunk-previous", "store");
  auto r = rollback_history(f.h, t, new_head);
  CHECK(r.h.find("trunk-previous") == nullptr);
  CHECK(r.h.find("late"));  // revision 3 is the target's: not after it
  CHECK(r.h.find("now") == nullptr);
  CHECK(r.h.find("trunk")->revision == 5);
}

TEST_CASE("rollback_target: unknown tags and the current revision are refused, naming what is there") {
  four f;
  auto refused = [&](const std::string& name, const std::string& says) {
    CAPTURE(name);
    try {
      rollback_target(f.h, f.head, name, "store");
      FAIL("not refused");
    } catch (const std::system_error& e) {
      CHECK(is(e, errc::usage));
      CHECK_MESSAGE(std::string(e.what()).find(says) != std::string::npos, e.what());
    }
  };
  refused("nope", "keep, late, mid, now, trunk, trunk-previous, v1");
  refused("trunk", "the current revision");
  refused("now", "nothing to roll back");
}
