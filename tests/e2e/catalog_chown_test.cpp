// End-to-end: `stratum catalog-chown` with the real binary on a local store,
// in both formats. A tree with several owners and two nested catalogs, one
// of them (keep/) with owners no rule touches: every entry's uid and gid is
// mapped (seen through `ls -l`, a restore as root, and for CernVM-FS every
// row of every catalog read with Python's sqlite3), no data object is sent
// or removed, the untouched nested catalog keeps its object; the next
// publish keeps the owners, --reset gives the source's back; bad input and
// an interrupted publish change nothing; a kill after the manifest is
// adopted by the next publish.
#include "support.hpp"

#include <csignal>
#include <filesystem>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* fqrn = "sw.example.org";

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The test's own reading of a map: rules and a default (independent of
// catalog/publish/owner_map).
struct rules {
  std::map<std::uint32_t, std::uint32_t> m;
  std::optional<std::uint32_t> fallback;
  std::uint32_t operator()(std::uint32_t id) const {
    if (auto it = m.find(id); it != m.end()) return it->second;
    return fallback.value_or(id);
  }
};
const rules identity{};

struct owner {
  std::uint32_t uid = 0, gid = 0;
  bool operator==(const owner&) const = default;
};

struct repo {
  bool cvmfs;
  std::string st, src, store;

  std::string marker() const { return cvmfs ? ".cvmfscatalog" : ".stratumcatalog"; }
  std::string manifest_bytes() const { return read_file(store + (cvmfs ? "/.cvmfspublished" : "/.stratumpublished")); }
  run_result publish(bool fresh = false) const {
    std::vector<std::string> a = {"publish"};
    if (fresh) a.push_back("--new");
    a.insert(a.end(), {st, src, store, "--json"});
    if (fresh && cvmfs) a.insert(a.end(), {"--format", "cvmfs", "--name", fqrn});
    return run_stratum(a);
  }
  run_result read(std::vector<std::string> a) const {
    a.insert(a.end(), {"--pubkey", st});
    return run_stratum(a);
  }
  run_result chown(std::vector<std::string> a, const run_options& o = {}) const {
    a.insert(a.begin(), {"catalog-chown", st, store});
    return run_stratum(a, o);
  }
  std::string cvmfs_owners() const {
    return shell("/usr/bin/python3 " STRATUM_SOURCE_DIR "/tests/e2e/cvmfs_tool.py owners " + store + " 2>&1");
  }

  // The owners the repository gives every path below the root, by `ls -l`
  // of each directory (a mount point is listed from its parent catalog).
  std::map<std::string, owner> listed(const std::string& tag = "") const {
    std::map<std::string, owner> out;
    std::vector<std::string> dirs{""};
    while (!dirs.empty()) {
      const std::string dir = dirs.back();
      dirs.pop_back();
      std::vector<std::string> a{"ls", "-l", store, dir};
      if (!tag.empty()) a.insert(a.end(), {"--tag", tag});
      auto r = read(a);
      REQUIRE_MESSAGE(r.code == 0, r.err);
      std::istringstream lines(r.out);
      for (std::string l; std::getline(lines, l);) {
        std::istringstream f(l);
        std::string mode, size, date, time, name;
        owner o;
        f >> mode >> o.uid >> o.gid >> size >> date >> time >> name;
        const std::string path = dir.empty() ? name : dir + "/" + name;
        out[path] = o;
        if (mode[0] == 'd') dirs.push_back(path);
      }
    }
    return out;
  }
};

// The fixture's paths (the root too, as ""), with the owners given to each
// when the test runs as root (else every path keeps the test's own ids).
struct owned_path {
  std::string path;
  owner o;
};

