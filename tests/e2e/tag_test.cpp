// End-to-end: `stratum tag` with the real binary on a local store, in both
// formats — list, inspect, add (to the current and an earlier revision) and
// remove; a tag restores its tree byte for byte; `check -i` passes after
// each edit; bad input changes nothing (the manifest's bytes are compared);
// an edit killed once its manifest is written is taken up by the next
// publish. The CernVM-FS store is judged by tests/e2e/cvmfs_tool.py
// (Python's sqlite3), not by stratum's reader.
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
  std::string st, src, store;

  std::string manifest_file() const { return store + (cvmfs ? "/.cvmfspublished" : "/.stratumpublished"); }
  std::string manifest_bytes() const { return read_file(manifest_file()); }

  run_result publish(bool fresh) const {
    std::vector<std::string> a = {"publish"};
    if (fresh) a.push_back("--new");
    a.insert(a.end(), {st, src, store, "--json"});
    if (fresh && cvmfs) a.insert(a.end(), {"--format", "cvmfs", "--name", fqrn});
    return run_stratum(a);
  }
  // A read command, trusting the publisher's key.
  run_result read(std::vector<std::string> a) const {
    a.insert(a.end(), {"--pubkey", st});
    return run_stratum(a);
  }
  run_result tag(std::vector<std::string> a) const {
    a.insert(a.begin(), {"tag", st, store});
    return run_stratum(a);
  }
  void expect_checks() const {
    auto chk = read({"check", "-i", store});
    CHECK_MESSAGE(chk.code == 0, chk.err);
  }
  void expect_restores(const std::string& tag_name, const std::string& tree, const std::string& dst) const {
    auto res = read({"restore", store, dst, "--quiet", "--tag", tag_name});
    REQUIRE_MESSAGE(res.code == 0, res.err);
    auto diffs = compare_trees(tree, dst, ::geteuid() == 0);
    CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));
  }
  // cvmfs_tool.py inspect: the repository as JSON.
  std::string inspect() const {
    return shell("MASTER_PUB=" + st + "/keys/" + fqrn + ".pub /usr/bin/python3 " STRATUM_SOURCE_DIR "/tests/e2e/cvmfs_tool.py inspect " +
                 store + " 2>&1");
  }
};

// Two revisions: revision 1 of `src` (copied to `v1` with its times), then
// one file changed.
repo two_revisions(const temp_dir& d, bool cvmfs) {
  repo r{cvmfs, d / "st", d / "src", d / "store"};
  make_tree(r.src, {{'f', "top.txt", "first"},
                    {'d', "dir"},
                    {'f', "dir/a", "alpha"},
                    {'l', "dir/sym", "", "a"},
                    {'f', "big", pattern(300 << 10, 7)},
                    {'d', "pkg"},
                    {'f', std::string("pkg/") + (cvmfs ? ".cvmfscatalog" : ".stratumcatalog"), ""},
                    {'f', "pkg/p", "inside"}});
  auto first = r.publish(true);
  REQUIRE_MESSAGE(first.code == 0, first.err);
  shell("cp -a " + r.src + " " + d / "v1");
  write_file(r.src + "/top.txt", "second");
  auto second = r.publish(false);
  REQUIRE_MESSAGE(second.code == 0, second.err);
  REQUIRE(json_field(second.out, "revision") == "2");
  return r;
}

// `stratum tag STORE --json`: the field `field` of the tag `name` ("" when
// there is no such tag).
std::string tag_field(const std::string& json, const std::string& name, const std::string& field) {
  const std::string tags = json_field(json, "tags");
  const auto at = tags.find("\"name\":\"" + name + "\"");
  if (at == std::string::npos) return "";
  const auto end = tags.find('}', at);
  const std::string obj = "{" + tags.substr(at, end - at) + "}";
  return json_field(obj, field);
}

