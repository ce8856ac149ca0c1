// The CernVM-FS history database (catalog/format/cvmfs/history_sql.hpp):
// checked by Python's sqlite3 against the tags it was made from, round trip,
// determinism, and what the reader refuses.
#include "support.hpp"

#include "catalog/format/cvmfs/history_sql.hpp"

using namespace stratum;
using namespace stratum::cvmfs;
using stratum::test::temp_dir;

namespace {

hash256 sha1_of(std::string_view s) { return digest(as_bytes(s), algorithm::sha1); }

history fixture() {
  history h;
  // Out of name order on purpose: the writer sorts.
  h.tags.push_back({"trunk", sha1_of("r2"), 2, 1700000200, "current HEAD", 57344});
  h.tags.push_back({"trunk-previous", sha1_of("r1"), 1, 1700000100, "default undo target", 4096});
  h.tags.push_back({"generic-2024-01-01T00:00:00Z", sha1_of("r1"), 1, 1700000100, "", 4096});
  h.revisions.push_back({1, sha1_of("r1"), 1700000100, 4096});
  return h;
}

}  // namespace

TEST_CASE("cvmfs history: tables, properties and tag rows as cvmfs_server writes them (Python's sqlite3)") {
  temp_dir d;
  history_params p{"test.example.org", algorithm::sha1, sha1_of("old history")};
  test::write_file(d / "h.db", to_string(encode_history(fixture(), p)));
  test::write_file(d / "check.py", R"(
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cols = lambda t: [r[1] for r in db.execute('PRAGMA table_info(%s)' % t)]
assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")] == \
  ['properties', 'branches', 'tags', 'recycle_bin']
assert cols('tags') == ['name', 'hash', 'revision', 'timestamp', 'channel', 'description', 'size', 'branch']
assert cols('branches') == ['branch', 'parent', 'initial_revision'] and cols('recycle_bin') == ['hash', 'flags']
assert list(db.execute('SELECT key, value FROM properties ORDER BY rowid')) == [('schema', '1.0'),
  ('schema_revision', '3'), ('fqrn', 'test.example.org'), ('previous_revision', hashlib.sha1(b'old history').hexdigest())]
assert list(db.execute('SELECT * FROM branches')) == [('', None, 0)]
assert list(db.execute('SELECT * FROM recycle_bin')) == []
h = lambda s: hashlib.sha1(s).hexdigest()
assert list(db.execute('SELECT * FROM tags ORDER BY rowid')) == [
  ('generic-2024-01-01T00:00:00Z', h(b'r1'), 1, 1700000100, 0, '', 4096, ''),
  ('trunk', h(b'r2'), 2, 1700000200, 0, 'current HEAD', 57344, ''),
  ('trunk-previous', h(b'r1'), 1, 1700000100, 0, 'default undo target', 4096, '')]
db.execute('PRAGMA foreign_keys = ON')
assert db.execute('PRAGMA foreign_key_check').fetchall() == [] and db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
print('ok')
)");
  auto out = test::shell("/usr/bin/python3 " + d / "check.py" + " " + d / "h.db" + " 2>&1");
  CHECK(out == "ok\n");
}

TEST_CASE("cvmfs history: round trip, the same tags give the same bytes, other schemas are corrupt") {
  history_params p{"test.example.org", algorithm::shake128, {}};
  auto h = fixture();
  for (auto& t : h.tags) t.root = digest(as_bytes(t.name), algorithm::shake128);
  const auto db = encode_history(h, p);
  auto sorted = h;
  std::sort(sorted.tags.begin(), sorted.tags.end());
  CHECK(encode_history(sorted, p) == db);

  auto back = read_history(db, "data/ab/cdH", algorithm::shake128);
  CHECK(back.tags.tags == sorted.tags);
  CHECK(back.tags.revisions.empty());  // not in CernVM-FS's history
  CHECK(back.params.fqrn == "test.example.org");
  CHECK(!back.params.previous);
  test::expect_failure([&] { read_history(db, "data/ab/cdH", algorithm::sha1); }, errc::corrupt, "data/ab/cdH: ",
                       "of the repository's algorithm");
  test::expect_failure([&] { read_history(as_bytes(std::string_view("SQLite format 3")), "h", algorithm::sha1); },
                       errc::corrupt, "h: ", "");
  auto bad = h;
  bad.tags[0].root.v[25] = 1;
  test::expect_failure([&] { encode_history(bad, p); }, errc::usage, "the root hash of tag", "20-byte");
}
