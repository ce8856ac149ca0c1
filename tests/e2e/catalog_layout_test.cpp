// End-to-end: where nested catalogs go (catalog/publish/catalog_layout.hpp),
// with the real binary on a local store, in both formats. The catalogs a
// dirtab gives are compared with what fnmatch(3) says its globs match (an
// implementation that is not stratum's); --autocatalogs keeps every catalog
// of a 300,000-file tree between the weights, and keeps the layout when a
// small change is published; a changed dirtab restructures the catalogs
// without reading a file; bad input publishes nothing. The catalogs are read
// back with `list-catalogs --json`.
#include "support.hpp"

#include <filesystem>
#include <fnmatch.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* fqrn = "layout.example.org";

struct repo {
  bool cvmfs;
  std::string dir, st, src, store;

  run_result publish(bool fresh, std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {"publish"};
    if (fresh) a.push_back("--new");
    a.insert(a.end(), {st, src, store, "--json"});
    if (fresh && cvmfs) a.insert(a.end(), {"--format", "cvmfs", "--name", fqrn});
    a.insert(a.end(), extra.begin(), extra.end());
    return run_stratum(a);
  }
  // path ("" for the root) -> entries, from list-catalogs --json.
  std::map<std::string, std::uint64_t> catalogs() const {
    auto r = run_stratum({"list-catalogs", store, "--json", "--pubkey", st});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    std::map<std::string, std::uint64_t> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      auto at = line.find("{\"path\":");
      if (at == std::string::npos) continue;
      line = line.substr(at);
      while (!line.empty() && line.back() != '}') line.pop_back();  // the array's ',' or ']}'
      std::string path = json_field(line, "path");
      out[path == "/" ? "" : path.substr(1)] = std::stoull(json_field(line, "entries"));
    }
    return out;
  }
  std::set<std::string> nested() const {
    std::set<std::string> out;
    for (auto& [p, n] : catalogs())
      if (!p.empty()) out.insert(p);
    return out;
  }
  std::string manifest() const { return read_file(store + (cvmfs ? "/.cvmfspublished" : "/manifest")); }
};

repo make_repo(const std::string& dir, bool cvmfs) { return {cvmfs, dir, dir + "/st", dir + "/src", dir + "/store"}; }

std::string marker(bool cvmfs) { return cvmfs ? ".cvmfscatalog" : ".stratumcatalog"; }

// Every directory below `root`, relative.
std::vector<std::string> directories(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_directory() && !e.is_symlink()) out.push_back(fs::relative(e.path(), root).string());
  return out;
}

// What the dirtab's rules select, by fnmatch(3): a rule's `*` stays within
// one path element (FNM_PATHNAME), an exclusion's crosses them.
std::set<std::string> selected(const std::string& root, const std::vector<std::string>& rules,
                               const std::vector<std::string>& exclusions, bool cvmfs) {
  std::set<std::string> out;
  for (const auto& d : directories(root)) {
    const std::string abs = "/" + d;
    bool in = fs::exists(root + "/" + d + "/" + marker(cvmfs));
    for (const auto& r : rules) in = in || fnmatch(r.c_str(), abs.c_str(), FNM_PATHNAME) == 0;
    bool out_of = false;
    for (const auto& x : exclusions) out_of = out_of || fnmatch(x.c_str(), abs.c_str(), 0) == 0;
    if (in && (!out_of || fs::exists(root + "/" + d + "/" + marker(cvmfs)))) out.insert(d);
  }
  return out;
}

void software_tree(const repo& r) {
  std::vector<fixture> t;
  for (auto d : {"sw", "sw/atlas", "sw/atlas/23.1", "sw/cms", "data", "data/run-03", "doc"}) t.push_back({'d', d});
  for (auto d : {"sw/atlas/22.0", "sw/atlas/23.1/bin", "sw/atlas/repo.git", "sw/cms/1", "sw/cms/1/sub", "sw/lone",
                 "data/run-01", "data/run-2", "data/run-03/x", "data/runs-04", "doc/guide", "misc"}) {
    t.push_back({'d', d});
    t.push_back({'f', std::string(d) + "/file", std::string("content of ") + d});
  }
  t.push_back({'f', "doc/" + marker(r.cvmfs), ""});
  make_tree(r.src, t);
}

}  // namespace

