// End-to-end: `stratum diff` on the local store, in stratum's own format and
// in CernVM-FS's: two revisions that differ in a known set of paths give
// exactly that set, in path order; a change inside one nested catalog reads
// only the catalogs on its path; unknown tags and revision numbers are usage
// errors; --json parses.
#include "support.hpp"

#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

struct format {
  std::string name;    // "stratum" or "cvmfs"
  std::string marker;  // the file that starts a nested catalog
};
const format native{"stratum", ".stratumcatalog"};
const format cvmfs{"cvmfs", ".cvmfscatalog"};

void publish(const format& f, const std::string& st, const std::string& src, const std::string& store, bool fresh,
             std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"publish"};
  if (fresh) a.push_back("--new");
  a.insert(a.end(), {st, src, store});
  a.insert(a.end(), extra.begin(), extra.end());
  if (fresh && f.name == "cvmfs") a.insert(a.end(), {"--format", "cvmfs", "--name", "test.example.org"});
  auto r = run_stratum(a);
  REQUIRE_MESSAGE(r.code == 0, r.err);
}

run_result diff(const std::string& store, const std::string& st, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"diff", store};
  a.insert(a.end(), extra.begin(), extra.end());
  a.insert(a.end(), {"--pubkey", st});
  return run_stratum(a);
}

// The catalogs' path order: a directory before its contents, '/' before
// every other byte.
bool before(const std::string& a, const std::string& b) {
  auto key = [](std::string s) {
    for (auto& c : s) c = c == '/' ? '\0' : c;
    return s;
  };
  return key(a) < key(b);
}

// Edits of the source tree leave every other path's mtime as it was: the
// times of `paths` are put back after them.
struct times_kept {
  std::vector<std::pair<std::string, struct stat>> saved;
  times_kept(const std::string& root, const std::vector<std::string>& paths) {
    for (auto& p : paths) {
      struct stat st {};
      REQUIRE(::lstat((root + "/" + p).c_str(), &st) == 0);
      saved.push_back({root + "/" + p, st});
    }
  }
  void restore() const {
    for (auto& [p, st] : saved) {
      timespec ts[2] = {st.st_atim, st.st_mtim};
      REQUIRE_MESSAGE(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0, p);
    }
  }
};

