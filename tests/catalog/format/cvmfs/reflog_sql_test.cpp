// The CernVM-FS reflog (catalog/format/cvmfs/reflog_sql.hpp): checked by
// Python's sqlite3, round trip, a repeated hash replaces its row, and what
// the reader refuses.
#include "support.hpp"

#include "catalog/format/cvmfs/reflog_sql.hpp"

using namespace stratum;
using namespace stratum::cvmfs;
using stratum::test::temp_dir;

namespace {
hash256 sha1_of(std::string_view s) { return digest(as_bytes(s), algorithm::sha1); }
}  // namespace

TEST_CASE("cvmfs reflog: the refs table and properties cvmfs_server writes (Python's sqlite3), round trip") {
  reflog r{"test.example.org",
           {{sha1_of("catalog 1"), ref_kind::catalog, 100},
            {sha1_of("cert"), ref_kind::certificate, 101},
            {sha1_of("history"), ref_kind::history, 102},
            {sha1_of("meta"), ref_kind::meta_info, 103},
            {sha1_of("catalog 1"), ref_kind::catalog, 104}}};  // again: replaces the first row
  const auto db = encode_reflog(r, algorithm::sha1);
  CHECK(encode_reflog(r, algorithm::sha1) == db);
  temp_dir d;
  test::write_file(d / "r.db", to_string(db));
  test::write_file(d / "check.py", R"(
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ['properties', 'refs']
assert [r[1] for r in db.execute('PRAGMA table_info(refs)')] == ['hash', 'type', 'timestamp']
assert list(db.execute('SELECT key, value FROM properties ORDER BY rowid')) == [('schema', '1.0'),
  ('schema_revision', '0'), ('fqrn', 'test.example.org')]
h = lambda s: hashlib.sha1(s).hexdigest()
assert list(db.execute('SELECT * FROM refs ORDER BY rowid')) == [(h(b'cert'), 1, 101), (h(b'history'), 2, 102),
  (h(b'meta'), 3, 103), (h(b'catalog 1'), 0, 104)]
print('ok')
)");
  CHECK(test::shell("/usr/bin/python3 " + d / "check.py" + " " + d / "r.db" + " 2>&1") == "ok\n");

  auto back = decode_reflog(db, ".cvmfsreflog", algorithm::sha1);
  CHECK(back.fqrn == "test.example.org");
  REQUIRE(back.refs.size() == 4);
  CHECK(back.refs[3] == r.refs[4]);
  CHECK(back.refs[0] == r.refs[1]);
  test::expect_failure([&] { decode_reflog(db, ".cvmfsreflog", algorithm::rmd160); }, errc::corrupt, ".cvmfsreflog: ",
                       "no hash of the repository's algorithm");
  test::expect_failure([&] { decode_reflog(bytes(4096, 0), ".cvmfsreflog", algorithm::sha1); }, errc::corrupt,
                       ".cvmfsreflog: ", "");
}
