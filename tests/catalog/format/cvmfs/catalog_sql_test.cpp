// CernVM-FS catalogs (catalog/format/cvmfs/catalog_sql.hpp): the database a
// catalog becomes, checked by Python's sqlite3 and hashlib (independent of
// our reader) against the source catalog; round trips through our reader;
// determinism; and what the reader refuses.
#include "support.hpp"

#include "catalog/format/cvmfs/catalog_schema.hpp"
#include "catalog/format/cvmfs/catalog_sql.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>

using namespace stratum;
using namespace stratum::cvmfs;
using stratum::test::temp_dir;

namespace {

hash256 sha1_of(std::string_view s) { return digest(as_bytes(s), algorithm::sha1); }

entry make(std::string path, entry_type t, std::uint32_t mode, std::uint64_t size = 0) {
  entry e;
  e.path = std::move(path);
  e.type = t;
  e.mode = mode;
  e.size = size;
  e.mtime_sec = 1700000000 + static_cast<std::int64_t>(e.path.size());
  e.mtime_nsec = static_cast<std::uint32_t>(e.path.size()) + 1;
  return e;
}

entry file(std::string path, std::string_view content_id, std::uint64_t size, std::uint32_t group = 0) {
  auto e = make(std::move(path), entry_type::regular, 0644, size);
  e.uid = 1000;
  e.gid = 100;
  e.object = sha1_of(content_id);
  e.hardlink_group = group;
  return e;
}

// The nested catalog at "nest": a subdirectory and one file with an xattr.
catalog nested_fixture() {
  catalog c;
  c.root_path = "nest";
  c.entries.push_back(make("nest", entry_type::directory, 0755));
  auto f = file("nest/f", "nf", 7);
  f.xattrs = {{"user.n", "v"}};
  c.entries.push_back(f);
  c.entries.push_back(make("nest/sub", entry_type::directory, 0755));
  c.stats = {.regular = 1, .directories = 2, .bytes = 7};
  return c;
}

catalog_params nested_params() {
  catalog_params p;
  p.revision = 1;
  p.last_modified = 1700000001;
  return p;
}

// The root catalog: every kind of entry, hardlinks within and across
// directories, a chunked file, an empty file, xattrs and a nested catalog.
catalog root_fixture() {
  catalog c;
  auto root = make("", entry_type::directory, 0755);
  root.xattrs = {{"user.root", "1"}};
  c.entries.push_back(root);
  c.entries.push_back(make("a", entry_type::directory, 0700));
  auto f1 = file("a/f1", "f1", 5, 1);
  f1.xattrs = {{"user.a", std::string("\0x", 2)}, {"user.b", ""}};
  c.entries.push_back(f1);
  auto f2 = file("a/f2", "f1", 5, 1);
  f2.xattrs = f1.xattrs;
  c.entries.push_back(f2);
  c.entries.push_back(file("a/x", "x", 3, 2));
  c.entries.push_back(make("b", entry_type::directory, 0755));
  c.entries.push_back(file("b/x2", "x", 3, 2));
  auto big = file("big", "", 35);
  big.object.reset();
  big.chunks = {{10, sha1_of("c0")}, {20, sha1_of("c1")}, {5, sha1_of("c2")}};
  c.entries.push_back(big);
  auto empty = file("empty", "", 0);
  empty.object.reset();
  c.entries.push_back(empty);
  c.entries.push_back(make("fifo", entry_type::fifo, 0644));
  auto link = make("link", entry_type::symlink, 0777, 4);
  link.link_target = "a/f1";
  c.entries.push_back(link);
  auto nest = make("nest", entry_type::directory, 0755);
  nest.nested_root = true;
  c.entries.push_back(nest);
  auto dev = make("zdev", entry_type::char_device, 0600);
  dev.rdev = makedev(1, 3);  // CernVM-FS keeps it in the size column
  c.entries.push_back(dev);
  c.nested.push_back({"nest", sha1_of("nested"), 12345});
  c.stats = {.regular = 7, .directories = 5, .symlinks = 1, .specials = 2, .bytes = 58, .chunked = 1, .chunks = 3,
             .nested = 1};
  return c;
}

catalog_params root_params() {
  catalog_params p;
  p.revision = 7;
  p.previous = sha1_of("prev");
  p.last_modified = 1700000000;
  p.ttl = 300;
  p.empty_object = sha1_of("empty");
  p.nested = {summarize(nested_fixture(), nested_params())};
  return p;
}

struct python_result {
  bool ok;
  std::string out;
};

// Runs `script` with Python 3, the database file as argv[1]; ok when it
// exits 0.
python_result run_python(const temp_dir& d, const std::string& script, byte_view db) {
  test::write_file(d / "check.py", script);
  test::write_file(d / "db", to_string(db));
  auto out = test::shell("/usr/bin/python3 " + d / "check.py" + " " + d / "db" + " 2>&1; echo \"exit=$?\"");
  return {out.size() >= 7 && out.compare(out.size() - 7, 7, "exit=0\n") == 0, out};
}

// Table and column names in order, the index, and database settings, as
// CernVM-FS 2.12's catalog_sql.cc creates them.
const std::string python_schema = R"(
import sqlite3, sys
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
def cols(t): return [r[1] for r in db.execute('PRAGMA table_info(%s)' % t)]
want = {
  'properties': ['key', 'value'],
  'catalog': ['md5path_1', 'md5path_2', 'parent_1', 'parent_2', 'hardlinks', 'hash', 'size', 'mode', 'mtime',
              'mtimens', 'flags', 'name', 'symlink', 'uid', 'gid', 'xattr'],
  'chunks': ['md5path_1', 'md5path_2', 'offset', 'size', 'hash'],
  'nested_catalogs': ['path', 'sha1', 'size'],
  'bind_mountpoints': ['path', 'sha1', 'size'],
  'statistics': ['counter', 'value'],
}
tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
assert tables == list(want), tables
for t, c in want.items(): assert cols(t) == c, (t, cols(t))
idx = db.execute("SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = 'idx_catalog_parent'").fetchall()
assert idx == [('catalog',)], idx
assert [r[2] for r in db.execute('PRAGMA index_info(idx_catalog_parent)')] == ['parent_1', 'parent_2']
pk = lambda t: [r[1] for r in sorted(db.execute('PRAGMA table_info(%s)' % t), key=lambda r: r[5]) if r[5]]
assert pk('catalog') == ['md5path_1', 'md5path_2'] and pk('chunks') == ['md5path_1', 'md5path_2', 'offset', 'size']
assert pk('properties') == ['key'] and pk('statistics') == ['counter'] and pk('nested_catalogs') == ['path']
assert db.execute('PRAGMA page_size').fetchone()[0] == 4096
assert db.execute('PRAGMA freelist_count').fetchone()[0] == 0
assert db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
assert db.execute('PRAGMA foreign_key_check').fetchall() == []
)";

}  // namespace