TEST_CASE("a dirtab's globs and exclusions give exactly the catalogs fnmatch selects, in both formats") {
  for (bool cvmfs : {false, true}) {
    CAPTURE(cvmfs);
    temp_dir d;
    auto r = make_repo(d.path, cvmfs);
    software_tree(r);
    const std::string tab = cvmfs ? ".cvmfsdirtab" : ".stratumdirtab";
    write_file(r.src + "/" + tab, "# nested catalogs\n/sw/*/*\n  /data/run-??\n\n! *.git\n");
    auto first = r.publish(true);
    REQUIRE_MESSAGE(first.code == 0, first.err);
    auto want = selected(r.src, {"/sw/*/*", "/data/run-??"}, {"*.git"}, cvmfs);
    CHECK(want == std::set<std::string>{"data/run-01", "data/run-03", "doc", "sw/atlas/22.0", "sw/atlas/23.1", "sw/cms/1"});
    CHECK(r.nested() == want);
    CHECK(json_field(first.out, "catalogs_by_dirtab") == "5");
    // The root catalog is reported by the name the format gives it.
    const std::string root = json_field(first.out, "root_catalog");
    CHECK(root.size() == (cvmfs ? 40u : 64u));
    if (cvmfs) CHECK(r.manifest().rfind("C" + root + "\n", 0) == 0);
    auto chk = run_stratum({"check", "-i", r.store, "--pubkey", r.st});
    CHECK_MESSAGE(chk.code == 0, chk.err);
    // The CernVM-FS format writes .cvmfscatalog where cvmfs_server would
    // (its own check insists on it), and nothing into stratum's own.
    auto restored = d.path + "/out";
    REQUIRE(run_stratum({"restore", r.store, restored, "-q", "--pubkey", r.st}).code == 0);
    for (const auto& p : want) CHECK_MESSAGE(fs::exists(restored + "/" + p + "/" + marker(cvmfs)) == (cvmfs || p == "doc"), p);
    if (!cvmfs) CHECK(compare_trees(r.src, restored, false).empty());

    // A changed dirtab kept outside the source restructures the catalogs
    // on the next publish, and no file is read again.
    write_file(d.path + "/tab", "/sw/*\n! /sw/lone\n");
    auto second = r.publish(false, {"--dirtab", d.path + "/tab"});
    REQUIRE_MESSAGE(second.code == 0, second.err);
    CHECK(json_field(second.out, "unchanged") == "false");
    CHECK(json_field(second.out, "files_read") == "0");
    CHECK(r.nested() == std::set<std::string>{"doc", "sw/atlas", "sw/cms"});
    // Remembered in STATE: the next publish keeps it, and publishes nothing.
    auto third = r.publish(false);
    REQUIRE(third.code == 0);
    CHECK(json_field(third.out, "unchanged") == "true");
    CHECK(r.nested() == std::set<std::string>{"doc", "sw/atlas", "sw/cms"});
    chk = run_stratum({"check", "-i", r.store, "--pubkey", r.st});
    CHECK_MESSAGE(chk.code == 0, chk.err);
  }
}

TEST_CASE("bad layout input is refused with nothing published") {
  temp_dir d;
  auto r = make_repo(d.path, false);
  software_tree(r);
  write_file(r.src + "/.stratumdirtab", "/sw/*\n/bad/\\x\n");
  auto fresh = r.publish(true);
  CHECK(fresh.code == 2);
  CHECK(fresh.err.find(".stratumdirtab' line 2") != std::string::npos);
  CHECK_FALSE(fs::exists(r.store + "/manifest"));

  fs::remove(r.src + "/.stratumdirtab");
  REQUIRE(r.publish(true).code == 0);
  const auto before = r.manifest();
  write_file(d.path + "/tab", "sw/*\n");
  auto relative = r.publish(false, {"--dirtab", d.path + "/tab"});
  CHECK(relative.code == 2);
  CHECK(relative.err.find("line 1") != std::string::npos);
  CHECK(relative.err.find("absolute") != std::string::npos);
  auto missing = r.publish(false, {"--dirtab", d.path + "/no-such-tab"});
  CHECK(missing.code == 2);
  CHECK(missing.err.find("no-such-tab") != std::string::npos);
  auto weights = r.publish(false, {"--autocatalogs", "--max-weight", "10", "--min-weight", "20"});
  CHECK(weights.code == 2);
  CHECK(weights.err.find("--max-weight 10 is below --min-weight 20") != std::string::npos);
  CHECK(r.manifest() == before);
  // Nothing bad was remembered: the next publish is as before.
  auto again = r.publish(false);
  REQUIRE_MESSAGE(again.code == 0, again.err);
  CHECK(json_field(again.out, "unchanged") == "true");
}

namespace {

// Empty files, quickly: `n` of them in `dir`.
void empty_files(const std::string& dir, int n, const std::string& prefix = "f") {
  fs::create_directories(dir);
  for (int i = 0; i < n; ++i) std::ofstream(dir + "/" + prefix + std::to_string(i));
}

}  // namespace

