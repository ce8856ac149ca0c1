// End-to-end: `stratum list-catalogs` on repositories with nested catalogs made
// by marker files, in both formats. The expected catalog set and entry counts
// are computed here from the fixture (and again from the restored tree), the
// hashes and sizes from the store's files; for CernVM-FS, the catalogs are
// also read with Python's sqlite3 (tests/e2e/cvmfs_tool.py catalogs).
#include "support.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

using namespace stratum::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The rows each catalog holds, from a list of paths ("" the root) and the
// catalog roots among them: a path belongs to the deepest root it lies in
// (itself included); a nested root's mount point is also a row of the
// catalog above it. This is the count list-catalogs -e documents.
std::map<std::string, std::uint64_t> expected_rows(const std::vector<std::string>& paths, const std::set<std::string>& roots) {
  auto within = [](const std::string& p, const std::string& r) { return r.empty() || p == r || p.rfind(r + "/", 0) == 0; };
  auto owner = [&](const std::string& p, bool strictly_above) {
    std::string best;
    for (const auto& r : roots)
      if (within(p, r) && !(strictly_above && p == r) && r.size() >= best.size()) best = r;
    return best;
  };
  std::map<std::string, std::uint64_t> out;
  for (const auto& r : roots) out[r] = 0;
  for (const auto& p : paths) {
    ++out[owner(p, false)];
    if (!p.empty() && roots.count(p)) ++out[owner(p, true)];
  }
  return out;
}

// The fixture's paths, with "" for the root: every entry but xattrs.
std::vector<std::string> fixture_paths(const std::vector<fixture>& tree) {
  std::vector<std::string> out{""};
  for (const auto& f : tree)
    if (f.kind != 'x') out.push_back(f.path);
  return out;
}

std::set<std::string> marker_roots(const std::vector<std::string>& paths, const std::string& marker) {
  std::set<std::string> roots{""};
  for (const auto& p : paths)
    if (auto slash = p.rfind('/'); slash != std::string::npos && p.substr(slash + 1) == marker) roots.insert(p.substr(0, slash));
  return roots;
}

// A restored tree's paths, relative, "" for the root.
std::vector<std::string> tree_paths(const std::string& dir) {
  std::vector<std::string> out{""};
  for (auto& e : fs::recursive_directory_iterator(dir)) out.push_back(fs::relative(e.path(), dir).string());
  return out;
}

// Two revisions: the first has one nested catalog (pkg); the second adds
// pkg/deep and lib below the root, and a plain directory.
std::vector<fixture> first_tree(const std::string& marker) {
  return {{'f', "a.txt", "hello"}, {'d', "dir"}, {'f', "dir/b", "b"}, {'l', "link", "", "a.txt"},
          {'d', "pkg"},            {'f', "pkg/" + marker, ""},          {'f', "pkg/p1", "p1"},
          {'d', "pkg/sub"},        {'f', "pkg/sub/p2", "p2"},           {'h', "pkg/sub/p2-link", "", "pkg/sub/p2"},
          {'d', "pkg/deep"},       {'f', "pkg/deep/d1", "d1"}};
}
std::vector<fixture> second_tree(const std::string& marker) {
  auto t = first_tree(marker);
  t.push_back({'f', "pkg/deep/" + marker, ""});
  t.push_back({'f', "pkg/deep/d2", "d2"});
  t.push_back({'d', "lib"});
  t.push_back({'f', "lib/" + marker, ""});
  t.push_back({'f', "lib/l1", std::string(3000, 'l')});
  t.push_back({'d', "lib/x"});
  t.push_back({'d', "lib/x/y"});
  t.push_back({'f', "lib/x/y/z", "z"});
  t.push_back({'d', "plain"});
  t.push_back({'f', "plain/q", "q"});
  return t;
}

struct repo_case {
  std::string format;  // "stratum" or "cvmfs"
  std::string marker;
  std::vector<std::string> trust;  // what a reader passes (--pubkey for CernVM-FS)
};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

struct listed {
  std::string path;
  std::uint64_t depth = 0, entries = 0, stored = 0, inflated = 0;
  std::string hash, key;
};

std::vector<listed> parse_json(const std::string& out) {
  std::error_code ec;
  auto v = json::parse(out, ec);
  REQUIRE_MESSAGE(!ec, out);
  std::vector<listed> rows;
  for (auto& c : v.at("catalogs").as_array()) {
    auto& o = c.as_object();
    rows.push_back({std::string(o.at("path").as_string()), o.at("depth").to_number<std::uint64_t>(),
                    o.at("entries").to_number<std::uint64_t>(), o.at("stored_size").to_number<std::uint64_t>(),
                    o.at("inflated_size").to_number<std::uint64_t>(), std::string(o.at("hash").as_string()),
                    std::string(o.at("key").as_string())});
  }
  return rows;
}

