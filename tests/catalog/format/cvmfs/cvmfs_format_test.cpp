// The CernVM-FS format_writer (catalog/format/cvmfs/cvmfs_format.hpp):
// deterministic compression and names, CernVM-FS's object keys, catalogs
// checked by Python's sqlite3 (independent of our reader), the notes a
// parent needs of its nested catalogs, and the signed manifest and
// whitelist verified with the certificate and the master key.
#include "support.hpp"

#include "catalog/format/cvmfs/catalog_sql.hpp"
#include "catalog/format/cvmfs/cvmfs_format.hpp"
#include "catalog/format/cvmfs/reflog_sql.hpp"
#include "catalog/format/cvmfs/history_sql.hpp"
#include "catalog/format/cvmfs/manifest.hpp"
#include "catalog/format/cvmfs/whitelist.hpp"
#include "io/compress.hpp"

#include <string>

using namespace stratum;
using namespace stratum::cvmfs;
using stratum::test::temp_dir;

namespace {

const key_set& keys() {
  static const key_set k = key_set::generate("wire.example.org");
  return k;
}

entry dir(std::string path) {
  entry e;
  e.path = std::move(path);
  e.type = entry_type::directory;
  e.mode = 0755;
  e.mtime_sec = 1700000000;
  return e;
}

entry file(std::string path, std::uint64_t size, std::optional<hash256> object) {
  entry e;
  e.path = std::move(path);
  e.type = entry_type::regular;
  e.mode = 0644;
  e.size = size;
  e.mtime_sec = 1700000001;
  e.object = object;
  return e;
}

}  // namespace

TEST_CASE("cvmfs writer: compression is deterministic and an object's name is the digest of its stored bytes") {
  const cvmfs_writer w(keys(), algorithm::sha1);
  const cvmfs_writer again(keys(), algorithm::sha1);
  const auto content = test::random_bytes(200000, 3);
  const auto text = test::pattern(300000, 4);
  for (byte_view c : {byte_view(content), as_bytes(text), byte_view()}) {
    const auto a = w.compress(c), b = w.compress(c), other = again.compress(c);
    CHECK(a == b);
    CHECK(a == other);
    CHECK(w.object_hash(a) == digest(a, algorithm::sha1));
    CHECK(w.object_hash(a) == again.object_hash(other));
    // One zlib stream that inflates back to the content.
    CHECK(inflate_object(a, c.size(), "x") == bytes(c.begin(), c.end()));
  }
  CHECK(w.compress(as_bytes(text)).size() < text.size() * 3 / 4);  // 16 letters: ~4 bits a byte
  CHECK(w.empty_object() == digest(w.compress({}), algorithm::sha1));
  CHECK_FALSE(w.names_by_content());
  CHECK(w.name() == "cvmfs");
}

TEST_CASE("cvmfs writer: the zlib compressor writes zlib's own bytes (cvmfs_server's) at its level 0..9") {
  const cvmfs_writer z(keys(), algorithm::sha1, 6, true), lib(keys(), algorithm::sha1, 6);
  const auto text = test::pattern(100000, 5);
  CHECK(z.compress(as_bytes(text)) == zlib_deflate(as_bytes(text), 6));
  CHECK(lib.compress(as_bytes(text)) != z.compress(as_bytes(text)));
  CHECK(inflate_object(z.compress(as_bytes(text)), text.size(), "x") == bytes(as_bytes(text).begin(), as_bytes(text).end()));
  // The empty object every empty file names is zlib's too.
  CHECK(z.empty_object() == digest(zlib_deflate({}, 6), algorithm::sha1));
  CHECK_THROWS(cvmfs_writer(keys(), algorithm::sha1, 10, true));
  CHECK_NOTHROW(cvmfs_writer(keys(), algorithm::sha1, 10));
}

TEST_CASE("cvmfs writer: object keys are data/XX/<38 hex><algorithm suffix><type letter>") {
  const cvmfs_writer sha1(keys(), algorithm::sha1), rmd(keys(), algorithm::rmd160), shake(keys(), algorithm::shake128);
  const auto h = digest(as_bytes("x"), algorithm::sha1);
  const std::string hex = to_text(h, algorithm::sha1);
  REQUIRE(hex.size() == 40);
  const std::string base = "data/" + hex.substr(0, 2) + "/" + hex.substr(2);
  CHECK(sha1.object_key(h, object_kind::file) == base);
  CHECK(sha1.object_key(h, object_kind::chunk) == base + "P");
  CHECK(sha1.object_key(h, object_kind::catalog) == base + "C");
  CHECK(sha1.object_key(h, object_kind::history) == base + "H");
  CHECK(sha1.object_key(h, object_kind::public_key) == base + "X");
  CHECK(rmd.object_key(h, object_kind::catalog) == base + "-rmd160C");
  CHECK(shake.object_key(h, object_kind::file) == base + "-shake128");
  CHECK(sha1.manifest_key() == ".cvmfspublished");
}