TEST_CASE("cvmfs catalog: Python's sqlite3 reads the schema, properties, statistics and rows CernVM-FS expects") {
  temp_dir d;
  const auto db = encode_catalog(root_fixture(), root_params());
  // Expected values written out for this fixture; keys from hashlib.
  const std::string rows = R"(
import hashlib, os, struct
def key(p): return struct.unpack('<qq', hashlib.md5(p.encode()).digest())
def sha1(s): return hashlib.sha1(s.encode()).digest()
def parent(p): return (0, 0) if p == '' else key(p.rsplit('/', 1)[0])
props = dict(db.execute('SELECT key, value FROM properties'))
assert props == {'schema': '2.5', 'schema_revision': '7', 'last_modified': '1700000000', 'revision': '7',
                 'previous_revision': hashlib.sha1(b'prev').hexdigest(), 'TTL': '300'}, props
stats = list(db.execute('SELECT counter, value FROM statistics ORDER BY rowid'))
names = ['chunked', 'chunked_size', 'chunks', 'dir', 'external', 'external_file_size', 'file_size', 'nested',
         'regular', 'special', 'symlink', 'xattr']
self_ = dict(chunked=1, chunked_size=35, chunks=3, dir=4, file_size=51, nested=1, regular=6, special=2, symlink=1,
             xattr=3)
sub = dict(dir=2, regular=1, file_size=7, xattr=1)
assert stats == [('self_' + n, self_.get(n, 0)) for n in names] + [('subtree_' + n, sub.get(n, 0)) for n in names], stats
xa = bytes([1, 2, 6, 2]) + b'user.a\x00x' + bytes([6, 0]) + b'user.b'
# path: hardlinks, hash, size, mode, flags, symlink, uid, gid, xattr
want = {
  '':       (5, None, 0, 0o40755, 1, '', 0, 0, bytes([1, 1, 9, 1]) + b'user.root1'),
  '/a':     (2, None, 0, 0o40700, 1, '', 0, 0, None),
  '/a/f1':  (1 << 32 | 2, sha1('f1'), 5, 0o100644, 4, '', 1000, 100, xa),
  '/a/f2':  (1 << 32 | 2, sha1('f1'), 5, 0o100644, 4, '', 1000, 100, xa),
  '/a/x':   (1, sha1('x'), 3, 0o100644, 4, '', 1000, 100, None),
  '/b':     (2, None, 0, 0o40755, 1, '', 0, 0, None),
  '/b/x2':  (1, sha1('x'), 3, 0o100644, 4, '', 1000, 100, None),
  '/big':   (1, None, 35, 0o100644, 68, '', 1000, 100, None),
  '/empty': (1, sha1('empty'), 0, 0o100644, 4, '', 1000, 100, None),
  '/fifo':  (1, None, 0, 0o10644, 20, '', 0, 0, None),
  '/link':  (1, None, 4, 0o120777, 12, 'a/f1', 0, 0, None),
  '/nest':  (3, None, 0, 0o40755, 3, '', 0, 0, None),
  '/zdev':  (1, None, os.makedev(1, 3), 0o20600, 20, '', 0, 0, None),
}
got = list(db.execute('SELECT md5path_1, md5path_2, parent_1, parent_2, hardlinks, hash, size, mode, mtime, mtimens,'
                      ' flags, name, symlink, uid, gid, xattr FROM catalog ORDER BY rowid'))
assert len(got) == len(want), len(got)
for (path, w), r in zip(want.items(), got):  # rows in pre-order
  assert r[0:2] == key(path) and r[2:4] == parent(path), (path, r)
  assert r[4:8] == w[0:4] and r[10] == w[4] and r[12:16] == w[5:9], (path, r, w)
  assert r[8] == 1700000000 + len(path) - (1 if path else 0) and r[9] == len(path) - (1 if path else 0) + 1, (path, r)
  assert r[11] == path.rsplit('/', 1)[-1], (path, r)
assert db.execute('SELECT typeof(hash), typeof(xattr), typeof(mtimens) FROM catalog WHERE name = ?',
                  ('a',)).fetchone() == ('null', 'null', 'integer')
chunks = list(db.execute('SELECT md5path_1, md5path_2, offset, size, hash FROM chunks ORDER BY offset'))
assert chunks == [key('/big') + (0, 10, sha1('c0')), key('/big') + (10, 20, sha1('c1')),
                  key('/big') + (30, 5, sha1('c2'))], chunks
nested = list(db.execute('SELECT path, sha1, size FROM nested_catalogs'))
assert nested == [('/nest', hashlib.sha1(b'nested').hexdigest(), 12345)], nested
assert list(db.execute('SELECT * FROM bind_mountpoints')) == []
print('ok')
)";
  auto r = run_python(d, python_schema + rows, db);
  CAPTURE(r.out);
  CHECK(r.ok);
}