TEST_CASE("autocatalogs keep every catalog of a 300,000-file tree between the weights, and keep the layout") {
  temp_dir d;
  auto r = make_repo(d.path, false);
  // 150 package directories of 1,000 files under one parent (150,000 below
  // it, more than the maximum), and 15 x 10 directories of 1,000 files
  // beside it; the root holds 1,000 files itself.
  for (int i = 0; i < 150; ++i) empty_files(r.src + "/x/y/z/p" + std::to_string(i), 1000);
  for (int a = 0; a < 15; ++a)
    for (int b = 0; b < 10; ++b) empty_files(r.src + "/a" + std::to_string(a) + "/b" + std::to_string(b), 1000);
  empty_files(r.src, 1000, "top");
  auto first = r.publish(true, {"--autocatalogs"});
  REQUIRE_MESSAGE(first.code == 0, first.err);
  CHECK(json_field(first.out, "files") == "301000");
  auto cats = r.catalogs();
  CHECK(cats.size() > 3);
  std::uint64_t total = 0;
  for (auto& [path, entries] : cats) {
    CAPTURE(path);
    CHECK(entries <= 100000);
    if (!path.empty()) CHECK(entries >= 1000);
    total += entries;
  }
  // Every entry is in one catalog, and each nested root also in its parent.
  std::uint64_t dirs = 1 + 3 + 150 + 15 * 10 + 15;
  CHECK(total == 301000 + dirs + (cats.size() - 1));
  CHECK(std::stoull(json_field(first.out, "catalogs_automatic")) == cats.size() - 1);

  // One more file: the same catalogs; only the one holding it (and the
  // root above it) change in stratum's own format.
  std::ofstream(r.src + "/x/y/z/p7/new");
  auto second = r.publish(false);  // --autocatalogs is remembered
  REQUIRE_MESSAGE(second.code == 0, second.err);
  CHECK(json_field(second.out, "catalogs_split_off") == "0");
  CHECK(json_field(second.out, "catalogs_merged") == "0");
  auto after = r.catalogs();
  std::set<std::string> a, b;
  for (auto& [p, n] : cats) a.insert(p);
  for (auto& [p, n] : after) b.insert(p);
  CHECK(a == b);

  // A catalog that falls below the minimum is merged into its parent;
  // the others stay.
  std::string shrunk;
  for (auto& p : b)
    if (p.rfind("a", 0) == 0 && p.find('/') == std::string::npos) shrunk = p;
  REQUIRE_FALSE(shrunk.empty());
  fs::remove_all(r.src + "/" + shrunk);
  fs::create_directories(r.src + "/" + shrunk);
  std::ofstream(r.src + "/" + shrunk + "/only");
  auto third = r.publish(false);
  REQUIRE_MESSAGE(third.code == 0, third.err);
  CHECK(json_field(third.out, "catalogs_merged") == "1");
  auto merged = r.nested();
  b.erase("");
  b.erase(shrunk);
  CHECK(merged == b);
  auto chk = run_stratum({"check", "-i", r.store, "--pubkey", r.st});
  CHECK_MESSAGE(chk.code == 0, chk.err);
}

TEST_CASE("CernVM-FS autocatalogs carry .cvmfsautocatalog and .cvmfscatalog, as cvmfs_server writes them") {
  temp_dir d;
  auto r = make_repo(d.path, true);
  for (int i = 0; i < 12; ++i) empty_files(r.src + "/pkg/v" + std::to_string(i), 100);
  empty_files(r.src + "/small", 5);
  auto first = r.publish(true, {"--autocatalogs", "--max-weight", "500", "--min-weight", "50"});
  REQUIRE_MESSAGE(first.code == 0, first.err);
  auto cats = r.catalogs();
  REQUIRE(cats.size() > 1);
  auto out = d.path + "/out";
  REQUIRE(run_stratum({"restore", r.store, out, "-q", "--pubkey", r.st}).code == 0);
  for (auto& [p, n] : cats) {
    CAPTURE(p);
    CHECK(n <= 500);
    if (p.empty()) continue;
    CHECK(n >= 50);
    CHECK(fs::exists(out + "/" + p + "/.cvmfscatalog"));
    CHECK(fs::exists(out + "/" + p + "/.cvmfsautocatalog"));
  }
  CHECK_FALSE(fs::exists(out + "/small/.cvmfscatalog"));
  auto chk = run_stratum({"check", "-i", r.store, "--pubkey", r.st});
  CHECK_MESSAGE(chk.code == 0, chk.err);
}
