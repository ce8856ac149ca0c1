// End-to-end: `stratum gc` with the real binary on a local store, in both
// formats. What must stay is computed without stratum's gc: for the
// CernVM-FS format by tests/e2e/cvmfs_tool.py (Python's sqlite3 walks the
// current and tagged revisions' catalogs), for stratum's own format by
// publishing each kept tree alone into a fresh store (its catalogs and
// objects are named by content, so the same tree gives the same names).
// After gc the store holds exactly that set; every kept revision restores
// byte for byte; `check -i` passes; a content gc deleted is sent again when
// a later publish needs it; killed at every phase, the repository is whole
// and the next gc finishes the job; bad input changes nothing.
#include "support.hpp"

#include <csignal>
#include <filesystem>
#include <set>
#include <sstream>
#include <unistd.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* fqrn = "gc.example.org";

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Every key under STORE/data.
std::set<std::string> store_keys(const std::string& store) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(store + "/data"))
    if (e.is_regular_file()) out.insert(fs::relative(e.path(), store).string());
  return out;
}

std::set<std::string> lines_of(const std::string& text, bool skip_comments) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && !(skip_comments && l[0] == '#')) out.insert(l.substr(0, l.find(' ')));
  return out;
}

std::set<std::string> minus(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  for (const auto& k : a)
    if (!b.count(k)) out.insert(k);
  return out;
}

// Objects made an hour ago: gc never deletes what was written since it began.
void age(const std::string& store) { shell("find " + store + "/data -type f -exec touch -h -d '-1 hour' {} +"); }

struct repo {
  bool cvmfs;
  std::string dir, st, src, store;

  run_result publish(bool fresh, const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a = {"publish"};
    if (fresh) a.push_back("--new");
    a.insert(a.end(), {st, src, store, "-q"});
    if (fresh && cvmfs) a.insert(a.end(), {"--format", "cvmfs", "--name", fqrn});
    a.insert(a.end(), extra.begin(), extra.end());
    return run_stratum(a);
  }
  run_result read(std::vector<std::string> a) const {
    a.insert(a.end(), {"--pubkey", st});
    return run_stratum(a);
  }
  run_result gc(std::vector<std::string> a, const run_options& o = {}) const {
    a.insert(a.begin(), {"gc", st, store});
    return run_stratum(a, o);
  }
  void expect_checks() const {
    auto chk = read({"check", "-i", store});
    CHECK_MESSAGE(chk.code == 0, chk.err);
  }
  void expect_restores(const std::string& tag_name, const std::string& tree) const {
    const std::string dst = dir + "/restored-" + tag_name;
    fs::remove_all(dst);
    auto res = read({"restore", store, dst, "--quiet", "--tag", tag_name});
    REQUIRE_MESSAGE(res.code == 0, res.err);
    auto diffs = compare_trees(tree, dst, ::geteuid() == 0);
    const std::string first = diffs.empty() ? std::string() : tag_name + ": " + diffs.front();
    CHECK_MESSAGE(diffs.empty(), first);
  }
  void snapshot(const std::string& name) const { shell("cp -a " + src + " " + dir + "/" + name); }
};

// Five revisions: 1 (tagged v1), 2 with a file only it has, 3 with a changed
// nested catalog, 4 and 5. With `--keep-since now`, gc keeps 5 (current),
// 4 (trunk-previous) and 1 (v1): 2 and 3 go.
repo five_revisions(const std::string& dir, bool cvmfs) {
  repo r{cvmfs, dir, dir + "/st", dir + "/src", dir + "/store"};
  std::vector<fixture> tree = {{'f', "shared", "the same in every revision"}, {'d', "pkg"},
                               {'f', std::string("pkg/") + (cvmfs ? ".cvmfscatalog" : ".stratumcatalog"), ""},
                               {'f', "pkg/p", "inside"}, {'f', "rev", "revision 1"}};
  for (int i = 0; i < 6; ++i) tree.push_back({'f', "f" + std::to_string(i), "file " + std::to_string(i)});
  make_tree(r.src, tree);
  auto one = r.publish(true, {"--tag", "v1"});
  REQUIRE_MESSAGE(one.code == 0, one.err);
  r.snapshot("v1");
  write_file(r.src + "/rev", "revision 2");
  write_file(r.src + "/only2", noise(200 << 10, 2));
  REQUIRE(r.publish(false).code == 0);
  fs::remove(r.src + "/only2");
  write_file(r.src + "/rev", "revision 3");
  write_file(r.src + "/pkg/p", "inside, changed in 3");
  REQUIRE(r.publish(false).code == 0);
  write_file(r.src + "/rev", "revision 4");
  REQUIRE(r.publish(false).code == 0);
  r.snapshot("r4");
  write_file(r.src + "/rev", "revision 5");
  write_file(r.src + "/f1", "file 1 changed in 5");
  REQUIRE(r.publish(false).code == 0);
  r.snapshot("r5");
  age(r.store);
  return r;
}

