// End-to-end: `stratum import` with the real binary on a local store, in
// both formats. A repository published from STATE A is imported into STATE
// B; publishing the same tree from B sends no data object (counted from the
// store's files and --json); a changed file is read and sent alone; a file
// changed within the same mtime second (CernVM-FS: seconds only, so unsure)
// is still found; bad input (a used STATE, an empty store, keys that are
// not the repository's) is refused with nothing created.
#include "support.hpp"

#include <filesystem>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* fqrn = "imp.example.org";

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Object files in a local store whose content is a file's (or chunk's): the
// others end in their kind's capital letter (catalog C, history H, public
// key X, meta-info M).
std::set<std::string> data_objects(const std::string& store) {
  std::set<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(store + "/data")) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    const char last = name.back();
    if (last != 'C' && last != 'H' && last != 'X' && last != 'M') out.insert(name);
  }
  return out;
}

std::size_t added(const std::set<std::string>& before, const std::set<std::string>& after) {
  std::size_t n = 0;
  for (auto& o : after) n += before.count(o) ? 0 : 1;
  return n;
}

std::uint64_t number(const run_result& r, const char* field) { return std::stoull(json_field(r.out, field)); }

void set_mtime(const std::string& path, std::int64_t sec, long nsec) {
  timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

struct setup {
  bool cvmfs;
  temp_dir d;
  std::string src = d / "src", store = d / "store", a = d / "A";

  // `zlib`: CernVM-FS written as cvmfs_server writes it (zlib, level 6),
  // through the setting stratum import records for such a repository.
  explicit setup(bool cv, bool zlib = false) : cvmfs(cv) {
    std::vector<fixture> tree;
    for (int i = 0; i < 6; ++i) tree.push_back({'f', "f" + std::to_string(i), pattern(400 + 31 * i, static_cast<unsigned>(i))});
    tree.push_back({'f', "empty", ""});
    tree.push_back({'l', "link", "", "f0"});
    tree.push_back({'h', "hard", "", "f1"});
    tree.push_back({'d', "pkg"});
    tree.push_back({'f', cvmfs ? "pkg/.cvmfscatalog" : "pkg/.stratumcatalog", ""});
    tree.push_back({'f', "pkg/p", noise(3000, 9)});
    make_tree(src, tree);
    std::vector<std::string> args = {"publish", "--new", a, src, store, "-q"};
    if (cvmfs) args.insert(args.end(), {"--format", "cvmfs", "--name", fqrn});
    if (zlib) {
      fs::create_directories(a);
      write_file(a + "/settings", "compressor zlib\n");
      args.insert(args.end(), {"--level", "6"});
    }
    auto r = run_stratum(args);
    REQUIRE_MESSAGE(r.code == 0, r.err);
  }
  // Files with content the tree has.
  std::uint64_t content_files() const { return 8; }
  run_result import(const std::string& state, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"import", state, store, "--keys", a + "/keys"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_stratum(args);
  }
  run_result publish(const std::string& state) const { return run_stratum({"publish", state, src, store, "--json"}); }
  void expect_checks() const {
    auto chk = run_stratum({"check", "-i", store, "--pubkey", cvmfs ? a + "/keys/" + fqrn + ".pub" : a});
    CHECK_MESSAGE(chk.code == 0, chk.err);
  }
};

}  // namespace

TEST_CASE("import: the next publish of the same tree sends no data object, and a changed file alone is read and sent") {
  for (bool cvmfs : {false, true}) {
    CAPTURE(cvmfs);
    setup s(cvmfs);
    const std::string b = s.d / "B";
    auto imp = s.import(b, {"--source", s.src});
    REQUIRE_MESSAGE(imp.code == 0, imp.err);
    CHECK(has(imp.err, "imported revision 1"));
    CHECK(read_file(b + "/settings").find(cvmfs ? "format cvmfs" : "format stratum") != std::string::npos);

    auto before = data_objects(s.store);
    auto r = s.publish(b);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(added(before, data_objects(s.store)) == 0);
    if (!cvmfs) {
      // Every file matched its catalog entry: nothing read, nothing sent.
      CHECK(json_field(r.out, "unchanged") == "true");
      CHECK(number(r, "files_read") == 0);
      CHECK(number(r, "objects_stored") == 0);
    } else {
      // Seconds only: every file with content is read once, its object found
      // confirmed; only the catalogs (new revision) and the history are sent.
      CHECK(number(r, "files_read") == s.content_files());
      CHECK(number(r, "objects_stored") == number(r, "catalogs") + 1);
    }
    s.expect_checks();

    // One file changed (size too; its mtime set back to the old second):
    // read and sent alone.
    write_file(s.src + "/f2", pattern(5000, 77));
    set_mtime(s.src + "/f2", 1600000002, 5);
    before = data_objects(s.store);
    r = s.publish(b);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(number(r, "files_read") == 1);
    CHECK(added(before, data_objects(s.store)) == 1);
    s.expect_checks();
    // The catalogs were built from the source's inodes: the hard link is one.
    const std::string dst = s.d / "restored";
    auto res = run_stratum({"restore", s.store, dst, "--quiet", "--pubkey", cvmfs ? s.a + "/keys/" + fqrn + ".pub" : s.a});
    REQUIRE_MESSAGE(res.code == 0, res.err);
    auto diffs = compare_trees(s.src, dst, ::geteuid() == 0);
    CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));
  }
}