// Checks list-catalogs of `store` (extra: --tag/--revision) against the
// fixture `tree`: paths and tree shape, entry counts, hashes and sizes.
// `restore_extra`: the same revision for restore, which takes no --revision.
void expect_listing(const repo_case& c, const std::string& store, const std::vector<fixture>& tree,
                    const std::vector<std::string>& extra, const std::vector<std::string>& restore_extra) {
  const auto paths = fixture_paths(tree);
  const auto roots = marker_roots(paths, c.marker);
  const auto rows = expected_rows(paths, roots);

  // Plain: the tree, exactly (roots in pre-order: a set sorted by bytes
  // is pre-order here, as no name sorts below '/').
  auto plain = run_stratum(with(with({"list-catalogs", store}, extra), c.trust));
  REQUIRE_MESSAGE(plain.code == 0, plain.err);
  std::vector<std::string> want;
  for (const auto& r : roots) {
    const auto depth = r.empty() ? 0 : std::count(r.begin(), r.end(), '/') + 1;
    std::string prefix;
    for (long i = 1; i < depth; ++i) prefix += "\u2502  ";
    if (depth > 0) prefix += "\u251c\u2500 ";
    want.push_back(prefix + "/" + r);
  }
  CHECK(lines_of(plain.out) == want);

  // -x -s -e: hash, sizes and entries before the path.
  auto full = run_stratum(with(with({"list-catalogs", store, "-x", "-s", "-e"}, extra), c.trust));
  REQUIRE_MESSAGE(full.code == 0, full.err);
  auto lines = lines_of(full.out);
  REQUIRE(lines.size() == roots.size());
  std::size_t i = 0;
  for (const auto& r : roots) {
    CAPTURE(lines[i]);
    std::istringstream in(lines[i].substr(want[i].size() - 1 - r.size()));
    std::string hash, sizes, path;
    std::uint64_t entries = 0;
    in >> hash >> sizes >> entries >> path;
    CHECK(path == "/" + r);
    CHECK(entries == rows.at(r));
    // The object exists under the name shown, at the stored size shown.
    // docs/FORMAT.md: data/XX/<hex>C; CernVM-FS: data/XX/<hex without XX>C.
    const std::string object =
        store + "/data/" + hash.substr(0, 2) + "/" + (c.format == "cvmfs" ? hash.substr(2) : hash) + "C";
    REQUIRE_MESSAGE(fs::exists(object), object);
    CHECK(sizes.rfind(std::to_string(fs::file_size(object)) + "B/", 0) == 0);
    ++i;
  }

  // --json: the same, and the key named is the object.
  auto js = run_stratum(with(with({"list-catalogs", store, "--json"}, extra), c.trust));
  REQUIRE_MESSAGE(js.code == 0, js.err);
  auto listed_rows = parse_json(js.out);
  REQUIRE(listed_rows.size() == roots.size());
  i = 0;
  for (const auto& r : roots) {
    CHECK(listed_rows[i].path == "/" + r);
    CHECK(listed_rows[i].entries == rows.at(r));
    CHECK(fs::file_size(store + "/" + listed_rows[i].key) == listed_rows[i].stored);
    CHECK(has(full.out, listed_rows[i].hash + " " + std::to_string(listed_rows[i].stored) + "B/" +
                            std::to_string(listed_rows[i].inflated) + "B "));
    ++i;
  }

  // What restore sees agrees: the same catalog roots (marker files) and
  // counts, from the restored files.
  temp_dir out;
  auto res = run_stratum(with(with({"restore", store, out / "t", "--quiet"}, restore_extra), c.trust));
  REQUIRE_MESSAGE(res.code == 0, res.err);
  const auto seen = tree_paths(out / "t");
  CHECK(marker_roots(seen, c.marker) == roots);
  CHECK(expected_rows(seen, marker_roots(seen, c.marker)) == rows);
}

const repo_case cases[] = {{"stratum", ".stratumcatalog", {}}, {"cvmfs", ".cvmfscatalog", {}}};

}  // namespace