// What gc must leave: the keys every kept revision references.
std::set<std::string> must_keep(const repo& r) {
  if (r.cvmfs) {
    const auto json = shell("/usr/bin/python3 " STRATUM_SOURCE_DIR "/tests/e2e/cvmfs_tool.py reachable " + r.store);
    std::set<std::string> out;
    for (std::size_t at = json.find('"'); at != std::string::npos; at = json.find('"', json.find('"', at + 1) + 1))
      out.insert(json.substr(at + 1, json.find('"', at + 1) - at - 1));
    REQUIRE(out.size() > 5);
    return out;
  }
  // Each kept tree alone in a fresh store, without its history and key;
  // then this store's history and key.
  std::set<std::string> out;
  for (const char* tree : {"v1", "r4", "r5"}) {
    const std::string st = r.dir + "/oracle-st-" + tree, store = r.dir + "/oracle-" + tree;
    auto p = run_stratum({"publish", "--new", st, r.dir + "/" + tree, store, "-q"});
    REQUIRE_MESSAGE(p.code == 0, p.err);
    for (const auto& k : store_keys(store))
      if (k.back() != 'H' && k.back() != 'X') out.insert(k);
  }
  auto info = r.read({"info", r.store, "--json"});
  REQUIRE_MESSAGE(info.code == 0, info.err);
  for (const auto& [field, suffix] : {std::pair{"history", "H"}, std::pair{"public_key", "X"}}) {
    const auto h = json_field(info.out, field);
    out.insert("data/" + h.substr(0, 2) + "/" + h + suffix);
  }
  return out;
}

void collects_exactly(bool cvmfs) {
  temp_dir d;
  const repo r = five_revisions(d.path, cvmfs);
  const auto before = store_keys(r.store);
  const auto keep = must_keep(r);
  REQUIRE(minus(keep, before).empty());  // the oracle names only what is there
  const auto doomed = minus(before, keep);
  REQUIRE(doomed.size() >= 5);  // revision 2's and 3's contents and catalogs, old histories

  // --dry-run lists exactly what would go, and changes nothing.
  const auto manifest = read_file(r.store + (cvmfs ? "/.cvmfspublished" : "/.stratumpublished"));
  auto dry = r.gc({"--keep-since", "now", "--dry-run"});
  REQUIRE_MESSAGE(dry.code == 0, dry.err);
  CHECK(lines_of(dry.out, false) == doomed);
  CHECK_MESSAGE(has(dry.err, "would delete " + std::to_string(doomed.size()) + " object(s)"), dry.err);
  CHECK(store_keys(r.store) == before);
  CHECK(read_file(r.store + (cvmfs ? "/.cvmfspublished" : "/.stratumpublished")) == manifest);

  auto gc = r.gc({"--keep-since", "now", "--deletion-log", d / "deleted.log", "--json"});
  REQUIRE_MESSAGE(gc.code == 0, gc.err);
  CHECK(json_field(gc.out, "objects_deleted") == std::to_string(doomed.size()));
  CHECK(store_keys(r.store) == keep);
  CHECK(lines_of(read_file(d / "deleted.log"), true) == doomed);
  CHECK_FALSE(fs::exists(r.store + "/.stratumgc"));
  CHECK_FALSE(fs::exists(r.st + "/gc"));
  r.expect_checks();
  r.expect_restores("v1", d / "v1");
  r.expect_restores("trunk-previous", d / "r4");
  r.expect_restores("trunk", d / "r5");
  auto info = r.read({"info", r.store, "--json"});
  CHECK(json_field(info.out, "garbage_collectable") == "true");
  if (cvmfs) {
    const auto j = shell("MASTER_PUB=" + r.st + "/keys/" + fqrn + ".pub /usr/bin/python3 " STRATUM_SOURCE_DIR
                         "/tests/e2e/cvmfs_tool.py inspect " + r.store + " 2>&1");
    CHECK_MESSAGE(json_field(j, "manifest_sig_ok") == "true", j);
    CHECK_MESSAGE(json_field(j, "reflog_hash_ok") == "true", j);
    CHECK_MESSAGE(has(j, "\"G\": \"yes\""), j);
  }

  // Nothing left to collect.
  auto again = r.gc({"--keep-since", "now", "--json"});
  REQUIRE_MESSAGE(again.code == 0, again.err);
  CHECK(json_field(again.out, "objects_deleted") == "0");
  CHECK(store_keys(r.store) == keep);

  // Revision 2's content comes back: the journal forgot it was stored, so
  // it is sent again.
  write_file(r.src + "/only2", noise(200 << 10, 2));
  auto back = r.publish(false);
  REQUIRE_MESSAGE(back.code == 0, back.err);
  r.expect_checks();
  r.expect_restores("trunk", r.src);
}

}  // namespace