TEST_CASE("import: a file changed within its mtime second is found (native: by the nanoseconds, CernVM-FS: unsure)") {
  for (bool cvmfs : {false, true}) {
    CAPTURE(cvmfs);
    setup s(cvmfs);
    const std::string b = s.d / "B", f3 = s.src + "/f3";
    REQUIRE(s.import(b).code == 0);  // no --source: the first publish's
    struct stat old;
    REQUIRE(::lstat(f3.c_str(), &old) == 0);
    std::string changed = read_file(f3);
    changed[0] = changed[0] == 'a' ? 'b' : 'a';  // same size
    write_file(f3, changed);
    // CernVM-FS: the very same mtime, ns included; stratum's own format keeps
    // ns, so there the second stays and the ns move.
    set_mtime(f3, old.st_mtim.tv_sec, cvmfs ? old.st_mtim.tv_nsec : old.st_mtim.tv_nsec + 1);
    // An xattr added moves no mtime: the catalog-only record's xattrs are
    // compared with the file's, which are read for it.
    const std::string f4 = s.src + "/f4";
    REQUIRE(::lsetxattr(f4.c_str(), "user.added", "v", 1, 0) == 0);
    auto before = data_objects(s.store);
    auto r = s.publish(b);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(number(r, "files_read") == (cvmfs ? s.content_files() : 2));
    CHECK(added(before, data_objects(s.store)) == 1);
    // The revision is the source, byte for byte, xattrs and mtimes included.
    const std::string dst = s.d / "restored";
    auto res = run_stratum({"restore", s.store, dst, "--quiet", "--pubkey", cvmfs ? s.a + "/keys/" + fqrn + ".pub" : s.a});
    REQUIRE_MESSAGE(res.code == 0, res.err);
    auto diffs = compare_trees(s.src, dst, ::geteuid() == 0);
    CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));
    // The first publish gave the imported STATE its source: another is refused.
    auto other = run_stratum({"publish", b, s.d.path, s.store, "-q"});
    CHECK(other.code == 2);
    CHECK(has(other.err, "belongs to the publish of"));
  }
}

TEST_CASE("import: a used STATE, an empty store, keys that are not the repository's are refused, nothing created") {
  for (bool cvmfs : {false, true}) {
    CAPTURE(cvmfs);
    setup s(cvmfs);
    // A STATE that holds a journal (here: the publisher's own).
    const std::string settings = read_file(s.a + "/settings");
    auto r = s.import(s.a);
    CHECK(r.code == 2);
    CHECK(has(r.err, "already holds"));
    CHECK(read_file(s.a + "/settings") == settings);

    // A store with no repository.
    const std::string empty = s.d / "empty", c = s.d / "C";
    fs::create_directories(empty);
    r = run_stratum({"import", c, empty, "--keys", s.a + "/keys"});
    CHECK(r.code == 2);
    CHECK(has(r.err, "holds no repository"));
    CHECK(!fs::exists(c));

    // Keys of another repository.
    const std::string other = s.d / "other";
    if (!cvmfs) {
      REQUIRE(run_stratum({"keygen", other}).code == 0);
      r = run_stratum({"import", c, s.store, "--keys", other});
      CHECK(r.code == 2);
      CHECK(has(r.err, other + "/stratum.key"));
      CHECK(!fs::exists(c));
      r = run_stratum({"import", c, s.store});
      CHECK(r.code == 2);
      CHECK(has(r.err, "--keys"));
      CHECK(!fs::exists(c));
      continue;
    }
    auto o = run_stratum({"publish", "--new", s.d / "OA", s.src, s.d / "ostore", "-q", "--format", "cvmfs", "--name", fqrn});
    REQUIRE_MESSAGE(o.code == 0, o.err);
    const std::string okeys = s.d / "OA/keys";
    r = run_stratum({"import", c, s.store, "--keys", okeys});
    CHECK(r.code == 2);
    CHECK(has(r.err, okeys + "/" + fqrn + ".pub"));
    CHECK(!fs::exists(c));
    // The right master key with another certificate and repository key.
    const std::string mixed = s.d / "mixed";
    fs::create_directories(mixed);
    for (const char* ext : {".masterkey", ".pub"}) fs::copy_file(s.a + "/keys/" + fqrn + ext, mixed + "/" + fqrn + ext);
    for (const char* ext : {".key", ".crt"}) fs::copy_file(okeys + "/" + fqrn + ext, mixed + "/" + fqrn + ext);
    r = run_stratum({"import", c, s.store, "--keys", mixed});
    CHECK(r.code == 2);
    CHECK(has(r.err, mixed + "/" + fqrn + ".crt"));
    CHECK(!fs::exists(c));
  }
}

TEST_CASE("import: a CernVM-FS repository compressed as cvmfs_server does (zlib 6) goes on with zlib, no object sent again") {
  setup s(true, true);
  const std::string b = s.d / "B";
  auto imp = s.import(b);
  REQUIRE_MESSAGE(imp.code == 0, imp.err);
  const std::string settings = read_file(b + "/settings");
  CHECK(has(settings, "compressor zlib"));
  CHECK(has(settings, "level 6"));
  // Every file is read (seconds only) and compressed as the store's objects
  // were, so each finds its object.
  auto before = data_objects(s.store);
  auto r = s.publish(b);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(number(r, "files_read") == s.content_files());
  CHECK(added(before, data_objects(s.store)) == 0);
  s.expect_checks();
  // Another level would name the files read again anew: refused.
  auto other = run_stratum({"import", s.d / "C", s.store, "--keys", s.a + "/keys", "--level", "1"});
  CHECK(other.code == 2);
  CHECK(has(other.err, "zlib, level 6"));
  CHECK(!fs::exists(s.d / "C"));
}
