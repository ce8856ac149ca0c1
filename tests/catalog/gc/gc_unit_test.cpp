// Garbage collection's pure parts (catalog/gc/): which revisions are kept
// (revisions_to_keep), the --keep-since argument (parse_keep_since), and the
// on-disk mark set (mark_set), without a store.
#include "async/error.hpp"
#include "catalog/gc/collector.hpp"
#include "catalog/gc/mark_set.hpp"
#include "io/sha256.hpp"
#include "support.hpp"

#include <filesystem>

using namespace stratum;
using namespace stratum::test;

namespace {

hash256 root_of(int n) { return sha256(as_bytes(std::string("root ") + std::to_string(n))); }

std::vector<std::string> whys(const std::vector<kept_revision>& k) {
  std::vector<std::string> out;
  for (const auto& r : k) out.push_back(std::to_string(r.revision) + " " + r.why);
  return out;
}

}  // namespace

TEST_CASE("revisions_to_keep: the current one, the tagged ones, and those since the cut, each root once") {
  manifest head{.revision = 5, .timestamp = 500, .root = root_of(5)};
  history h;
  for (int i = 1; i <= 5; ++i) h.revisions.push_back({std::uint64_t(i), root_of(i), i * 100, 0});
  h.set({"trunk", root_of(5), 5, 500, "", 0});
  h.set({"trunk-previous", root_of(4), 4, 400, "", 0});
  h.set({"v1", root_of(1), 1, 100, "", 0});
  CHECK(whys(revisions_to_keep(head, h, {}, INT64_MAX)) ==
        std::vector<std::string>{"5 current", "4 tag trunk-previous", "1 tag v1"});
  // Revision 3 was published at 300: kept from 300 on, not from 301.
  CHECK(whys(revisions_to_keep(head, h, {}, 300)) ==
        std::vector<std::string>{"5 current", "4 tag trunk-previous", "1 tag v1", "3 since"});
  CHECK(whys(revisions_to_keep(head, h, {}, 301)).size() == 3);
  // A CernVM-FS history keeps tags only; its reflog names the other roots.
  history tags_only;
  tags_only.tags = h.tags;
  const std::vector<revision_record> logged = {{0, root_of(2), 200, 0}, {0, root_of(3), 300, 0}, {0, root_of(5), 500, 0}};
  auto k = revisions_to_keep(head, tags_only, logged, 200);
  CHECK(k.size() == 5);
  CHECK(k[3].root == root_of(2));
  CHECK(k[4].root == root_of(3));
}

TEST_CASE("parse_keep_since: durations, dates, @seconds and now, anything else refused by name") {
  const std::int64_t now = 1'800'000'000;
  CHECK(parse_keep_since("3d", now) == now - 3 * 86400);
  CHECK(parse_keep_since("3", now) == now - 3 * 86400);
  CHECK(parse_keep_since("1w", now) == now - 7 * 86400);
  CHECK(parse_keep_since("12h", now) == now - 12 * 3600);
  CHECK(parse_keep_since("30m", now) == now - 1800);
  CHECK(parse_keep_since("90s", now) == now - 90);
  CHECK(parse_keep_since("@1234", now) == 1234);
  CHECK(parse_keep_since("now", now) == INT64_MAX);
  CHECK(parse_keep_since("2026-11-27", now) == 1795737600);
  CHECK(parse_keep_since("2026-11-27T08:00", now) == 1795737600 + 8 * 3600);
  CHECK(parse_keep_since("2026-11-27T08:00:30Z", now) == 1795737600 + 8 * 3600 + 30);
  for (const char* bad : {"", "yesterday", "3y", "-3d", "2026-13-01", "2026-11-27T25:00", "@", "@12x", "2026-11-27 junk"})
    expect_failure([&] { parse_keep_since(bad, now); }, errc::usage, "--keep-since '" + std::string(bad) + "'", "a duration");
}

TEST_CASE("mark_set: marks and deletions on disk, counted once, gone with the set") {
  temp_dir d;
  {
    mark_set m(d.path);
    CHECK_FALSE(m.contains("data/ab/x"));
    for (int round = 0; round < 2; ++round)
      for (int i = 0; i < 10000; ++i) m.add("data/" + std::to_string(i % 100) + "/" + std::to_string(i));
    CHECK(m.marked() == 10000);
    CHECK(m.contains("data/7/9907"));
    CHECK_FALSE(m.contains("data/7/10007"));
    m.add_deleted("data/ff/gone");
    CHECK(m.deleted("data/ff/gone"));
    CHECK_FALSE(m.contains("data/ff/gone"));
    CHECK(std::filesystem::exists(d / "gc"));
  }
  CHECK_FALSE(std::filesystem::exists(d / "gc"));
  // What a killed collection left is thrown away by the next.
  std::filesystem::create_directories(d / "gc");
  write_file(d / "gc/leftover", "x");
  mark_set again(d.path);
  CHECK(again.marked() == 0);
  CHECK_FALSE(std::filesystem::exists(d / "gc/leftover"));
}