TEST_CASE("gc deletes exactly what no kept revision references (stratum format)") { collects_exactly(false); }
TEST_CASE("gc deletes exactly what no kept revision references (CernVM-FS format)") { collects_exactly(true); }

TEST_CASE("gc keeps revisions newer than --keep-since, objects written since it began, and keys that are no objects") {
  temp_dir d;
  const repo r = five_revisions(d.path, false);
  const auto before = store_keys(r.store);
  // Every revision is a minute old: a week keeps them all; only the old
  // histories go.
  auto week = r.gc({"--keep-since", "1w", "--json"});
  REQUIRE_MESSAGE(week.code == 0, week.err);
  const auto after = store_keys(r.store);
  const auto gone = minus(before, after);
  CHECK(gone.size() == 4);  // the histories of revisions 1 to 4
  for (const auto& k : gone) CHECK(k.back() == 'H');
  // An object written after gc began is kept; a key that is not an object
  // name is never deleted.
  const std::string stray = *minus(store_keys(r.store), {}).begin();
  const auto fresh_copy = r.store + "/data/00/00" + std::string(62, '1');
  fs::create_directories(r.store + "/data/00");
  fs::copy_file(r.store + "/" + stray, fresh_copy);
  write_file(r.store + "/data/00/notes.txt", "not an object");
  age(r.store);
  shell("touch " + fresh_copy);
  auto now = r.gc({"--keep-since", "now", "--json"});
  REQUIRE_MESSAGE(now.code == 0, now.err);
  CHECK(fs::exists(fresh_copy));
  CHECK(fs::exists(r.store + "/data/00/notes.txt"));
  CHECK(json_field(now.out, "objects_too_new") == "1");
  CHECK(json_field(now.out, "other_keys") == "1");
  age(r.store);
  auto later = r.gc({"--keep-since", "now", "--json"});
  REQUIRE_MESSAGE(later.code == 0, later.err);
  CHECK_FALSE(fs::exists(fresh_copy));
  CHECK(fs::exists(r.store + "/data/00/notes.txt"));
  r.expect_checks();
}

TEST_CASE("gc refuses what does not fit, with nothing changed") {
  temp_dir d;
  const repo r = five_revisions(d.path, false);
  const auto keys = store_keys(r.store);
  const auto manifest = read_file(r.store + "/.stratumpublished");
  auto unchanged = [&] {
    CHECK(store_keys(r.store) == keys);
    CHECK(read_file(r.store + "/.stratumpublished") == manifest);
  };
  auto bad_log = r.gc({"--keep-since", "now", "--deletion-log", d / "no/such/dir/log"});
  CHECK(bad_log.code == 2);
  CHECK_MESSAGE(has(bad_log.err, "cannot open the deletion log"), bad_log.err);
  unchanged();
  auto bad_since = r.gc({"--keep-since", "yesterday"});
  CHECK(bad_since.code == 2);
  CHECK_MESSAGE(has(bad_since.err, "--keep-since 'yesterday'"), bad_since.err);
  unchanged();
  // Another store's STATE.
  make_tree(d / "other-src", {{'f', "x", "other"}});
  REQUIRE(run_stratum({"publish", "--new", d / "other-st", d / "other-src", d / "other-store", "-q"}).code == 0);
  auto other = run_stratum({"gc", d / "other-st", r.store, "--keep-since", "now"});
  CHECK(other.code == 2);
  CHECK_MESSAGE(has(other.err, "publishes to"), other.err);
  unchanged();
  // A STATE that never published.
  fs::create_directories(d / "empty-st");
  auto empty = run_stratum({"gc", d / "empty-st", r.store, "--keep-since", "now", "--key", r.st + "/keys/stratum.key"});
  CHECK(empty.code == 2);
  CHECK_MESSAGE(has(empty.err, "has not published"), empty.err);
  unchanged();
  // A publish killed midway.
  run_options crash;
  crash.env = {"STRATUM_CRASH_AT=before-manifest:1"};
  write_file(r.src + "/rev", "revision 6");
  REQUIRE(run_stratum({"publish", r.st, r.src, r.store, "-q"}, crash).code == 128 + SIGKILL);
  const auto keys6 = store_keys(r.store);
  auto running = r.gc({"--keep-since", "now"});
  CHECK(running.code == 2);
  CHECK_MESSAGE(has(running.err, "interrupted publish"), running.err);
  CHECK(store_keys(r.store) == keys6);
  CHECK(read_file(r.store + "/.stratumpublished") == manifest);
}

