// The CernVM-FS catalog reader on hostile bytes (catalog/format/cvmfs/
// catalog_sql_read.cpp, sqlite_db.cpp): garbage, truncated and damaged
// databases, other schemas, and catalogs altered with Python's sqlite3 so
// that one thing is wrong — each is errc::corrupt naming the object, never
// a crash or another error class.
#include "support.hpp"

#include "catalog/format/cvmfs/catalog_sql.hpp"
#include "catalog/format/cvmfs/history_sql.hpp"
#include "catalog/format/cvmfs/sqlite_db.hpp"

#include <string>

using namespace stratum;
using namespace stratum::cvmfs;
using stratum::test::temp_dir;

namespace {

hash256 sha1_of(std::string_view s) { return digest(as_bytes(s), algorithm::sha1); }

catalog small() {
  catalog c;
  entry root;
  root.type = entry_type::directory;
  root.mode = 0755;
  c.entries.push_back(root);
  entry d = root;
  d.path = "d";
  c.entries.push_back(d);
  entry f;
  f.path = "d/f";
  f.mode = 0644;
  f.size = 30;
  f.chunks = {{10, sha1_of("c0")}, {20, sha1_of("c1")}};
  c.entries.push_back(f);
  entry g = f;
  g.path = "g";
  g.chunks.clear();
  g.object = sha1_of("g");
  c.entries.push_back(g);
  c.stats = {.regular = 2, .directories = 2, .bytes = 60, .chunked = 1, .chunks = 2};
  return c;
}

// The small catalog with `sql` run on it by Python's sqlite3.
bytes altered(const temp_dir& d, const std::string& sql) {
  auto db = encode_catalog(small(), {});
  test::write_file(d / "cat.db", to_string(db));
  test::write_file(d / "alter.py",
                   "import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\ndb.executescript(sys.argv[2])\n"
                   "db.commit()\ndb.execute('VACUUM')\n");
  auto out = test::shell("/usr/bin/python3 " + d / "alter.py" + " " + d / "cat.db" + " \"" + sql + "\" 2>&1");
  REQUIRE_MESSAGE(out.empty(), out);
  auto s = test::read_file(d / "cat.db");
  return bytes(s.begin(), s.end());
}

void refused(byte_view db, const std::string& says) {
  test::expect_failure([&] { read_catalog(db, "data/ab/cdC", algorithm::sha1); }, errc::corrupt, "data/ab/cdC: ", says);
}

}  // namespace

TEST_CASE("cvmfs catalog reader: garbage, empty, truncated and damaged bytes are corrupt") {
  refused(as_bytes(std::string_view("not a database at all, just some text that is long enough")), "");
  refused({}, "empty");
  const auto good = encode_catalog(small(), {});
  REQUIRE(read_catalog(good, "x", algorithm::sha1).tree.entries.size() == 4);
  refused(byte_view(good).first(good.size() / 2), "");
  refused(byte_view(good).first(100), "");
  // Every page of the file damaged in turn (a byte in the middle of each
  // page flipped): an error or a catalog, never anything else.
  int errors = 0;
  for (std::size_t page = 0; page < good.size() / 4096; ++page) {
    auto bad = good;
    bad[page * 4096 + 2000] ^= 0x5a;
    bad[page * 4096 + 100] ^= 0xff;
    try {
      read_catalog(bad, "x", algorithm::sha1);
    } catch (const std::exception& e) {
      CAPTURE(e.what());
      CHECK(is(e, errc::corrupt));
      ++errors;
    }
  }
  CHECK(errors > 0);
  // Over the size limit: refused before SQLite sees it.
  test::expect_failure([&] { sqlite_db::open_image(good, "big", 4096); }, errc::corrupt, "big: ", "limit");
}

