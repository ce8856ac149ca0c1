// The CernVM-FS reflog database (reflog_sql.hpp). Thread: any.
#include "catalog/format/cvmfs/reflog_sql.hpp"

#include "async/error.hpp"
#include "catalog/format/cvmfs/sqlite_db.hpp"

namespace stratum::cvmfs {

bytes encode_reflog(const reflog& r, algorithm a) {
  auto db = sqlite_db::create("CernVM-FS reflog of " + r.fqrn);
  db.exec("BEGIN");
  db.create_properties({{"schema", "1.0"}, {"schema_revision", "0"}, {"fqrn", r.fqrn}});
  // As CernVM-FS creates it (reflog_sql.cc); the text is stored verbatim.
  db.exec("CREATE TABLE refs (hash TEXT, type INTEGER, timestamp INTEGER, CONSTRAINT pk_refs PRIMARY KEY (hash));");
  auto ins = db.prepare("INSERT OR REPLACE INTO refs (hash, type, timestamp) VALUES (?, ?, ?)");
  for (const auto& e : r.refs) {
    for (std::size_t i = digest_size; i < e.hash.v.size(); ++i)
      if (e.hash.v[i] != 0) fail(errc::usage, "reflog of " + r.fqrn + ": a hash that is not a 20-byte CernVM-FS digest");
    ins.bind_text(1, to_text(e.hash, a)).bind(2, static_cast<std::int64_t>(e.kind)).bind(3, e.timestamp).run();
  }
  db.exec("COMMIT");
  return db.serialize();
}

reflog decode_reflog(byte_view image, const std::string& what, algorithm a) {
  auto db = sqlite_db::open_image(image, what);
  auto props = db.properties_of_schema("reflog", "1.0", "0");
  if (!db.has_table("refs")) db.bad("no table 'refs'");
  reflog out;
  out.fqrn = props["fqrn"];
  for (auto s = db.prepare("SELECT hash, type, timestamp FROM refs ORDER BY rowid"); s.step();) {
    auto h = from_text(s.text(0));
    if (!h || h->second != a) db.bad("a reference '" + s.text(0).substr(0, 80) + "' that is no hash of the repository's algorithm");
    if (!s.is_integer(1) || s.integer(1) < 0 || s.integer(1) > 3)
      db.bad("reference " + s.text(0) + " has an unknown type");
    out.refs.push_back({h->first, static_cast<ref_kind>(s.integer(1)), s.integer(2)});
  }
  return out;
}

}  // namespace stratum::cvmfs