TEST_CASE("cvmfs catalog: a nested catalog has root_prefix, no TTL, a root row flagged 33 that matches the mount point") {
  temp_dir d;
  const auto db = encode_catalog(nested_fixture(), nested_params());
  const std::string rows = R"(
import hashlib, struct
def key(p): return struct.unpack('<qq', hashlib.md5(p.encode()).digest())
props = dict(db.execute('SELECT key, value FROM properties'))
assert props == {'schema': '2.5', 'schema_revision': '7', 'root_prefix': '/nest', 'last_modified': '1700000001',
                 'revision': '1', 'previous_revision': '0' * 40}, props
assert [r[0] for r in db.execute('SELECT key FROM properties ORDER BY rowid')] == \
  ['schema', 'schema_revision', 'root_prefix', 'last_modified', 'revision', 'previous_revision']
root = db.execute('SELECT md5path_1, md5path_2, parent_1, parent_2, hardlinks, flags, name, mode FROM catalog'
                  ' ORDER BY rowid LIMIT 1').fetchone()
# The mount point row in the parent has the same values but flags 3.
assert root == key('/nest') + key('') + (3, 33, 'nest', 0o40755), root
stats = dict(db.execute('SELECT counter, value FROM statistics'))
assert stats['self_dir'] == 2 and stats['self_regular'] == 1 and stats['self_xattr'] == 1 and stats['subtree_dir'] == 0
print('ok')
)";
  auto r = run_python(d, python_schema + rows, db);
  CAPTURE(r.out);
  CHECK(r.ok);
  // The summary the parent was given is what this catalog says of itself.
  auto s = summarize(nested_fixture(), nested_params());
  CHECK(s.root_subdirs == 1);
  CHECK(s.total.dir == 2);
  CHECK(s.total.xattr == 1);
  CHECK(read_catalog(db, "nested", algorithm::sha1).summary == s);
}