// top.txt, dir/{a,b}, pkg/ (a nested catalog: p, marker) and keep/ (a nested
// catalog whose owners, 4242, no rule of the tests' maps touches).
repo make_repo(const temp_dir& d, bool cvmfs, std::vector<owned_path>& paths) {
  repo r{cvmfs, d / "st", d / "src", d / "store"};
  make_tree(r.src, {{'f', "top.txt", "top"},
                    {'d', "dir"},
                    {'f', "dir/a", "alpha"},
                    {'f', "dir/b", "beta"},
                    {'d', "pkg"},
                    {'f', "pkg/" + r.marker(), ""},
                    {'f', "pkg/p", "inside"},
                    {'d', "keep"},
                    {'f', "keep/" + r.marker(), ""},
                    {'f', "keep/k", "kept"}});
  paths = {{"", {0, 0}},          {"top.txt", {1000, 100}}, {"dir", {1000, 1000}},         {"dir/a", {1001, 100}},
           {"dir/b", {0, 0}},     {"pkg", {0, 100}},        {"pkg/" + r.marker(), {0, 0}}, {"pkg/p", {1000, 100}},
           {"keep", {4242, 4242}}, {"keep/" + r.marker(), {4242, 4242}}, {"keep/k", {4242, 4242}}};
  for (auto& p : paths) {
    const std::string full = p.path.empty() ? r.src : r.src + "/" + p.path;
    if (::geteuid() == 0) REQUIRE(::lchown(full.c_str(), p.o.uid, p.o.gid) == 0);
    struct stat s;
    REQUIRE(::lstat(full.c_str(), &s) == 0);
    p.o = {s.st_uid, s.st_gid};
  }
  auto first = r.publish(true);
  REQUIRE_MESSAGE(first.code == 0, first.err);
  return r;
}

// Every path of the repository's current revision (or `tag`'s) has its
// source owner mapped with `u` and `g`; as root, a restore gives them too.
void expect_owners(const temp_dir& d, const repo& r, const std::vector<owned_path>& paths, const rules& u,
                   const rules& g, const std::string& tag = "") {
  auto listed = r.listed(tag);
  for (const auto& p : paths) {
    if (p.path.empty()) continue;
    CAPTURE(p.path);
    REQUIRE(listed.count(p.path));
    CHECK(listed[p.path] == owner{u(p.o.uid), g(p.o.gid)});
  }
  if (::geteuid() != 0) return;
  static int n = 0;
  const std::string dst = d / ("restored" + std::to_string(++n));
  std::vector<std::string> a{"restore", r.store, dst, "--quiet", "--owners"};
  if (!tag.empty()) a.insert(a.end(), {"--tag", tag});
  auto res = r.read(a);
  REQUIRE_MESSAGE(res.code == 0, res.err);
  for (const auto& p : paths) {
    CAPTURE(p.path);
    struct stat s;
    REQUIRE(::lstat((p.path.empty() ? dst : dst + "/" + p.path).c_str(), &s) == 0);
    CHECK(owner{s.st_uid, s.st_gid} == owner{u(p.o.uid), g(p.o.gid)});
  }
}

// CernVM-FS: every row of every catalog (the root's and each mount point's
// row in both catalogs included), by (catalog path, name).
void expect_cvmfs_rows(const repo& r, const std::vector<owned_path>& paths, const rules& u, const rules& g) {
  const std::string view = r.cvmfs_owners();
  CAPTURE(view);
  const std::string rows = json_field(view, "rows");
  std::size_t seen = 0;
  for (const auto& p : paths) {
    const std::string name = p.path.substr(p.path.find('/') == std::string::npos ? 0 : p.path.rfind('/') + 1);
    std::vector<std::string> cats;
    const std::string first = p.path.substr(0, p.path.find('/'));
    if (first == "pkg" || first == "keep") cats.push_back("/" + first);
    if (p.path == "pkg" || p.path == "keep" || cats.empty()) cats.push_back("");
    for (const auto& c : cats) {
      const std::string row = "[\"" + c + "\",\"" + name + "\"," + std::to_string(u(p.o.uid)) + "," +
                              std::to_string(g(p.o.gid)) + "]";
      CAPTURE(row);
      CHECK(has(rows, row));
      ++seen;
    }
  }
  // No other row: as many rows as the fixture expects.
  std::size_t count = 0;
  for (std::size_t at = 0; (at = rows.find("[\"", at)) != std::string::npos; ++at) ++count;
  CHECK(count == seen);
}

std::map<std::string, ino_t> data_objects(const repo& r) { return object_inodes(r.store); }

const rules uid_rules{{{1000, 2000}, {1001, 2001}, {0, 3000}}, std::nullopt};
const rules gid_rules{{{100, 200}}, std::nullopt};