// Publishes a tree, edits it in known ways and publishes again. Returns the
// lines diff must print, in path order.
std::vector<std::string> two_revisions(const format& f, const std::string& src, const std::string& st, const std::string& store) {
  make_tree(src, {{'f', "keep.txt", "same"},
                  {'f', "content.txt", "old1"},
                  {'f', "grow.txt", "ab"},
                  {'f', "mode.txt", "m"},
                  {'f', "mtime.txt", "t"},
                  {'f', "owner.txt", "o"},
                  {'l', "link", "", "keep.txt"},
                  {'f', "xattr.txt", "x"},
                  {'x', "xattr.txt", "v1", "user.k"},
                  {'f', "gone.txt", "g"},
                  {'d', "gonedir", "", "", 0755},
                  {'f', "gonedir/a", "a"},
                  {'d', "gonedir/sub", "", "", 0755},
                  {'f', "gonedir/sub/b", "b"},
                  {'f', "f2d", "file"},
                  {'d', "nest", "", "", 0755},
                  {'f', "nest/" + f.marker, ""},
                  {'f', "nest/in.txt", "in1"},
                  {'f', "nest/still.txt", "s"},
                  {'d', "same", "", "", 0755},
                  {'f', "same/" + f.marker, ""},
                  {'f', "same/f", "unchanged"}});
  publish(f, st, src, store, true);

  times_kept kept(src, {"", "content.txt", "grow.txt", "link", "f2d", "nest", "nest/in.txt", "xattr.txt"});
  write_file(src + "/content.txt", "new1");
  write_file(src + "/grow.txt", "abcd");
  REQUIRE(::chmod((src + "/mode.txt").c_str(), 0600) == 0);
  timespec later[2] = {{1700000000, 5}, {1700000000, 5}};
  REQUIRE(::utimensat(AT_FDCWD, (src + "/mtime.txt").c_str(), later, 0) == 0);
  REQUIRE(::unlink((src + "/link").c_str()) == 0);
  REQUIRE(::symlink("content.txt", (src + "/link").c_str()) == 0);
  REQUIRE(::lsetxattr((src + "/xattr.txt").c_str(), "user.k", "v2", 2, 0) == 0);
  fs::remove(src + "/gone.txt");
  fs::remove_all(src + "/gonedir");
  fs::remove(src + "/f2d");
  fs::create_directory(src + "/f2d");
  REQUIRE(::chmod((src + "/f2d").c_str(), 0755) == 0);
  write_file(src + "/f2d/inside", "i");
  write_file(src + "/new.txt", "n");
  write_file(src + "/new\nline", "escaped");
  fs::create_directories(src + "/newdir/y");
  write_file(src + "/newdir/x", "x");
  write_file(src + "/newdir/y/z", "z");
  write_file(src + "/nest/in.txt", "in2");
  kept.restore();
  std::vector<std::string> want = {
      "M content.txt (content)", "M grow.txt (content, size)", "M mode.txt (mode)", "M mtime.txt (mtime)",
      "M link (target)",         "M xattr.txt (xattrs)",       "R gone.txt",        "R gonedir",
      "R gonedir/a",             "R gonedir/sub",              "R gonedir/sub/b",   "M f2d (type, mode)",
      "A f2d/inside",            "A new.txt",                  "A newdir",          "A newdir/x",
      "A newdir/y",              "A newdir/y/z",               "M nest/in.txt (content)",
      "A new\\nline"};  // names escaped as ls prints them
  // Owners can be changed by root only.
  if (::geteuid() == 0) {
    REQUIRE(::lchown((src + "/owner.txt").c_str(), 1234, 4321) == 0);
    want.push_back("M owner.txt (owner)");
  }
  publish(f, st, src, store, false);
  // In the order of the names' bytes, not of their escaped form.
  auto path = [](const std::string& line) {
    std::string p = line.substr(2, line.find(" (") == std::string::npos ? std::string::npos : line.find(" (") - 2);
    if (auto at = p.find("\\n"); at != std::string::npos) p.replace(at, 2, "\n");
    return p;
  };
  std::sort(want.begin(), want.end(), [&](const std::string& a, const std::string& b) { return before(path(a), path(b)); });
  return want;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < s.size()) {
    auto nl = s.find('\n', at);
    out.push_back(s.substr(at, nl - at));
    at = nl == std::string::npos ? s.size() : nl + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (auto& l : v) s += l + "\n";
  return s;
}

// The catalog objects of a local store (data/XX/...C), as store keys.
std::set<std::string> catalogs(const std::string& store) {
  std::set<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(store + "/data"))
    if (e.is_regular_file() && e.path().filename().string().back() == 'C') out.insert(fs::relative(e.path(), store).string());
  return out;
}

void exact_set(const format& f) {
  temp_dir d;
  const std::string src = d / "src", st = d / "st", store = d / "store";
  auto want = two_revisions(f, src, st, store);
  auto r = diff(store, st);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  // Exactly these lines, in this order (the catalogs' path order).
  CHECK(r.out == joined(want));
  // The same by revision numbers, and reversed.
  auto nums = diff(store, st, {"1", "2"});
  REQUIRE_MESSAGE(nums.code == 0, nums.err);
  CHECK(nums.out == r.out);
  auto back = diff(store, st, {"trunk", "trunk-previous"});
  REQUIRE_MESSAGE(back.code == 0, back.err);
  auto back_lines = lines(back.out);
  REQUIRE(back_lines.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    std::string w = want[i];
    if (w[0] == 'A') w[0] = 'R';
    else if (w[0] == 'R') w[0] = 'A';
    CHECK(back_lines[i] == w);
  }
  // A revision against itself: nothing, and no catalog is read (a store
  // without catalogs still answers).
  for (auto& c : catalogs(store)) fs::remove(store + "/" + c);
  auto self = diff(store, st, {"trunk", "trunk"});
  CHECK_MESSAGE(self.code == 0, self.err);
  CHECK(self.out.empty());
}