TEST_CASE("list-catalogs: the catalog tree, entries, sizes and hashes of the current and an older revision, both formats") {
  for (auto c : cases) {
    CAPTURE(c.format);
    temp_dir d;
    const std::string src = d / "src", st = d / "st", store = d / "store";
    auto one = first_tree(c.marker), two = second_tree(c.marker);
    make_tree(src, one);
    std::vector<std::string> fresh = {"publish", "--new", "-q", st, src, store, "--tag", "v1", "--json"};
    if (c.format == "cvmfs") {
      fresh.insert(fresh.end(), {"--format", "cvmfs", "--name", "lc.example.org"});
      c.trust = {"--pubkey", st};
    }
    auto first = run_stratum(fresh);
    REQUIRE_MESSAGE(first.code == 0, first.err);
    const std::string v1 = json_field(first.out, "revision");
    fs::remove_all(src);
    make_tree(src, two);
    auto second = run_stratum({"publish", "-q", st, src, store});
    REQUIRE_MESSAGE(second.code == 0, second.err);

    expect_listing(c, store, two, {}, {});
    expect_listing(c, store, one, {"--tag", "v1"}, {"--tag", "v1"});
    expect_listing(c, store, one, {"--revision", v1}, {"--tag", "v1"});

    if (c.format == "cvmfs") {
      // Python's sqlite3 on the decompressed catalogs: the same catalogs, in
      // the same order, with the catalog table's row counts and the sizes.
      auto py = shell("/usr/bin/python3 " STRATUM_SOURCE_DIR "/tests/e2e/cvmfs_tool.py catalogs " + store + " 2>&1");
      auto js = run_stratum(with({"list-catalogs", store, "--json"}, c.trust));
      REQUIRE(js.code == 0);
      auto ours = parse_json(js.out);
      std::error_code ec;
      auto theirs = json::parse(py, ec);
      REQUIRE_MESSAGE(!ec, py);
      REQUIRE(theirs.as_array().size() == ours.size());
      CHECK(ours.size() == 4);
      for (std::size_t i = 0; i < ours.size(); ++i) {
        auto& t = theirs.as_array()[i].as_object();
        CHECK(ours[i].path == std::string(t.at("path").as_string()));
        CHECK(ours[i].hash == std::string(t.at("hash").as_string()));
        CHECK(ours[i].entries == t.at("rows").to_number<std::uint64_t>());
        CHECK(ours[i].stored == t.at("stored_size").to_number<std::uint64_t>());
        CHECK(ours[i].inflated == t.at("inflated_size").to_number<std::uint64_t>());
      }
    }
  }
}

TEST_CASE("list-catalogs: an unknown tag or revision is a usage error naming the tags, and a store without a repository says so") {
  for (auto c : cases) {
    CAPTURE(c.format);
    temp_dir d;
    make_tree(d / "src", first_tree(c.marker));
    std::vector<std::string> fresh = {"publish", "--new", "-q", d / "st", d / "src", d / "store", "--tag", "v1"};
    if (c.format == "cvmfs") {
      fresh.insert(fresh.end(), {"--format", "cvmfs", "--name", "lc.example.org"});
      c.trust = {"--pubkey", d / "st"};
    }
    REQUIRE(run_stratum(fresh).code == 0);
    auto tag = run_stratum(with({"list-catalogs", d / "store", "--tag", "nope"}, c.trust));
    CHECK(tag.code == 2);
    CHECK(has(tag.err, "nope"));
    CHECK(has(tag.err, "v1"));
    auto rev = run_stratum(with({"list-catalogs", d / "store", "--revision", "99"}, c.trust));
    CHECK(rev.code == 2);
    CHECK(has(rev.err, "no revision 99"));
    CHECK(has(rev.err, "v1"));
    auto word = run_stratum(with({"list-catalogs", d / "store", "--revision", "v1"}, c.trust));
    CHECK(word.code == 2);
    CHECK(has(word.err, "--tag"));
    auto both = run_stratum(with({"list-catalogs", d / "store", "--revision", "1", "--tag", "v1"}, c.trust));
    CHECK(both.code == 2);
    CHECK(tag.out.empty());
    CHECK(rev.out.empty());
  }
  // No repository: what ls says.
  temp_dir d;
  fs::create_directories(d / "empty");
  auto none = run_stratum({"list-catalogs", d / "empty"});
  auto ls = run_stratum({"ls", d / "empty"});
  CHECK(none.code == ls.code);
  CHECK(none.code != 0);
  // The same message after the command's name ("stratum ls: ...").
  auto tail = [](const std::string& e) { return e.substr(e.find(": ")); };
  CHECK(tail(none.err) == tail(ls.err));
  CHECK(has(none.err, "holds no repository"));
}
