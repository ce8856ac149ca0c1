// End-to-end: `stratum rollback` with the real binary on a local store, in
// both formats. Three revisions (v1 tagged), rollback to v1: a new revision
// 4 restoring v1's tree byte for byte, `check -i` passing, the tags as
// CernVM-FS's rule leaves them; a reader that saw revision 3 reads 4; the
// next publish of the third tree publishes it (5) exactly. Kills before and
// after the manifest; bad input changes nothing (the manifest's bytes are
// compared). The CernVM-FS store is judged by tests/e2e/cvmfs_tool.py.
#include "support.hpp"

#include <csignal>
#include <filesystem>
#include <unistd.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* fqrn = "sw.example.org";

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct repo {
  bool cvmfs;
  std::string st, src, store, home;

  std::string manifest_file() const { return store + (cvmfs ? "/.cvmfspublished" : "/.stratumpublished"); }
  std::string manifest_bytes() const { return read_file(manifest_file()); }

  run_result publish(bool fresh, const run_options& o = {}) const {
    std::vector<std::string> a = {"publish"};
    if (fresh) a.push_back("--new");
    a.insert(a.end(), {st, src, store, "--json"});
    if (fresh && cvmfs) a.insert(a.end(), {"--format", "cvmfs", "--name", fqrn});
    return run_stratum(a, o);
  }
  run_result read(std::vector<std::string> a) const {
    a.insert(a.end(), {"--pubkey", st});
    return run_stratum(a);
  }
  run_result rollback(const std::string& name, const run_options& o = {}) const {
    return run_stratum({"rollback", st, store, "-t", name}, o);
  }
  std::string tags() const { return read({"tag", store, "-x"}).out; }
  void expect_checks() const {
    auto chk = read({"check", "-i", store});
    CHECK_MESSAGE(chk.code == 0, chk.err);
  }
  void expect_restores(const std::string& tree, const std::string& dst) const {
    auto res = read({"restore", store, dst, "--quiet"});
    REQUIRE_MESSAGE(res.code == 0, res.err);
    auto diffs = compare_trees(tree, dst, ::geteuid() == 0);
    CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));
  }
  std::string inspect() const {
    return shell("MASTER_PUB=" + st + "/keys/" + fqrn + ".pub /usr/bin/python3 " STRATUM_SOURCE_DIR
                 "/tests/e2e/cvmfs_tool.py inspect " + store + " 2>&1");
  }
};

// `stratum tag STORE --json`: field `field` of tag `name` ("" when none).
std::string tag_field(const std::string& json, const std::string& name, const std::string& field) {
  const std::string tags = json_field(json, "tags");
  const auto at = tags.find("\"name\":\"" + name + "\"");
  if (at == std::string::npos) return "";
  const auto end = tags.find('}', at);
  return json_field("{" + tags.substr(at, end - at) + "}", field);
}

// The regular files of the third tree that differ from v1's (by content):
// top.txt, dir/a and new.txt; gone.txt is in v1 only.
constexpr int files_differing_v1_r3 = 3;

// R1 (tag v1, copied to d/v1 with its times), R2 (tag mid), R3 (copied to
// d/v3): rolled back to v1 by each test.
repo three_revisions(const temp_dir& d, bool cvmfs) {
  repo r{cvmfs, d / "st", d / "src", d / "store"};
  make_tree(r.src, {{'f', "top.txt", "first"},
                    {'d', "dir"},
                    {'f', "dir/a", "alpha"},
                    {'l', "dir/sym", "", "a"},
                    {'f', "gone.txt", "only in v1"},
                    {'f', "big", pattern(300 << 10, 7)},
                    {'d', "pkg"},
                    {'f', std::string("pkg/") + (cvmfs ? ".cvmfscatalog" : ".stratumcatalog"), ""},
                    {'f', "pkg/p", "inside"}});
  auto first = r.publish(true);
  REQUIRE_MESSAGE(first.code == 0, first.err);
  REQUIRE(run_stratum({"tag", r.st, r.store, "-a", "v1", "-m", "first release"}).code == 0);
  shell("cp -a " + r.src + " " + d / "v1");
  write_file(r.src + "/top.txt", "second");
  auto second = r.publish(false);
  REQUIRE_MESSAGE(second.code == 0, second.err);
  REQUIRE(run_stratum({"tag", r.st, r.store, "-a", "mid"}).code == 0);
  write_file(r.src + "/top.txt", "third!");
  write_file(r.src + "/dir/a", "alpha, changed");
  write_file(r.src + "/new.txt", "new in three");
  fs::remove(r.src + "/gone.txt");
  auto third = r.publish(false);
  REQUIRE_MESSAGE(third.code == 0, third.err);
  REQUIRE(json_field(third.out, "revision") == "3");
  shell("cp -a " + r.src + " " + d / "v3");
  return r;
}

