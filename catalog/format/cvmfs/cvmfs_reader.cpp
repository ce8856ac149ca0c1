// The CernVM-FS format_reader (cvmfs_reader.hpp). Thread: any; immutable.
#include "catalog/format/cvmfs/cvmfs_reader.hpp"

#include "async/error.hpp"
#include "catalog/format/cvmfs/catalog_sql.hpp"
#include "catalog/format/cvmfs/cvmfs_format.hpp"
#include "catalog/format/cvmfs/history_sql.hpp"
#include "catalog/format/cvmfs/manifest.hpp"
#include "catalog/format/cvmfs/whitelist.hpp"
#include "io/compress.hpp"

namespace stratum::cvmfs {

std::string object_key(const hash256& h, object_kind k, algorithm a) {
  const std::string t = to_text(h, a);
  std::string key = "data/" + t.substr(0, 2) + "/" + t.substr(2);
  if (k != object_kind::file) key += static_cast<char>(k);
  return key;
}

namespace {

std::string_view text_of(byte_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// A certificate is ~1.1 KB of PEM; a few are allowed in one X object.
constexpr std::uint64_t certificate_max = 64 << 10;

class reader final : public format_reader {
 public:
  explicit reader(algorithm a) : alg_(a) {}

  std::string_view name() const override { return "cvmfs"; }
  bool keeps_mtime_nsec() const override { return false; }
  std::string manifest_key() const override { return manifest_file; }
  // cvmfs_server's manifests are ~700 bytes; CernVM-FS reads up to 128 KiB.
  std::size_t manifest_max_size() const override { return 64 << 10; }
  std::string object_key(const hash256& h, object_kind k) const override { return cvmfs::object_key(h, k, alg_); }
  std::string hash_text(const hash256& h) const override { return to_text(h, alg_); }

  parsed_manifest parse_manifest(byte_view text, const std::string& what) const override {
    const std::string doc(text_of(text));
    manifest m;
    try {
      m = cvmfs::parse_manifest(doc);
    } catch (const std::exception& e) {
      fail(errc::corrupt, what + ": " + e.what());
    }
    if (m.root_catalog.algo != alg_)
      fail(errc::corrupt, what + ": " + manifest_file + " names its root catalog with another hash algorithm than " + to_text(m.root_catalog));
    if (!m.certificate) fail(errc::corrupt, what + ": " + manifest_file + " names no certificate (X line); nothing can verify it");
    if (m.fqrn.empty()) fail(errc::corrupt, what + ": " + manifest_file + " names no repository (N line)");
    for (const auto* id : {&m.certificate, &m.history})
      if (*id && (*id)->algo != alg_)
        fail(errc::corrupt, what + ": " + manifest_file + " mixes hash algorithms (" + to_text(**id) + ")");
    parsed_manifest p;
    p.m.revision = m.revision;
    p.m.timestamp = static_cast<std::int64_t>(m.timestamp);
    p.m.root = m.root_catalog.digest;
    if (m.root_catalog_size) p.m.root_size = m.root_catalog_size;
    if (m.history) p.m.history = m.history->digest;
    p.m.public_key = m.certificate->digest;
    p.signed_part.assign(text.begin(), text.end());
    return p;
  }

  bool verify_manifest(const parsed_manifest& p, byte_view key_object) const override {
    try {
      auto cert = certificate::from_pem(text_of(key_object), "the certificate");
      const std::string doc(text_of(p.signed_part));
      cvmfs::verify_manifest(doc, cert, cvmfs::parse_manifest(doc).fqrn);
      return true;
    } catch (const std::exception& e) {
      if (!is(e, errc::corrupt) && !is(e, errc::usage)) throw;
      return false;
    }
  }
  std::uint64_t public_key_size() const override { return certificate_max; }
  bool public_key_size_exact() const override { return false; }

  std::vector<std::string> chain_files() const override { return {whitelist_file}; }
  bool anchor_required() const override { return true; }

  bytes vouch(const parsed_manifest& p, byte_view key_object, const std::vector<std::optional<bytes>>& files,
              byte_view anchor, bool ignore_expiry, std::int64_t now) const override {
    const std::string doc(text_of(p.signed_part));
    const std::string fqrn = cvmfs::parse_manifest(doc).fqrn;
    if (anchor.empty())
      fail(errc::corrupt, "repository '" + fqrn + "' is a CernVM-FS repository: it is verified with its master public key, "
                          "which its publisher gives out (" + fqrn + ".pub; a stratum publisher keeps it in STATE/keys). "
                          "Give it with --pubkey FILE; it is remembered after that");
    const auto master = rsa_key::from_public_pem(text_of(anchor), "the master public key given with --pubkey");
    if (files.empty() || !files.front())
      fail(errc::corrupt, "repository '" + fqrn + "' has no " + whitelist_file + ": nothing says which certificate may sign "
                          "its manifest. Its publisher writes one with every publish ('stratum resign' renews it)");
    const std::string wl(text_of(*files.front()));
    const whitelist w = verify_whitelist(wl, fqrn, std::span<const rsa_key>(&master, 1),
                                         std::chrono::sys_seconds(std::chrono::seconds(now)),
                                         ignore_expiry ? expiry::ignore : expiry::enforce);
    const auto cert = certificate::from_pem(text_of(key_object), "the certificate of '" + fqrn + "'");
    check_listed(w, cert);
    const std::string pem = master.public_pem();
    return bytes(as_bytes(pem).begin(), as_bytes(pem).end());
  }

  bytes open_object(byte_view stored, const hash256& h, object_kind k, std::optional<std::uint64_t> size,
                    std::uint64_t limit) const override {
    const std::string what = "object " + object_key(h, k);
    if (digest(stored, alg_) != h) fail(errc::corrupt, what + ": its bytes do not match its name");
    if (size) return inflate_object(stored, *size, what);
    return inflate_bounded(stored, limit, what);
  }

  catalog decode_catalog(byte_view content, const std::string& what) const override {
    return cvmfs::decode_catalog(content, what, alg_);
  }
  history decode_history(byte_view content, const std::string& what) const override {
    return read_history(content, what, alg_).tags;
  }

 private:
  algorithm alg_;
};

}  // namespace

std::unique_ptr<format_reader> make_reader(algorithm a) { return std::make_unique<reader>(a); }

std::unique_ptr<format_reader> reader_for(byte_view manifest_text, const std::string& what) {
  try {
    return make_reader(cvmfs::parse_manifest(text_of(manifest_text)).root_catalog.algo);
  } catch (const std::exception& e) {
    if (!is(e, errc::corrupt)) throw;
    fail(errc::corrupt, what + ": " + e.what());
  }
}

}  // namespace stratum::cvmfs