void tag_lifecycle(bool cvmfs) {
  temp_dir d;
  const repo r = two_revisions(d, cvmfs);

  // The list: trunk and trunk-previous, as publish left them.
  auto list = r.read({"tag", r.store, "--json"});
  REQUIRE_MESSAGE(list.code == 0, list.err);
  CHECK(tag_field(list.out, "trunk", "revision") == "2");
  CHECK(tag_field(list.out, "trunk-previous", "revision") == "1");
  const std::string root1 = tag_field(list.out, "trunk-previous", "root_catalog");
  const std::string root2 = tag_field(list.out, "trunk", "root_catalog");

  // Add a tag to revision 1: the same revision, a new manifest.
  const std::string before = r.manifest_bytes();
  auto add = r.tag({"-a", "release-1", "-m", "the first release", "--revision", "1"});
  REQUIRE_MESSAGE(add.code == 0, add.err);
  CHECK(r.manifest_bytes() != before);
  r.expect_checks();
  auto info = r.read({"info", r.store, "--json"});
  CHECK(json_field(info.out, "revision") == "2");
  CHECK(json_field(info.out, "root_catalog") != "");
  list = r.read({"tag", r.store, "-x"});
  CHECK(tag_field(list.out, "release-1", "revision") == "1");
  CHECK(tag_field(list.out, "release-1", "root_catalog") == root1);
  CHECK(tag_field(list.out, "release-1", "description") == "the first release");
  CHECK(tag_field(list.out, "trunk", "revision") == "2");
  auto text = r.read({"tag", r.store});
  CHECK(has(text.out, "release-1"));
  CHECK(has(text.out, "the first release"));
  auto one = r.read({"tag", "-i", "release-1", r.store});
  REQUIRE_MESSAGE(one.code == 0, one.err);
  CHECK(has(one.out, "revision:        1"));
  CHECK(has(one.out, "description:     the first release"));
  r.expect_restores("release-1", d / "v1", d / "dst1");

  // Add one to the current revision (by its root), then one by default.
  auto by_root = r.tag({"-a", "by-root", "--root", root2});
  REQUIRE_MESSAGE(by_root.code == 0, by_root.err);
  auto current = r.tag({"-a", "now"});
  REQUIRE_MESSAGE(current.code == 0, current.err);
  r.expect_checks();
  r.expect_restores("now", r.src, d / "dst2");
  list = r.read({"tag", r.store, "-x"});
  CHECK(tag_field(list.out, "now", "revision") == "2");
  CHECK(tag_field(list.out, "by-root", "revision") == "2");

  // Bad input: a clear message, exit 2, the manifest's bytes unchanged.
  const std::string settled = r.manifest_bytes();
  struct bad_case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const auto& c : std::vector<bad_case>{{{"-a", "with space"}, "is not allowed"},
                                             {{"-a", "semi;colon"}, "is not allowed"},
                                             {{"--add=-dash"}, "is not allowed"},
                                             {{"-a", "trunk"}, "is not allowed"},
                                             {{"-a", "release-1"}, "tags do not move"},
                                             {{"-a", "old", "--revision", "99"}, "revision 99"},
                                             {{"-a", "old", "--root", "abcdef"}, "is not one of the revisions"},
                                             {{"-r", "trunk"}, "cannot be removed"},
                                             {{"-r", "trunk-previous"}, "cannot be removed"},
                                             {{"-r", "now", "no-such"}, "no tag 'no-such'"}}) {
    CAPTURE(c.args.front());
    CAPTURE(c.args.back());
    auto res = r.tag(c.args);
    CHECK(res.code == 2);
    CHECK_MESSAGE(has(res.err, c.says), res.err);
    CHECK(r.manifest_bytes() == settled);
  }
  auto unknown = r.read({"tag", "-i", "no-such", r.store});
  CHECK(unknown.code == 2);
  CHECK_MESSAGE(has(unknown.err, "release-1"), unknown.err);  // names the tags there are
  CHECK(r.manifest_bytes() == settled);

  // Remove two at once; the rest stay.
  auto rm = r.tag({"-r", "now", "by-root"});
  REQUIRE_MESSAGE(rm.code == 0, rm.err);
  r.expect_checks();
  list = r.read({"tag", r.store, "-x"});
  CHECK(tag_field(list.out, "now", "revision") == "");
  CHECK(tag_field(list.out, "by-root", "revision") == "");
  CHECK(tag_field(list.out, "release-1", "revision") == "1");

  if (cvmfs) {
    // The history object holds exactly these rows, and the reflog — whose
    // hash the manifest's Y names — holds the new history.
    const auto view = r.inspect();
    CAPTURE(view);
    CHECK(json_field(view, "manifest_sig_ok") == "true");
    CHECK(json_field(view, "reflog_hash_ok") == "true");
    CHECK(json_field(json_field(view, "manifest"), "S") == "2");
    CHECK(json_field(view, "tags") == "{\"release-1\":[\"" + root1 + "\",1,\"the first release\"],"
                                      "\"trunk\":[\"" + root2 + "\",2,\"current revision\"],"
                                      "\"trunk-previous\":[\"" + root1 + "\",1,\"previous revision\"]}");
    const std::string history = json_field(json_field(view, "manifest"), "H");
    CHECK(has(json_field(view, "reflog"), "[\"" + history + "\",2]"));
  }

  // The next publish follows the edited manifest and keeps the tag.
  write_file(r.src + "/top.txt", "third");
  auto third = r.publish(false);
  REQUIRE_MESSAGE(third.code == 0, third.err);
  CHECK(json_field(third.out, "revision") == "3");
  r.expect_restores("release-1", d / "v1", d / "dst3");
  r.expect_checks();
}