// After the rollback to v1 (revision 4): the next publish of the third tree
// (SOURCE as the third publish left it, its inodes unchanged) publishes
// revision 5, equal to it.
void publish_third_again(const temp_dir& d, const repo& r, const std::string& revision) {
  auto next = r.publish(false);
  REQUIRE_MESSAGE(next.code == 0, next.err);
  CHECK(json_field(next.out, "revision") == revision);
  CHECK(json_field(next.out, "unchanged") == "false");
  // Only what differs from v1's tree is read: the journal was rebased.
  CHECK(json_field(next.out, "files_read") == std::to_string(files_differing_v1_r3));
  r.expect_checks();
  r.expect_restores(d / "v3", d / ("dst" + revision));
}

void rollback_to_v1(bool cvmfs) {
  temp_dir d;
  const repo r = three_revisions(d, cvmfs);
  // A reader that saw revision 3 (its record of the newest revision seen).
  auto saw3 = r.read({"info", r.store, "--json"});
  REQUIRE(json_field(saw3.out, "revision") == "3");
  const std::string root3 = tag_field(r.tags(), "trunk", "root_catalog");
  const std::string root1 = tag_field(r.tags(), "v1", "root_catalog");

  auto rb = r.rollback("v1");
  REQUIRE_MESSAGE(rb.code == 0, rb.err);
  CHECK_MESSAGE(has(rb.err, "removed tag 'mid'"), rb.err);
  CHECK_MESSAGE(has(rb.err, "now revision 4"), rb.err);

  // Revision 4, read by the reader that saw 3 (no --allow-older).
  auto info = run_stratum({"info", r.store, "--json"});
  REQUIRE_MESSAGE(info.code == 0, info.err);
  CHECK(json_field(info.out, "revision") == "4");
  r.expect_checks();
  r.expect_restores(d / "v1", d / "dst4");

  // CernVM-FS's rule: the tags after v1 (mid, trunk-previous) are gone; v1
  // and trunk name revision 4.
  const std::string tags = r.tags();
  CAPTURE(tags);
  CHECK(tag_field(tags, "v1", "revision") == "4");
  CHECK(tag_field(tags, "v1", "description") == "first release");
  CHECK(tag_field(tags, "trunk", "revision") == "4");
  CHECK(tag_field(tags, "mid", "revision") == "");
  CHECK(tag_field(tags, "trunk-previous", "revision") == "");
  const std::string root4 = tag_field(tags, "trunk", "root_catalog");
  CHECK(tag_field(tags, "v1", "root_catalog") == root4);
  if (!cvmfs) CHECK(root4 == root1);  // stratum's catalogs are the tree alone

  if (cvmfs) {
    // A new root catalog carrying revision 4, pointing back at revision 3's;
    // the history's rows; the reflog (named by Y) holds the new root and history.
    const auto view = r.inspect();
    CAPTURE(view);
    CHECK(root4 != root1);
    CHECK(json_field(view, "manifest_sig_ok") == "true");
    CHECK(json_field(view, "reflog_hash_ok") == "true");
    CHECK(json_field(view, "root_size_ok") == "true");
    const std::string m = json_field(view, "manifest");
    CHECK(json_field(m, "S") == "4");
    CHECK(json_field(m, "C") == root4);
    CHECK(json_field(json_field(view, "root"), "revision") == "4");
    CHECK(json_field(json_field(view, "root"), "previous_revision") == root3);
    CHECK(json_field(view, "tags") == "{\"trunk\":[\"" + root4 + "\",4,\"current revision\"],"
                                      "\"v1\":[\"" + root4 + "\",4,\"first release\"]}");
    CHECK(has(json_field(view, "reflog"), "[\"" + json_field(m, "H") + "\",2]"));
    CHECK(has(json_field(view, "reflog"), "[\"" + root4 + "\",0]"));  // 0: a catalog
  }

  // The next publish compares the third tree with v1's and publishes it.
  publish_third_again(d, r, "5");
  CHECK(tag_field(r.tags(), "trunk-previous", "revision") == "4");
}

void bad_input(bool cvmfs) {
  temp_dir d;
  const repo r = three_revisions(d, cvmfs);
  const std::string before = r.manifest_bytes();
  struct bad_case {
    std::string tag;
    std::string says;
  };
  for (const auto& c : std::vector<bad_case>{{"no-such", "no tag 'no-such'"},
                                             {"trunk", "the current revision"},
                                             {"", "give the tag"}}) {
    CAPTURE(c.tag);
    auto res = r.rollback(c.tag);
    CHECK(res.code == 2);
    CHECK_MESSAGE(has(res.err, c.says), res.err);
    CHECK(r.manifest_bytes() == before);
  }
  auto unknown = r.rollback("no-such");
  CHECK_MESSAGE(has(unknown.err, "mid, trunk, trunk-previous, v1)"), unknown.err);  // names the tags there are
  // A tag of the current revision.
  REQUIRE(run_stratum({"tag", r.st, r.store, "-a", "now"}).code == 0);
  const std::string tagged = r.manifest_bytes();
  auto current = r.rollback("now");
  CHECK(current.code == 2);
  CHECK_MESSAGE(has(current.err, "nothing to roll back"), current.err);
  CHECK(r.manifest_bytes() == tagged);
  // A publish killed midway: refused, nothing changed.
  run_options crash;
  crash.env = {"STRATUM_CRASH_AT=before-manifest:1"};
  write_file(r.src + "/top.txt", "fourth");
  REQUIRE(r.publish(false, crash).code == 128 + SIGKILL);
  auto running = r.rollback("v1");
  CHECK(running.code == 2);
  CHECK_MESSAGE(has(running.err, "interrupted publish"), running.err);
  CHECK(r.manifest_bytes() == tagged);
}

