// The CernVM-FS format_writer (cvmfs_format.hpp). Thread: any; the writer
// is immutable after construction.
#include "catalog/format/cvmfs/cvmfs_format.hpp"

#include "async/error.hpp"
#include "catalog/format/cvmfs/catalog_sql.hpp"
#include "catalog/format/cvmfs/cvmfs_reader.hpp"
#include "catalog/format/cvmfs/history_sql.hpp"
#include "catalog/format/cvmfs/manifest.hpp"
#include "catalog/format/cvmfs/reflog_sql.hpp"
#include "catalog/format/cvmfs/sqlite_db.hpp"
#include "catalog/format/cvmfs/whitelist.hpp"
#include "io/compress.hpp"

#include <array>

namespace stratum::cvmfs {
namespace {

// zlib's and cvmfs_server's default level, for the objects a Stratum 1
// compresses again (the certificate, the meta-info).
constexpr int zlib_default_level = 6;

std::array<std::int64_t*, 12> fields(counters& c) {
  return {&c.chunked, &c.chunked_size, &c.chunks, &c.dir, &c.external, &c.external_file_size,
          &c.file_size, &c.nested, &c.regular, &c.special, &c.symlink, &c.xattr};
}

// The meta-info object: cvmfs_server's template (`update-repoinfo`), the
// fields empty for the release manager to fill, so it names no one.
std::string meta_info_json(const std::string& fqrn) {
  return "{\n"
         "  \"administrator\" : \"\",\n"
         "  \"email\"         : \"\",\n"
         "  \"organisation\"  : \"\",\n"
         "  \"description\"   : \"CernVM-FS repository " + fqrn + ", published with stratum\",\n"
         "  \"url\"           : \"\",\n"
         "  \"recommended-stratum0\"  : \"\",\n"
         "  \"recommended-stratum1s\" : [],\n"
         "  \"custom\" : {}\n"
         "}\n";
}

}  // namespace

bytes encode_note(const nested_summary& s) {
  encoder e;
  e.u8(1);  // version of this note, should it ever change within a STATE
  auto total = s.total;
  for (auto* v : fields(total)) e.svarint(*v);
  e.varint(s.root_subdirs);
  return e.take();
}

nested_summary decode_note(byte_view b, const std::string& what) {
  decoder d(b, what);
  if (d.u8() != 1) d.bad("unknown version of a nested catalog's summary");
  nested_summary s;
  for (auto* v : fields(s.total)) *v = d.svarint();
  s.root_subdirs = d.varint();
  if (!d.done()) d.bad("bytes after a nested catalog's summary");
  return s;
}

cvmfs_writer::cvmfs_writer(key_set keys, algorithm alg, int level, bool zlib)
    : fqrn_(keys.fqrn), keys_(std::move(keys)), alg_(alg), level_{level, true}, zlib_(zlib) {
  if (level < 0 || level > (zlib ? 9 : 12))
    fail(errc::usage, "--level must be 0.." + std::string(zlib ? "9 for zlib" : "12") + ", not " + std::to_string(level));
  if (!keys_.repository)
    fail(errc::usage, "the CernVM-FS format needs the repository key " + fqrn_ + ".key to sign manifests");
  empty_ = object_hash(compress({}));
  cert_object_ = object_hash(compress(as_bytes(keys_.cert.pem()), object_kind::public_key));
  meta_object_ = object_hash(compress(*meta_info(), object_kind::meta_info));
}

bytes cvmfs_writer::compress(byte_view content) const {
  return zlib_ ? zlib_deflate(content, level_.level) : deflate_object(content, level_);
}

bytes cvmfs_writer::compress(byte_view content, object_kind k) const {
  if (k == object_kind::public_key || k == object_kind::meta_info) return zlib_deflate(content, zlib_default_level);
  return compress(content);
}

std::string cvmfs_writer::object_key(const hash256& h, object_kind k) const { return cvmfs::object_key(h, k, alg_); }

bytes cvmfs_writer::trust_anchor(const signing_key&) const {
  const std::string pem = keys().master_public.public_pem();
  return bytes(as_bytes(pem).begin(), as_bytes(pem).end());
}

std::unique_ptr<format_reader> cvmfs_writer::reader() const { return make_reader(alg_); }

catalog_params cvmfs_writer::params(const catalog& c, const catalog_context& ctx) const {
  if (ctx.nested_notes.size() != c.nested.size())
    fail(errc::usage, "catalog '/" + c.root_path + "': " + std::to_string(c.nested.size()) + " nested catalog(s) but " +
                          std::to_string(ctx.nested_notes.size()) + " summaries (the publisher must pass one each)");
  catalog_params p;
  p.alg = alg_;
  p.revision = ctx.revision;
  p.previous = ctx.previous;
  p.last_modified = ctx.timestamp;
  // The TTL belongs to the root catalog only (catalog_sql refuses it
  // elsewhere); the same value as the manifest's D.
  if (c.root_path.empty()) p.ttl = default_manifest_ttl;
  p.empty_object = empty_;
  p.nested.reserve(c.nested.size());
  for (std::size_t i = 0; i < c.nested.size(); ++i)
    p.nested.push_back(decode_note(ctx.nested_notes[i], "summary of nested catalog '/" + c.nested[i].path + "'"));
  return p;
}

bytes cvmfs_writer::encode_catalog(const catalog& c, const catalog_context& ctx) const {
  return cvmfs::encode_catalog(c, params(c, ctx));
}

bytes cvmfs_writer::catalog_note(const catalog& c, const catalog_context& ctx) const {
  return encode_note(summarize(c, params(c, ctx)));
}

std::optional<bytes> cvmfs_writer::restamp_root(byte_view root, const catalog_context& ctx) const {
  auto db = sqlite_db::edit_image(root, "root catalog of the rollback's target revision");
  db.properties();  // a CernVM-FS database: it has its properties table
  auto del = db.prepare("DELETE FROM properties WHERE key = ?");
  auto ins = db.prepare("INSERT INTO properties (key, value) VALUES (?, ?)");
  const std::pair<const char*, std::string> values[] = {
      {"revision", std::to_string(ctx.revision)},
      {"last_modified", std::to_string(ctx.timestamp)},
      {"previous_revision", to_text(ctx.previous.value_or(hash256{}), alg_)}};
  for (const auto& [k, v] : values) {
    del.bind_text(1, k).run();
    ins.bind_text(1, k).bind_text(2, v).run();
  }
  return db.serialize();
}

bytes cvmfs_writer::encode_history(const history& h) const {
  return cvmfs::encode_history(h, history_params{.fqrn = fqrn_, .alg = alg_, .previous = std::nullopt});
}

bytes cvmfs_writer::public_key_object(const signing_key&) const {
  const auto& pem = keys().cert.pem();
  return bytes(as_bytes(pem).begin(), as_bytes(pem).end());
}

bytes cvmfs_writer::encode_manifest(const stratum::manifest& m, const signing_key&,
                                    const std::vector<std::pair<std::string, bytes>>& side) const {
  if (!m.root_size)
    fail(errc::usage, "a CernVM-FS manifest needs the root catalog's size (B); the publisher must pass it");
  cvmfs::manifest out;
  out.root_catalog = {m.root, alg_};
  out.root_catalog_size = *m.root_size;
  out.revision = m.revision;
  out.fqrn = fqrn_;
  out.certificate = object_id{cert_object_, alg_};
  out.history = object_id{m.history, alg_};
  out.timestamp = m.timestamp > 0 ? static_cast<std::uint64_t>(m.timestamp) : 0;
  out.meta_info = object_id{meta_object_, alg_};
  out.garbage_collectable = m.garbage_collectable;
  for (const auto& [name, body] : side)
    if (name == reflog_file) out.reflog = object_id{digest(body, alg_), alg_};
  const auto text = cvmfs::encode_manifest(out, *keys().repository);
  return bytes(as_bytes(text).begin(), as_bytes(text).end());
}

std::optional<bytes> cvmfs_writer::meta_info() const {
  const std::string json = meta_info_json(fqrn_);
  return bytes(as_bytes(json).begin(), as_bytes(json).end());
}

std::vector<std::pair<std::string, bytes>> cvmfs_writer::side_files(const stratum::manifest& m, std::int64_t now,
                                                                     const std::vector<std::optional<bytes>>& kept) const {
  using namespace std::chrono;
  const sys_seconds t{seconds(now)};
  std::vector<std::pair<std::string, bytes>> out;
  // The whitelist: kept while it is ours and has 15 days left, so a longer
  // one signed with `stratum resign --days` is not shortened by a publish.
  bool renew = kept.empty() || !kept[0];
  if (!renew) try {
      const std::string doc(reinterpret_cast<const char*>(kept[0]->data()), kept[0]->size());
      const auto w = verify_whitelist(doc, fqrn_, std::span<const rsa_key>(&keys().master_public, 1), t);
      check_listed(w, keys().cert);
      renew = w.expires - t < default_whitelist_validity / 2;
    } catch (const std::exception& e) {
      if (!is(e, errc::corrupt)) throw;
      renew = true;
    }
  if (renew) out.emplace_back(whitelist_file, whitelist(t, default_whitelist_validity));
  out.emplace_back(master_replica_file, bytes());
  // The reflog: the store's, with this revision's objects added (a resumed
  // run adds the same hashes again, which replaces them: each hash once).
  reflog log{fqrn_, {}};
  if (kept.size() > 1 && kept[1]) log = decode_reflog(*kept[1], std::string("the store's ") + reflog_file, alg_);
  log.fqrn = fqrn_;
  log.refs.push_back({m.root, ref_kind::catalog, now});
  log.refs.push_back({m.history, ref_kind::history, now});
  log.refs.push_back({cert_object_, ref_kind::certificate, now});
  log.refs.push_back({meta_object_, ref_kind::meta_info, now});
  out.emplace_back(reflog_file, encode_reflog(log, alg_));
  return out;
}

namespace {
object_kind kind_of(ref_kind k) {
  switch (k) {
    case ref_kind::catalog: return object_kind::catalog;
    case ref_kind::certificate: return object_kind::public_key;
    case ref_kind::history: return object_kind::history;
    case ref_kind::meta_info: return object_kind::meta_info;
  }
  return object_kind::file;
}
}  // namespace

std::vector<revision_record> cvmfs_writer::logged_roots(const std::vector<std::optional<bytes>>& kept) const {
  std::vector<revision_record> out;
  if (kept.size() < 2 || !kept[1]) return out;
  for (const auto& r : decode_reflog(*kept[1], std::string("the store's ") + reflog_file, alg_).refs)
    if (r.kind == ref_kind::catalog) out.push_back({0, r.hash, r.timestamp, 0});
  return out;
}

std::vector<std::optional<bytes>> cvmfs_writer::without_logged(
    std::vector<std::optional<bytes>> kept, const std::function<bool(const hash256&, object_kind)>& gone) const {
  if (kept.size() < 2 || !kept[1]) return kept;
  reflog log = decode_reflog(*kept[1], std::string("the store's ") + reflog_file, alg_);
  std::erase_if(log.refs, [&](const reflog_entry& r) { return gone(r.hash, kind_of(r.kind)); });
  kept[1] = encode_reflog(log, alg_);
  return kept;
}

bytes cvmfs_writer::whitelist(std::chrono::sys_seconds now, std::chrono::seconds validity) const {
  const key_set& k = keys();
  if (!k.master) fail(errc::usage, "writing the whitelist of '" + fqrn_ + "' needs the master key " + fqrn_ + ".masterkey");
  const auto text = encode_whitelist(new_whitelist(fqrn_, k.cert, alg_, now, validity), *k.master);
  return bytes(as_bytes(text).begin(), as_bytes(text).end());
}

}  // namespace stratum::cvmfs