void json_output(const format& f) {
  temp_dir d;
  const std::string src = d / "src", st = d / "st", store = d / "store";
  auto want = two_revisions(f, src, st, store);
  auto r = diff(store, st, {"--json"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  std::string added = "[", removed = "[", modified = "[";
  for (auto& w : want) {
    std::string path = w.substr(2, w.find(" (") == std::string::npos ? std::string::npos : w.find(" (") - 2);
    // As JSON writes the escaped name: its backslash escaped again.
    if (auto at = path.find('\\'); at != std::string::npos) path.insert(at, "\\");
    if (w[0] == 'A') added += (added.size() > 1 ? ",\"" : "\"") + path + "\"";
    if (w[0] == 'R') removed += (removed.size() > 1 ? ",\"" : "\"") + path + "\"";
    if (w[0] == 'M') {
      std::string what = w.substr(w.find(" (") + 2);
      what.pop_back();
      std::string changes;
      std::size_t at = 0;
      while (at <= what.size()) {
        auto comma = what.find(", ", at);
        changes += (changes.empty() ? "\"" : ",\"") + what.substr(at, comma - at) + "\"";
        if (comma == std::string::npos) break;
        at = comma + 2;
      }
      modified += std::string(modified.size() > 1 ? "," : "") + "{\"path\":\"" + path + "\",\"changes\":[" + changes + "]}";
    }
  }
  CHECK(json_field(r.out, "added") == added + "]");
  CHECK(json_field(r.out, "removed") == removed + "]");
  CHECK(json_field(r.out, "modified") == modified + "]");
  CHECK(json_field(r.out, "from") == "trunk-previous");
  CHECK(json_field(r.out, "to") == "trunk");
}

// Revisions 1..3: nested catalogs one/ and two/; 2 changes a file in two/,
// 3 one in one/. Diffing 2 to 3 needs the two roots and one/'s two catalogs,
// not two/'s, which is removed from the store to prove it.
void nested_only(const format& f) {
  temp_dir d;
  const std::string src = d / "src", st = d / "st", store = d / "store";
  make_tree(src, {{'f', "top", "t"},
                  {'d', "one", "", "", 0755},
                  {'f', "one/" + f.marker, ""},
                  {'f', "one/f", "1a"},
                  {'d', "two", "", "", 0755},
                  {'f', "two/" + f.marker, ""},
                  {'f', "two/f", "2a"}});
  publish(f, st, src, store, true, {"--tag", "first"});
  auto before1 = catalogs(store);
  times_kept kept(src, {"two/f", "one/f"});
  write_file(src + "/two/f", "2b");
  kept.restore();
  publish(f, st, src, store, false);
  auto info = run_stratum({"info", store, "--json", "--pubkey", st});
  REQUIRE_MESSAGE(info.code == 0, info.err);
  const std::string root2 = json_field(info.out, "root_catalog").substr(0, 12);
  std::vector<std::string> two_b;  // catalogs new in revision 2 other than its root
  for (auto& c : catalogs(store)) {
    // data/XX/NAME: stratum's NAME is the whole hash, CernVM-FS's the rest of it.
    const bool root = c.compare(8, root2.size(), root2) == 0 || (c.substr(5, 2) + c.substr(8)).compare(0, root2.size(), root2) == 0;
    if (!before1.count(c) && !root) two_b.push_back(c);
  }
  REQUIRE(two_b.size() == 1);
  write_file(src + "/one/f", "1b");
  kept.restore();
  publish(f, st, src, store, false);

  fs::remove(store + "/" + two_b.front());
  auto ls = run_stratum({"ls", store, "two", "--pubkey", st});
  REQUIRE_MESSAGE(ls.code != 0, (std::string("two/'s catalog should be gone: ") + ls.out));  // the damage is real
  auto r = diff(store, st);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out == "M one/f (content)\n");
  auto j = diff(store, st, {"--json"});
  REQUIRE_MESSAGE(j.code == 0, j.err);
  CHECK(json_field(j.out, "catalogs_read") == "4");  // two roots, one/ before and after
  // Revision 1 to 3 needs two/'s catalog of revision 2: the damage is told.
  auto far = diff(store, st, {"first", "trunk"});
  CHECK(far.code == 3);
  CHECK_MESSAGE(far.err.find(two_b.front()) != std::string::npos, far.err);
}

}  // namespace