TEST_CASE("gc killed at every phase leaves whole kept revisions, and the next gc finishes the job") {
  for (bool cvmfs : {false, true})
    for (const char* point : {"gc-marked", "gc-forgotten", "gc-after-flag", "gc-deleted", "gc-swept"}) {
      CAPTURE(cvmfs);
      CAPTURE(point);
      temp_dir d;
      const repo r = five_revisions(d.path, cvmfs);
      const auto keep = must_keep(r);
      run_options crash;
      crash.env = {std::string("STRATUM_CRASH_AT=") + point + ":1"};
      auto killed = r.gc({"--keep-since", "now", "-q"}, crash);
      REQUIRE(killed.code == 128 + SIGKILL);
      r.expect_checks();
      r.expect_restores("v1", d / "v1");
      r.expect_restores("trunk", d / "r5");
      age(r.store);  // the killed run's clock marker and all
      auto next = r.gc({"--keep-since", "now", "-q"});
      REQUIRE_MESSAGE(next.code == 0, next.err);
      CHECK(store_keys(r.store) == keep);
      r.expect_checks();
      r.expect_restores("trunk-previous", d / "r4");
      // What the killed run deleted is sent again when needed.
      write_file(r.src + "/only2", noise(200 << 10, 2));
      write_file(r.src + "/rev", "revision 3");
      auto back = r.publish(false);
      REQUIRE_MESSAGE(back.code == 0, back.err);
      r.expect_checks();
      r.expect_restores("trunk", r.src);
    }
}

TEST_CASE("publish --gc collects after publishing, and gc runs its hooks") {
  temp_dir d;
  const repo r = five_revisions(d.path, false);
  // A failing gc-before hook: exit 3, nothing deleted, nothing signed.
  fs::create_directories(r.st + "/hooks");
  write_file(r.st + "/hooks/gc-before", "#!/bin/sh\necho refusing gc of \"$1\"\nexit 4\n");
  fs::permissions(r.st + "/hooks/gc-before", fs::perms::owner_all);
  const auto keys = store_keys(r.store);
  const auto manifest = read_file(r.store + "/.stratumpublished");
  auto refused = r.gc({"--keep-since", "now"});
  CHECK(refused.code == 3);
  CHECK_MESSAGE(has(refused.err, "gc-before: refusing gc of " + r.store), refused.err);
  CHECK(store_keys(r.store) == keys);
  CHECK(read_file(r.store + "/.stratumpublished") == manifest);
  fs::remove(r.st + "/hooks/gc-before");
  // The after-hook learns how many objects went; publish --gc reports the
  // collection in its JSON line.
  write_file(r.st + "/hooks/gc-after", "#!/bin/sh\necho \"deleted=$STRATUM_DELETED store=$1\" > \"$STRATUM_STATE/after.txt\"\n");
  fs::permissions(r.st + "/hooks/gc-after", fs::perms::owner_all);
  write_file(r.src + "/rev", "revision 6");
  auto pub = r.publish(false, {"--gc", "--keep-since", "now", "--json"});
  REQUIRE_MESSAGE(pub.code == 0, pub.err);
  CHECK(json_field(pub.out, "revision") == "6");
  const auto gc = json_field(pub.out, "gc");
  const auto deleted = json_field(gc, "objects_deleted");
  CHECK(std::stoul(deleted) >= 5);
  CHECK(read_file(r.st + "/after.txt") == "deleted=" + deleted + " store=" + r.store + "\n");
  r.expect_checks();
  r.expect_restores("v1", d / "v1");
  r.expect_restores("trunk", r.src);
}