// Killed before the manifest: the store is as it was, and the same rollback
// finishes. Killed after it, or after the journal's rebase but before it
// recorded the manifest as published: the next run (rollback or publish)
// takes the manifest as its own and rebases the journal (again).
void killed(bool cvmfs, const char* point, bool then_publish) {
  temp_dir d;
  const repo r = three_revisions(d, cvmfs);
  const std::string before = r.manifest_bytes();
  run_options crash;
  crash.env = {std::string("STRATUM_CRASH_AT=") + point + ":1"};
  REQUIRE(r.rollback("v1", crash).code == 128 + SIGKILL);
  r.expect_checks();
  const bool written = r.manifest_bytes() != before;
  CHECK(written == (std::string(point) != "rollback-before-manifest"));
  if (then_publish) {
    REQUIRE(written);
    // The publish adopts revision 4 and compares the third tree with v1's.
    publish_third_again(d, r, "5");
    return;
  }
  if (written) {
    // The rollback was made: a second one to v1 is to the current revision.
    auto again = r.rollback("v1");
    CHECK(again.code == 2);
    CHECK_MESSAGE(has(again.err, "nothing to roll back"), again.err);
  } else {
    auto again = r.rollback("v1");
    REQUIRE_MESSAGE(again.code == 0, again.err);
  }
  CHECK(json_field(run_stratum({"info", r.store, "--json"}).out, "revision") == "4");
  r.expect_checks();
  r.expect_restores(d / "v1", d / "dst4");
  publish_third_again(d, r, "5");
}

}  // namespace

TEST_CASE("rollback: to a tag, as a new revision (stratum's format)") { rollback_to_v1(false); }
TEST_CASE("rollback: to a tag, as a new revision (CernVM-FS format)") { rollback_to_v1(true); }
TEST_CASE("rollback: bad input changes nothing (stratum's format)") { bad_input(false); }
TEST_CASE("rollback: bad input changes nothing (CernVM-FS format)") { bad_input(true); }
TEST_CASE("rollback: killed before or after its manifest (stratum's format)") {
  SUBCASE("before the manifest") { killed(false, "rollback-before-manifest", false); }
  SUBCASE("after the manifest, then rollback") { killed(false, "rollback-after-manifest", false); }
  SUBCASE("after the manifest, then publish") { killed(false, "rollback-after-manifest", true); }
  SUBCASE("after the rebase, before it is recorded, then publish") { killed(false, "rollback-rebased", true); }
  SUBCASE("after the rebase, before it is recorded, then rollback") { killed(false, "rollback-rebased", false); }
}
TEST_CASE("rollback: killed before or after its manifest (CernVM-FS format)") {
  SUBCASE("before the manifest") { killed(true, "rollback-before-manifest", false); }
  SUBCASE("after the manifest, then rollback") { killed(true, "rollback-after-manifest", false); }
  SUBCASE("after the manifest, then publish") { killed(true, "rollback-after-manifest", true); }
  SUBCASE("after the rebase, before it is recorded, then publish") { killed(true, "rollback-rebased", true); }
  SUBCASE("after the rebase, before it is recorded, then rollback") { killed(true, "rollback-rebased", false); }
}

TEST_CASE("rollback: trunk-previous undoes the last publish, once") {
  temp_dir d;
  const repo r = three_revisions(d, false);
  auto undo = r.rollback("trunk-previous");
  REQUIRE_MESSAGE(undo.code == 0, undo.err);
  CHECK(json_field(run_stratum({"info", r.store, "--json"}).out, "revision") == "4");
  // Revision 2's tree: top.txt was "second" there.
  auto res = r.read({"cat", r.store, "top.txt"});
  CHECK(res.out == "second");
  const std::string tags = r.tags();
  // mid names revision 2, not after the target's: it stays as it was.
  CHECK(tag_field(tags, "mid", "revision") == "2");
  CHECK(tag_field(tags, "trunk", "revision") == "4");
  CHECK(tag_field(tags, "trunk-previous", "revision") == "");
  auto twice = r.rollback("trunk-previous");
  CHECK(twice.code == 2);
  CHECK_MESSAGE(has(twice.err, "no tag 'trunk-previous'"), twice.err);
  r.expect_checks();
}