// An edit killed just after its manifest was written: the next publish (and
// tag) must take the manifest as this STATE's own, not as a foreign one.
void killed_after_manifest(bool cvmfs) {
  temp_dir d;
  const repo r = two_revisions(d, cvmfs);
  run_options crash;
  crash.env = {"STRATUM_CRASH_AT=tag-after-manifest:1"};
  auto killed = run_stratum({"tag", r.st, r.store, "-a", "kept", "-q"}, crash);
  REQUIRE(killed.code == 128 + SIGKILL);
  r.expect_checks();
  // The next tag takes it up.
  auto again = r.tag({"-a", "later"});
  REQUIRE_MESSAGE(again.code == 0, again.err);
  // Killed again: the next publish takes it up.
  REQUIRE(run_stratum({"tag", r.st, r.store, "-a", "last", "-q"}, crash).code == 128 + SIGKILL);
  write_file(r.src + "/top.txt", "third");
  auto next = r.publish(false);
  REQUIRE_MESSAGE(next.code == 0, next.err);
  CHECK(json_field(next.out, "revision") == "3");
  auto list = r.read({"tag", r.store, "-x"});
  CHECK(tag_field(list.out, "kept", "revision") == "2");
  CHECK(tag_field(list.out, "later", "revision") == "2");
  CHECK(tag_field(list.out, "last", "revision") == "2");
  r.expect_checks();
}

}  // namespace

TEST_CASE("tag: list, inspect, add and remove on stratum's own format") { tag_lifecycle(false); }
TEST_CASE("tag: list, inspect, add and remove on the CernVM-FS format") { tag_lifecycle(true); }
TEST_CASE("tag: an edit killed after its manifest is taken up by the next run (stratum's format)") { killed_after_manifest(false); }
TEST_CASE("tag: an edit killed after its manifest is taken up by the next run (CernVM-FS format)") { killed_after_manifest(true); }

TEST_CASE("tag: a STATE with an interrupted publish, or of another store, changes nothing") {
  temp_dir d;
  const repo r = two_revisions(d, false);
  const std::string before = r.manifest_bytes();
  // Another store's STATE.
  const repo other{false, d / "st2", d / "src2", d / "store2"};
  make_tree(other.src, {{'f', "x", "y"}});
  REQUIRE(other.publish(true).code == 0);
  auto wrong = run_stratum({"tag", other.st, r.store, "-a", "x", "--key", r.st + "/keys/stratum.key"});
  CHECK(wrong.code == 2);
  CHECK_MESSAGE(has(wrong.err, "publishes to"), wrong.err);
  // A publish killed midway.
  run_options crash;
  crash.env = {"STRATUM_CRASH_AT=before-manifest:1"};
  write_file(r.src + "/top.txt", "third");
  REQUIRE(run_stratum({"publish", r.st, r.src, r.store, "-q"}, crash).code == 128 + SIGKILL);
  auto running = r.tag({"-a", "x"});
  CHECK(running.code == 2);
  CHECK_MESSAGE(has(running.err, "interrupted publish"), running.err);
  CHECK(r.manifest_bytes() == before);
}