TEST_CASE("cvmfs writer: a root catalog with a nested one, read by Python's sqlite3") {
  const cvmfs_writer w(keys(), algorithm::sha1);
  const auto fh = w.object_hash(w.compress(as_bytes("hello")));

  catalog n;
  n.root_path = "n";
  n.entries = {dir("n"), dir("n/sub"), file("n/f", 5, fh)};
  n.stats = {.regular = 1, .directories = 2, .bytes = 5};
  const catalog_context nctx{.revision = 3, .timestamp = 1700000100};
  const auto note = w.catalog_note(n, nctx);
  CHECK(decode_note(note, "x") == summarize(n, catalog_params{.alg = algorithm::sha1, .revision = 3}));
  const auto nested_bytes = w.encode_catalog(n, nctx);
  const auto nh = w.object_hash(w.compress(nested_bytes));

  catalog c;
  auto mount = dir("n");
  mount.nested_root = true;
  c.entries = {dir(""), file("empty", 0, std::nullopt), file("hi", 5, fh), mount};
  c.nested = {{"n", nh, nested_bytes.size()}};
  c.stats = {.regular = 3, .directories = 3, .bytes = 10, .nested = 1};
  const auto prev = digest(as_bytes("previous root"), algorithm::sha1);
  catalog_context ctx{.revision = 3, .timestamp = 1700000100, .previous = prev, .nested_notes = {note}};
  const auto db = w.encode_catalog(c, ctx);
  CHECK(db == w.encode_catalog(c, ctx));

  // A missing note is the publisher's mistake, said before anything is written.
  catalog_context missing = ctx;
  missing.nested_notes.clear();
  CHECK_THROWS_WITH(w.encode_catalog(c, missing), doctest::Contains("summaries"));

  temp_dir d;
  test::write_file(d / "db", to_string(db));
  test::write_file(d / "check.py", R"(
import hashlib, sqlite3, struct, sys
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
props = dict(db.execute('SELECT key, value FROM properties'))
assert props['revision'] == '3' and props['last_modified'] == '1700000100', props
assert props['previous_revision'] == sys.argv[2] and props['TTL'] == '240', props
stats = dict(db.execute('SELECT counter, value FROM statistics'))
assert stats['self_regular'] == 2 and stats['self_nested'] == 1 and stats['self_dir'] == 2, stats
assert stats['subtree_regular'] == 1 and stats['subtree_dir'] == 2 and stats['subtree_file_size'] == 5, stats
def key(p): return struct.unpack('<qq', hashlib.md5(p.encode()).digest())
rows = {r[0]: r[1:] for r in db.execute('SELECT name, hash, size, md5path_1, md5path_2 FROM catalog')}
assert set(rows) == {'', 'empty', 'hi', 'n'}, rows
assert rows['empty'][0].hex() == sys.argv[3] and rows['empty'][1] == 0, rows['empty']
assert rows['hi'][0].hex() == sys.argv[4] and rows['hi'][2:] == key('/hi'), rows['hi']
nested = list(db.execute('SELECT path, sha1, size FROM nested_catalogs'))
assert nested == [('/n', sys.argv[5], int(sys.argv[6]))], nested
assert db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
print('ok')
)");
  const auto out = test::shell("/usr/bin/python3 " + d / "check.py" + " " + d / "db" + " " +
                               to_text(prev, algorithm::sha1) + " " + to_text(w.empty_object(), algorithm::sha1) + " " +
                               to_text(fh, algorithm::sha1) + " " + to_text(nh, algorithm::sha1) + " " +
                               std::to_string(nested_bytes.size()) + " 2>&1");
  CHECK(out == "ok\n");

  // Our reader agrees, and the parent's subtree counters are the nested total.
  const auto back = read_catalog(db, "root", algorithm::sha1);
  CHECK(back.counters.subtree == decode_note(note, "x").total);
  CHECK(back.params.empty_object == w.empty_object());
}