void maps_every_entry(bool cvmfs) {
  temp_dir d;
  std::vector<owned_path> paths;
  const repo r = make_repo(d, cvmfs, paths);
  write_file(d / "uid.map", "# release owners\n1000 2000\n 1001\t2001 \n\n0 3000 # root\n");
  write_file(d / "gid.map", "100 200\n");
  const auto before = data_objects(r);
  const std::string cats_before = cvmfs ? r.cvmfs_owners() : "";

  auto c = r.chown({"-u", d / "uid.map", "-g", d / "gid.map", "--json"});
  REQUIRE_MESSAGE(c.code == 0, c.err);
  CAPTURE(c.out);
  CHECK(json_field(c.out, "published") == "true");
  CHECK(json_field(c.out, "revision") == "2");
  CHECK(json_field(c.out, "files_read") == "0");
  CHECK(json_field(c.out, "entries") == std::to_string(paths.size()));
  if (::geteuid() == 0) {
    CHECK(json_field(c.out, "catalogs_rewritten") == "2");  // the root and pkg/
    CHECK(json_field(c.out, "catalogs_kept") == "1");       // keep/: no id of it has a rule
    CHECK(json_field(c.out, "entries_mapped") == "8");
  }
  const int rewritten = std::stoi(json_field(c.out, "catalogs_rewritten"));

  // Data objects: none new, none removed, none written again; only the new
  // catalogs and the history are new objects.
  const auto after = data_objects(r);
  for (const auto& [name, ino] : before) {
    CAPTURE(name);
    REQUIRE(after.count(name));
    CHECK(after.at(name) == ino);
  }
  int catalogs = 0, histories = 0, others = 0;
  for (const auto& [name, ino] : after)
    if (!before.count(name)) (name.back() == 'C' ? catalogs : name.back() == 'H' ? histories : others)++;
  CHECK(catalogs == rewritten);
  CHECK(histories == 1);
  CHECK(others == 0);
  CHECK(std::stoi(json_field(c.out, "objects_sent")) >= rewritten + 2);  // + history + manifest (+ side files)

  expect_owners(d, r, paths, uid_rules, gid_rules);
  if (cvmfs) {
    expect_cvmfs_rows(r, paths, uid_rules, gid_rules);
    if (::geteuid() == 0) {
      const std::string was = json_field(cats_before, "catalogs"), now = json_field(r.cvmfs_owners(), "catalogs");
      CHECK(json_field(now, "/keep") == json_field(was, "/keep"));  // kept as it was
      CHECK(json_field(now, "/pkg") != json_field(was, "/pkg"));
      CHECK(json_field(now, "") != json_field(was, ""));
    }
  }
  auto chk = r.read({"check", "-i", r.store});
  CHECK_MESSAGE(chk.code == 0, chk.err);
  // The previous revision keeps the source's owners.
  expect_owners(d, r, paths, identity, identity, "trunk-previous");

  // The next publish of the unchanged source keeps the owners (and makes no
  // revision); a changed source is published with them too.
  auto same = r.publish();
  REQUIRE_MESSAGE(same.code == 0, same.err);
  CHECK(json_field(same.out, "unchanged") == "true");
  expect_owners(d, r, paths, uid_rules, gid_rules);
  write_file(r.src + "/dir/a", "alpha, changed");
  write_file(r.src + "/pkg/new", "new file");  // the test's ids: mapped too
  struct stat s;
  REQUIRE(::lstat((r.src + "/pkg/new").c_str(), &s) == 0);
  paths.push_back({"pkg/new", {s.st_uid, s.st_gid}});
  const std::string cats_chown = cvmfs ? json_field(r.cvmfs_owners(), "catalogs") : "";
  auto next = r.publish();
  REQUIRE_MESSAGE(next.code == 0, next.err);
  CHECK(json_field(next.out, "revision") == "3");
  expect_owners(d, r, paths, uid_rules, gid_rules);
  if (cvmfs) {
    expect_cvmfs_rows(r, paths, uid_rules, gid_rules);
    // pkg/ changed: its new catalog replaces the one catalog-chown wrote
    // (the journal's record was pointed at it), as CernVM-FS's
    // previous_revision says.
    const std::string view = r.cvmfs_owners();
    CHECK(json_field(json_field(view, "previous"), "/pkg") == json_field(cats_chown, "/pkg"));
    CHECK(json_field(json_field(view, "previous"), "") == json_field(cats_chown, ""));
  }
  chk = r.read({"check", "-i", r.store});
  CHECK_MESSAGE(chk.code == 0, chk.err);

  // --reset: nothing published now; the next publish gives the source's owners.
  const std::string manifest3 = r.manifest_bytes();
  auto reset = r.chown({"--reset"});
  REQUIRE_MESSAGE(reset.code == 0, reset.err);
  CHECK_MESSAGE(has(reset.err, "the next publish gives the source's owners"), reset.err);
  CHECK(r.manifest_bytes() == manifest3);
  CHECK_FALSE(fs::exists(r.st + "/uid-map"));
  auto plain = r.publish();
  REQUIRE_MESSAGE(plain.code == 0, plain.err);
  CHECK(json_field(plain.out, "revision") == "4");
  CHECK(json_field(plain.out, "files_read") == "0");
  expect_owners(d, r, paths, identity, identity);
  if (cvmfs) expect_cvmfs_rows(r, paths, identity, identity);
  chk = r.read({"check", "-i", r.store});
  CHECK_MESSAGE(chk.code == 0, chk.err);
}