TEST_CASE("diff lists exactly the paths that changed and what changed in each, in path order") {
  SUBCASE("stratum's format") { exact_set(native); }
  SUBCASE("CernVM-FS format") { exact_set(cvmfs); }
}

TEST_CASE("diff --json: arrays added, removed and modified") {
  SUBCASE("stratum's format") { json_output(native); }
  SUBCASE("CernVM-FS format") { json_output(cvmfs); }
}

TEST_CASE("diff reads only the nested catalogs on the path of a change") {
  SUBCASE("stratum's format") { nested_only(native); }
  SUBCASE("CernVM-FS format") { nested_only(cvmfs); }
}

TEST_CASE("diff: unknown tags and revision numbers are usage errors naming what there is") {
  SUBCASE("stratum's format") {
    temp_dir d;
    make_tree(d / "src", {{'f', "a", "1"}});
    publish(native, d / "st", d / "src", d / "store", true);
    times_kept kept(d / "src", {"a"});
    // One revision: no trunk-previous yet.
    auto none = diff(d / "store", d / "st");
    CHECK(none.code == 2);
    CHECK_MESSAGE(none.err.find("no tag 'trunk-previous'") != std::string::npos, none.err);
    CHECK_MESSAGE(none.err.find("trunk") != std::string::npos, none.err);
    write_file(d / "src/a", "2");
    kept.restore();
    publish(native, d / "st", d / "src", d / "store", false);
    auto tag = diff(d / "store", d / "st", {"nosuch"});
    CHECK(tag.code == 2);
    CHECK_MESSAGE(tag.err.find("no tag 'nosuch'") != std::string::npos, tag.err);
    CHECK_MESSAGE(tag.err.find("trunk-previous") != std::string::npos, tag.err);
    auto num = diff(d / "store", d / "st", {"7", "2"});
    CHECK(num.code == 2);
    CHECK_MESSAGE(num.err.find("no revision 7") != std::string::npos, num.err);
    CHECK_MESSAGE(num.err.find("revisions: 1, 2") != std::string::npos, num.err);
    auto ok = diff(d / "store", d / "st", {"1"});
    CHECK_MESSAGE(ok.code == 0, ok.err);
    CHECK(ok.out == "M a (content)\n");
  }
  SUBCASE("CernVM-FS format") {
    temp_dir d;
    make_tree(d / "src", {{'f', "a", "1"}});
    publish(cvmfs, d / "st", d / "src", d / "store", true);
    write_file(d / "src/a", "2");
    publish(cvmfs, d / "st", d / "src", d / "store", false);
    auto num = diff(d / "store", d / "st", {"7"});
    CHECK(num.code == 2);
    CHECK_MESSAGE(num.err.find("no revision 7") != std::string::npos, num.err);
    CHECK_MESSAGE(num.err.find("CernVM-FS history") != std::string::npos, num.err);
    auto tag = diff(d / "store", d / "st", {"nosuch"});
    CHECK(tag.code == 2);
    CHECK_MESSAGE(tag.err.find("trunk") != std::string::npos, tag.err);
  }
}