TEST_CASE("cvmfs catalog reader: another schema is corrupt with a clear message") {
  temp_dir d;
  history_params hp{"test.example.org", algorithm::sha1, {}};
  refused(encode_history({}, hp), "catalog schema 1.0 revision 3 is not supported");
  refused(altered(d, "UPDATE properties SET value = '2.4' WHERE key = 'schema';"), "catalog schema 2.4 revision 7");
  refused(altered(d, "UPDATE properties SET value = '4' WHERE key = 'schema_revision';"), "revision 4 is not supported");
  refused(altered(d, "DELETE FROM properties WHERE key = 'schema';"), "catalog schema (none)");
  refused(altered(d, "DROP TABLE chunks;"), "no table 'chunks'");
  refused(altered(d, "ALTER TABLE catalog DROP COLUMN xattr;"), "table 'catalog' has no column 'xattr'");
  refused(altered(d, "CREATE VIEW v AS SELECT 1;"), "the schema holds 'v'");
  refused(altered(d, "CREATE TRIGGER t AFTER INSERT ON catalog BEGIN DELETE FROM chunks; END;"), "the schema holds 't'");
}

TEST_CASE("cvmfs catalog reader: rows that contradict each other are corrupt") {
  temp_dir d;
  // A regular file's flags saying directory.
  refused(altered(d, "UPDATE catalog SET flags = 1 WHERE name = 'g';"), "'/g': flags 1 contradict its mode");
  // A name that does not hash to its key.
  refused(altered(d, "UPDATE catalog SET name = 'h' WHERE name = 'g';"), "is not the MD5 of its path");
  // A row whose parent is not in the catalog.
  refused(altered(d, "UPDATE catalog SET parent_1 = 1 WHERE name = 'g';"), "1 rows are not reachable");
  // An invalid name.
  refused(altered(d, "UPDATE catalog SET name = '..' WHERE name = 'g';"), "an invalid name '..'");
  // Chunks that leave a gap, or overlap the end.
  refused(altered(d, "UPDATE chunks SET offset = 11 WHERE offset = 10;"), "not contiguous");
  refused(altered(d, "UPDATE chunks SET size = 21 WHERE offset = 10;"), "more than its size");
  refused(altered(d, "DELETE FROM chunks WHERE offset = 10;"), "do not add up");
  refused(altered(d, "UPDATE chunks SET hash = x'00' WHERE offset = 10;"), "a content hash of 1 bytes");
  // A content hash that is not 20 bytes, or of another algorithm.
  refused(altered(d, "UPDATE catalog SET hash = x'0102' WHERE name = 'g';"), "a content hash of 2 bytes");
  refused(altered(d, "UPDATE catalog SET flags = flags | 256 WHERE name = 'g';"), "hashed with algorithm 2");
  // Kinds of entry stratum does not read.
  refused(altered(d, "UPDATE catalog SET flags = flags | 128 WHERE name = 'g';"), "external file");
  refused(altered(d, "UPDATE catalog SET flags = flags | 32768 WHERE name = 'g';"), "hidden entry");
  refused(altered(d, "INSERT INTO bind_mountpoints VALUES ('/d', 'x', 1);"), "bind mount points");
  // A nested catalog without its mount point, a mount point without its catalog.
  refused(altered(d, "INSERT INTO nested_catalogs VALUES ('/g', '" + std::string(40, 'a') + "', 10);"),
          "has no mount point row");
  refused(altered(d, "UPDATE catalog SET flags = 3 WHERE name = 'd';"), "has rows below it but is a nested");
  // The root flagged as a nested catalog's root in the root catalog.
  refused(altered(d, "UPDATE catalog SET flags = 33 WHERE name = '';"), "the root of a root catalog");
  // Broken xattrs.
  refused(altered(d, "UPDATE catalog SET xattr = x'0201' WHERE name = 'g';"), "version 2 is not supported");
  refused(altered(d, "UPDATE catalog SET xattr = x'010102016162' WHERE name = 'g';"), "truncated");
  // Statistics missing.
  refused(altered(d, "DELETE FROM statistics WHERE counter = 'subtree_dir';"), "no statistics counter 'subtree_dir'");
}