// `* TO` and -u alone, then -g alone over it: STATE remembers both composed.
void default_rule_and_one_map(bool cvmfs) {
  temp_dir d;
  std::vector<owned_path> paths;
  const repo r = make_repo(d, cvmfs, paths);
  write_file(d / "uid.map", "* 7\n");
  auto c = r.chown({"-u", d / "uid.map", "--json"});
  REQUIRE_MESSAGE(c.code == 0, c.err);
  CHECK(json_field(c.out, "catalogs_kept") == "0");
  CHECK(json_field(c.out, "catalogs_rewritten") == "3");
  const rules all7{{}, 7};
  expect_owners(d, r, paths, all7, identity);
  if (cvmfs) expect_cvmfs_rows(r, paths, all7, identity);
  write_file(d / "gid.map", "100 5\n4242 6\n");
  c = r.chown({"-g", d / "gid.map", "--json"});
  REQUIRE_MESSAGE(c.code == 0, c.err);
  CHECK(json_field(c.out, "revision") == "3");
  const rules gids{{{100, 5}, {4242, 6}}, std::nullopt};
  expect_owners(d, r, paths, all7, gids);
  // A later publish maps the source's ids with both.
  write_file(r.src + "/top.txt", "top, changed");
  auto next = r.publish();
  REQUIRE_MESSAGE(next.code == 0, next.err);
  CHECK(json_field(next.out, "revision") == "4");
  expect_owners(d, r, paths, all7, gids);
  if (cvmfs) expect_cvmfs_rows(r, paths, all7, gids);
  // A map that changes nothing publishes nothing.
  write_file(d / "same.map", "12345 7\n");
  c = r.chown({"-u", d / "same.map", "--json"});
  REQUIRE_MESSAGE(c.code == 0, c.err);
  CHECK(json_field(c.out, "published") == "false");
  CHECK(json_field(c.out, "revision") == "4");
}

void bad_input(bool cvmfs) {
  temp_dir d;
  std::vector<owned_path> paths;
  const repo r = make_repo(d, cvmfs, paths);
  const std::string before = r.manifest_bytes();
  write_file(d / "three.map", "1 2\n# fine\n3 4 5\n");
  write_file(d / "word.map", "1 2\nroot 0\n");
  write_file(d / "good.map", "0 1\n");
  struct bad_case {
    std::vector<std::string> args;
    std::vector<std::string> says;
  };
  for (const auto& c : std::vector<bad_case>{
           {{"-u", d / "three.map"}, {d / "three.map", "line 3", "not 3 field(s)"}},
           {{"-g", d / "word.map"}, {d / "word.map", "line 2", "'root' is not a decimal id"}},
           {{"-u", d / "good.map", "-g", d / "missing.map"}, {d / "missing.map", "cannot read"}},
           {{}, {"give the map of uids (-u FILE)"}},
           {{"--reset", "-u", d / "good.map"}, {"not both"}}}) {
    auto res = r.chown(c.args);
    CAPTURE(res.err);
    CHECK(res.code == 2);
    for (const auto& s : c.says) CHECK(has(res.err, s));
    CHECK(r.manifest_bytes() == before);
    CHECK_FALSE(fs::exists(r.st + "/uid-map"));
    CHECK_FALSE(fs::exists(r.st + "/gid-map"));
  }
  // A publish killed midway: refused, nothing changed.
  run_options crash;
  crash.env = {"STRATUM_CRASH_AT=before-manifest:1"};
  write_file(r.src + "/top.txt", "changed");
  REQUIRE(run_stratum({"publish", r.st, r.src, r.store}, crash).code == 128 + SIGKILL);
  auto running = r.chown({"-u", d / "good.map"});
  CHECK(running.code == 2);
  CHECK_MESSAGE(has(running.err, "interrupted publish"), running.err);
  CHECK(r.manifest_bytes() == before);
  CHECK_FALSE(fs::exists(r.st + "/uid-map"));
}

