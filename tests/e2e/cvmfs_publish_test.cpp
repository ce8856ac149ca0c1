// End-to-end: `publish --format cvmfs` (cmd/format_choice.cpp) on a local
// store, checked without stratum's own reader: object names against sha1 of
// the stored bytes, the root catalog opened with Python's sqlite3, the keys'
// files and modes; and the refusals before anything is written.
#include "support.hpp"

#include <filesystem>
#include <sys/stat.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

unsigned mode_of(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

// Checks every object name is the sha1 of the stored bytes and lists the
// root catalog's names, all in Python.
const char* check_py = R"(
import hashlib, os, sqlite3, sys, zlib
store = sys.argv[1]
bad = 0
for d, _, files in os.walk(os.path.join(store, 'data')):
    for f in files:
        body = open(os.path.join(d, f), 'rb').read()
        name = os.path.basename(d) + f.rstrip('CHXPM')
        if hashlib.sha1(body).hexdigest() != name: bad += 1
print('bad-names', bad)
text = open(os.path.join(store, '.cvmfspublished'), 'rb').read().split(b'\n--\n')[0].decode()
fields = {l[0]: l[1:] for l in text.splitlines()}
print('name', fields['N'])
cat = fields['C']
db = zlib.decompress(open(os.path.join(store, 'data', cat[:2], cat[2:] + 'C'), 'rb').read())
open(sys.argv[2], 'wb').write(db)
con = sqlite3.connect(sys.argv[2])
print('schema', con.execute("select value from properties where key='schema'").fetchone()[0])
print('names', ' '.join(sorted(r[0] for r in con.execute('select name from catalog'))))
print('nested', ' '.join(r[0] for r in con.execute('select path from nested_catalogs')))
)";

}  // namespace

TEST_CASE("cvmfs publish: a first revision whose names, keys and root catalog check out without our reader") {
  temp_dir d;
  make_tree(d / "src", {{'d', "sub"}, {'f', "a.txt", "hello"}, {'f', "sub/b.txt", std::string(5000, 'x')}, {'l', "link", "", "a.txt"},
                        {'d', "pkg"}, {'f', "pkg/.cvmfscatalog", ""}, {'f', "pkg/p.txt", "p"}});
  auto r = run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "store", "--format", "cvmfs", "--name", "test.example.org"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  for (const char* f : {".cvmfspublished", ".cvmfswhitelist", ".cvmfs_master_replica"}) CHECK_MESSAGE(fs::exists(d / "store" + "/" + f), f);
  CHECK(mode_of(d / "st/keys/test.example.org.masterkey") == 0400);
  CHECK(mode_of(d / "st/keys/test.example.org.key") == 0400);
  CHECK(mode_of(d / "st/keys/test.example.org.pub") == 0444);
  CHECK(mode_of(d / "st/keys/test.example.org.crt") == 0444);
  write_file(d / "check.py", check_py);
  auto out = shell("/usr/bin/python3 " + d / "check.py" + " " + d / "store" + " " + d / "root.db" + " 2>&1");
  CAPTURE(out);
  CHECK(has(out, "bad-names 0\n"));
  CHECK(has(out, "name test.example.org\n"));
  CHECK(has(out, "schema 2.5\n"));
  // The root entry's name is ''; pkg is a mount point here, its files in
  // the nested catalog its .cvmfscatalog starts.
  CHECK(has(out, "names  a.txt b.txt link pkg sub\n"));
  CHECK(has(out, "nested /pkg\n"));
}

TEST_CASE("cvmfs publish: what cannot be used is refused before anything is written") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a.txt", "hello"}});
  auto no_name = run_stratum({"publish", "--new", d / "st", d / "src", d / "store", "--format", "cvmfs"});
  CHECK(no_name.code == 2);
  CHECK(has(no_name.err, "--name FQRN"));
  auto bad_name = run_stratum({"publish", "--new", d / "st", d / "src", d / "store", "--format", "cvmfs", "--name", "-bad name"});
  CHECK(bad_name.code == 2);
  auto bad_hash = run_stratum({"publish", "--new", d / "st", d / "src", d / "store", "--format", "cvmfs", "--name", "a.b", "--hash", "md5"});
  CHECK(bad_hash.code == 2);
  CHECK(!fs::exists(d / "store/.cvmfspublished"));

  REQUIRE(run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "store", "--format", "cvmfs", "--name", "a.b"}).code == 0);
  auto other = run_stratum({"publish", d / "st", d / "src", d / "store", "--format", "stratum"});
  CHECK(other.code == 2);
  CHECK(has(other.err, "in the cvmfs format, not stratum"));
  // --name and --hash are fixed when the repository is made.
  auto renamed = run_stratum({"publish", d / "st", d / "src", d / "store", "--name", "c.d"});
  CHECK(renamed.code == 2);
  CHECK(has(renamed.err, "cannot change"));
  // A native STATE refuses the other format too.
  REQUIRE(run_stratum({"publish", "--new", "-q", d / "st2", d / "src", d / "store2"}).code == 0);
  auto mixed = run_stratum({"publish", d / "st2", d / "src", d / "store2", "--format", "cvmfs", "--name", "a.b"});
  CHECK(mixed.code == 2);
  CHECK(has(mixed.err, "in the stratum format, not cvmfs"));
}

TEST_CASE("cvmfs publish: an existing key set with --keys, another hash algorithm, and a level fixed at --new") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a.txt", "hello"}, {'f', "b.txt", std::string(20000, 'b')}});
  // A key set made by another repository's --new, given with --keys.
  REQUIRE(run_stratum({"publish", "--new", "-q", d / "first", d / "src", d / "first-store", "--format", "cvmfs", "--name", "k.example.org"}).code == 0);
  auto r = run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "store", "--format", "cvmfs", "--name", "k.example.org",
                        "--keys", d / "first/keys", "--hash", "shake128", "--level", "6"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(!fs::exists(d / "st/keys/k.example.org.key"));  // no new key set
  // The certificate object is the one of that key set, named with shake128.
  const std::string manifest = read_file(d / "store/.cvmfspublished");
  CHECK(has(manifest, "-shake128\n"));
  auto restored = run_stratum({"restore", d / "store", d / "dst", "--pubkey", d / "first/keys/k.example.org.pub"});
  REQUIRE_MESSAGE(restored.code == 0, restored.err);
  CHECK(read_file(d / "dst/b.txt") == std::string(20000, 'b'));
  // The next publish uses the recorded keys, hash and level; the level cannot change.
  write_file(d / "src/a.txt", "again");
  auto next = run_stratum({"publish", "-q", d / "st", d / "src", d / "store"});
  CHECK_MESSAGE(next.code == 0, next.err);
  auto relevel = run_stratum({"publish", d / "st", d / "src", d / "store", "--level", "1"});
  CHECK(relevel.code == 2);
  CHECK(has(relevel.err, "--level 6"));
  CHECK(run_stratum({"cat", d / "store", "a.txt"}).out == "again");
}