TEST_CASE("cvmfs catalog: the same catalog gives the same bytes, and a read catalog encodes to the same bytes again") {
  const auto c = root_fixture();
  const auto p = root_params();
  const auto once = encode_catalog(c, p);
  CHECK(encode_catalog(c, p) == once);

  auto back = read_catalog(once, "root", algorithm::sha1);
  // What CernVM-FS cannot hold: hardlinks across directories (a/x, b/x2)
  // become separate files. The empty file's object
  // is the params' empty_object; nested summaries are not in the parent.
  auto want = c;
  for (auto& e : want.entries)
    if (e.path == "a/x" || e.path == "b/x2") e.hardlink_group = 0;
  CHECK(back.tree.root_path == want.root_path);
  CHECK(back.tree.entries == want.entries);
  CHECK(back.tree.nested == want.nested);
  CHECK(back.tree.stats == want.stats);
  CHECK(back.params.revision == 7);
  CHECK(back.params.previous == p.previous);
  CHECK(back.params.last_modified == p.last_modified);
  CHECK(back.params.ttl == p.ttl);
  CHECK(back.params.empty_object == p.empty_object);
  CHECK(back.params.compressed);
  CHECK(back.params.mtime_ns);
  CHECK(back.schema_revision == 7);
  CHECK(back.counters == count_catalog(c, p));

  auto again = back.params;
  again.nested = p.nested;
  CHECK(encode_catalog(back.tree, again) == once);
}

TEST_CASE("cvmfs catalog: options the model does not carry — no mtimens, uncompressed objects, rmd160") {
  auto c = nested_fixture();
  auto p = nested_params();
  p.mtime_ns = false;
  p.compressed = false;
  p.alg = algorithm::rmd160;
  c.entries[1].object = digest(as_bytes(std::string_view("nf")), algorithm::rmd160);
  auto back = read_catalog(encode_catalog(c, p), "nested", algorithm::rmd160);
  CHECK(!back.params.mtime_ns);
  CHECK(!back.params.compressed);
  CHECK(back.tree.entries[1].object == c.entries[1].object);
  CHECK(back.tree.entries[1].mtime_nsec == 0);
  // Flags: file (4) | compression none (1 << 11) | rmd160 (1 << 8).
  temp_dir d;
  auto r = run_python(d, R"(
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("SELECT flags, mtimens FROM catalog WHERE name = 'f'").fetchone() == (4 | 1 << 11 | 1 << 8, None)
assert db.execute("SELECT value FROM properties WHERE key = 'previous_revision'").fetchone() == ('0' * 40 + '-rmd160',)
)", encode_catalog(c, p));
  CAPTURE(r.out);
  CHECK(r.ok);
  // The reader insists on the repository's algorithm.
  test::expect_failure([&] { read_catalog(encode_catalog(c, p), "nested", algorithm::sha1); }, errc::corrupt, "nested: ",
                       "algorithm");
}

TEST_CASE("cvmfs catalog: what the format cannot express is a usage error naming the path") {
  auto c = nested_fixture();
  auto p = nested_params();
  auto long_name = c;
  long_name.entries[1].xattrs = {{"user." + std::string(251, 'x'), "v"}};
  test::expect_failure([&] { encode_catalog(long_name, p); }, errc::usage, "extended attribute", "nest/f");
  auto not_digest = c;
  not_digest.entries[1].object = sha256(as_bytes(std::string_view("x")));
  test::expect_failure([&] { encode_catalog(not_digest, p); }, errc::usage, "the hash of 'nest/f'", "20-byte");
  auto empty = c;
  empty.entries[1].object.reset();
  empty.entries[1].size = 0;
  empty.stats.bytes = 0;
  test::expect_failure([&] { encode_catalog(empty, p); }, errc::usage, "'nest/f' is empty", "empty object");
  auto ttl = p;
  ttl.ttl = 60;
  test::expect_failure([&] { encode_catalog(c, ttl); }, errc::usage, "catalog at 'nest'", "TTL");
  auto stats = c;
  stats.stats.regular = 2;
  test::expect_failure([&] { encode_catalog(stats, p); }, errc::usage, "catalog at 'nest'", "stats disagree");
  auto root = root_fixture();
  auto no_summary = root_params();
  no_summary.nested.clear();
  test::expect_failure([&] { encode_catalog(root, no_summary); }, errc::usage, "catalog at ''", "nested summaries");
}

TEST_CASE("native_stats: every mount point below a catalog is counted once, however deep the nesting") {
  // "" mounts pkg, which mounts pkg/deep: the root's rows are "" and the
  // mount point pkg; pkg's are pkg and the mount point pkg/deep; deep's is
  // pkg/deep. Three directories, each mount point also its catalog's root.
  catalog_counters c;
  c.self.dir = 2;
  c.self.nested = 1;
  c.subtree.dir = 3;     // pkg's total: pkg, pkg/deep (mount) + pkg/deep (root)
  c.subtree.nested = 1;  // pkg's own nested catalog
  const auto s = schema::native_stats(c);
  CHECK(s.directories == 3);
  CHECK(s.nested == 2);
}