// Killed just before the manifest: the store is as it was and the same
// command finishes; just after it: the next publish takes it as its own.
void killed(bool cvmfs, const char* point) {
  temp_dir d;
  std::vector<owned_path> paths;
  const repo r = make_repo(d, cvmfs, paths);
  const std::string before = r.manifest_bytes();
  write_file(d / "uid.map", "* 9\n");
  run_options crash;
  crash.env = {std::string("STRATUM_CRASH_AT=") + point + ":1"};
  REQUIRE(r.chown({"-u", d / "uid.map"}, crash).code == 128 + SIGKILL);
  const bool written = r.manifest_bytes() != before;
  CHECK(written == (std::string(point) == "chown-after-manifest"));
  const rules all9{{}, 9};
  if (!written) {
    auto again = r.chown({"-u", d / "uid.map"});
    REQUIRE_MESSAGE(again.code == 0, again.err);
  }
  auto next = r.publish();
  REQUIRE_MESSAGE(next.code == 0, next.err);
  expect_owners(d, r, paths, all9, identity);
  auto chk = r.read({"check", "-i", r.store});
  CHECK_MESSAGE(chk.code == 0, chk.err);
  write_file(r.src + "/top.txt", "changed");
  next = r.publish();
  REQUIRE_MESSAGE(next.code == 0, next.err);
  expect_owners(d, r, paths, all9, identity);
}

// The catalogs come from the store, not the journal: after a rollback, and
// from a STATE made by import.
void after_rollback_and_import(bool cvmfs) {
  temp_dir d;
  std::vector<owned_path> paths;
  const repo r = make_repo(d, cvmfs, paths);
  write_file(r.src + "/top.txt", "second");
  REQUIRE(r.publish().code == 0);
  auto rb = run_stratum({"rollback", r.st, r.store, "-t", "trunk-previous"});
  REQUIRE_MESSAGE(rb.code == 0, rb.err);
  write_file(d / "uid.map", "* 11\n");
  auto c = r.chown({"-u", d / "uid.map", "--json"});
  REQUIRE_MESSAGE(c.code == 0, c.err);
  CHECK(json_field(c.out, "revision") == "4");
  const rules all11{{}, 11};
  expect_owners(d, r, paths, all11, identity);
  CHECK(r.read({"cat", r.store, "top.txt"}).out == "top");  // the rolled-back tree
  // A STATE made by import maps the same catalogs.
  repo imported = r;
  imported.st = d / "st2";
  auto im = run_stratum({"import", imported.st, r.store, "--keys", r.st + "/keys"});
  REQUIRE_MESSAGE(im.code == 0, im.err);
  write_file(d / "gid.map", "* 12\n");
  c = imported.chown({"-g", d / "gid.map", "--json"});
  REQUIRE_MESSAGE(c.code == 0, c.err);
  CHECK(json_field(c.out, "revision") == "5");
  expect_owners(d, r, paths, all11, rules{{}, 12});
  if (cvmfs) expect_cvmfs_rows(r, paths, all11, rules{{}, 12});
  auto chk = r.read({"check", "-i", r.store});
  CHECK_MESSAGE(chk.code == 0, chk.err);
}

}  // namespace

TEST_CASE("catalog-chown: maps every entry, data untouched, next publish, --reset (stratum's format)") { maps_every_entry(false); }
TEST_CASE("catalog-chown: maps every entry, data untouched, next publish, --reset (CernVM-FS format)") { maps_every_entry(true); }
TEST_CASE("catalog-chown: a '*' rule, -u alone, then -g alone (stratum's format)") { default_rule_and_one_map(false); }
TEST_CASE("catalog-chown: a '*' rule, -u alone, then -g alone (CernVM-FS format)") { default_rule_and_one_map(true); }
TEST_CASE("catalog-chown: bad input changes nothing (stratum's format)") { bad_input(false); }
TEST_CASE("catalog-chown: bad input changes nothing (CernVM-FS format)") { bad_input(true); }
TEST_CASE("catalog-chown: killed before or after its manifest (stratum's format)") {
  SUBCASE("before") { killed(false, "chown-before-manifest"); }
  SUBCASE("after, then publish") { killed(false, "chown-after-manifest"); }
}
TEST_CASE("catalog-chown: killed before or after its manifest (CernVM-FS format)") {
  SUBCASE("before") { killed(true, "chown-before-manifest"); }
  SUBCASE("after, then publish") { killed(true, "chown-after-manifest"); }
}
TEST_CASE("catalog-chown: after a rollback, and from an imported STATE (stratum's format)") { after_rollback_and_import(false); }
TEST_CASE("catalog-chown: after a rollback, and from an imported STATE (CernVM-FS format)") { after_rollback_and_import(true); }