TEST_CASE("cvmfs writer: the manifest is signed by the repository key and names the certificate object") {
  const cvmfs_writer w(keys(), algorithm::sha1);
  const auto pem = w.public_key_object(signing_key::generate());
  CHECK(to_string(pem) == keys().cert.pem());
  CHECK(w.certificate_object() == w.object_hash(w.compress(pem, object_kind::public_key)));

  stratum::manifest m{.revision = 4, .timestamp = 1700000200, .root = digest(as_bytes("r"), algorithm::sha1),
                      .history = digest(as_bytes("h"), algorithm::sha1), .root_size = 8192};
  const auto doc = w.encode_manifest(m, signing_key::generate(), {});
  const auto got = verify_manifest(to_string(doc), keys().cert, "wire.example.org");
  CHECK(got.root_catalog == object_id{m.root, algorithm::sha1});
  CHECK(got.root_catalog_size == 8192);
  CHECK(got.revision == 4);
  CHECK(got.timestamp == 1700000200);
  CHECK(got.history == object_id{m.history, algorithm::sha1});
  CHECK(got.certificate == object_id{w.certificate_object(), algorithm::sha1});

  m.root_size.reset();
  CHECK_THROWS_WITH(w.encode_manifest(m, signing_key::generate(), {}), doctest::Contains("root catalog's size"));

  const auto now = std::chrono::sys_seconds(std::chrono::seconds(1700000000));
  const auto wl = w.whitelist(now, std::chrono::days(30));
  const std::vector<rsa_key> masters{keys().master_public};
  const auto v = verify_whitelist(to_string(wl), "wire.example.org", masters, now + std::chrono::hours(1));
  CHECK_NOTHROW(check_listed(v, keys().cert));

  // What the publisher writes beside the manifest, and the empty object.
  stratum::manifest first;
  first.root = digest(as_bytes("root"), algorithm::sha1);
  first.history = digest(as_bytes("history"), algorithm::sha1);
  first.root_size = 8192;
  const auto side = w.side_files(first, 1700000000, {std::nullopt, std::nullopt});
  REQUIRE(side.size() == 3);
  CHECK(side[0].first == ".cvmfswhitelist");
  CHECK(verify_whitelist(to_string(side[0].second), "wire.example.org", masters, now).fqrn == "wire.example.org");
  CHECK(side[1].first == ".cvmfs_master_replica");
  CHECK(side[1].second.empty());
  CHECK(side[2].first == ".cvmfsreflog");
  const auto log = decode_reflog(side[2].second, "reflog", algorithm::sha1);
  REQUIRE(log.refs.size() == 4);
  CHECK(log.refs[0].hash == first.root);
  CHECK(log.refs[0].kind == ref_kind::catalog);
  CHECK(log.refs[1].hash == first.history);
  CHECK(log.refs[2].hash == w.certificate_object());
  CHECK(log.refs[3].kind == ref_kind::meta_info);
  CHECK(log.refs[3].hash == w.object_hash(w.compress(*w.meta_info(), object_kind::meta_info)));
  REQUIRE(w.implicit_objects().size() == 1);
  CHECK(w.object_hash(w.compress(w.implicit_objects()[0])) == w.empty_object());

  // The next publish: the whitelist, ours with 30 days left, is kept; the
  // reflog grows by the new root and history (the rest are the same hashes).
  stratum::manifest next = first;
  next.root = digest(as_bytes("root 2"), algorithm::sha1);
  next.history = digest(as_bytes("history 2"), algorithm::sha1);
  const auto again = w.side_files(next, 1700000000 + 3600, {side[0].second, side[2].second});
  REQUIRE(again.size() == 2);
  CHECK(again[0].first == ".cvmfs_master_replica");
  CHECK(decode_reflog(again[1].second, "reflog", algorithm::sha1).refs.size() == 6);
  // 20 days later it is renewed.
  CHECK(w.side_files(next, 1700000000 + 20 * 86400, {side[0].second, side[2].second}).size() == 3);
  // The manifest names the reflog by the hash of its bytes, and the meta-info.
  const auto sealed = to_string(w.encode_manifest(next, signing_key::generate(), again));
  CHECK(sealed.find("\nY" + to_text(digest(again[1].second, algorithm::sha1), algorithm::sha1) + "\n") != std::string::npos);
  CHECK(sealed.find("\nM" + to_text(w.object_hash(w.compress(*w.meta_info(), object_kind::meta_info)), algorithm::sha1) + "\n") != std::string::npos);
}

TEST_CASE("cvmfs writer: the history database names the repository") {
  const cvmfs_writer w(keys(), algorithm::sha1);
  history h;
  h.set({"trunk", digest(as_bytes("r"), algorithm::sha1), 2, 1700000000, "current revision", 100});
  h.revisions.push_back({2, h.tags[0].root, 1700000000, 100});
  const auto db = w.encode_history(h);
  CHECK(db == w.encode_history(h));
  const auto back = read_history(db, "history", algorithm::sha1);
  CHECK(back.params.fqrn == "wire.example.org");
  REQUIRE(back.tags.tags.size() == 1);
  CHECK(back.tags.tags[0].root == h.tags[0].root);
}
