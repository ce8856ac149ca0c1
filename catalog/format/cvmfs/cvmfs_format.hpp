// The CernVM-FS repository format (docs/FORMAT-cvmfs.md) as a format_writer:
// the units of this folder behind the seam of catalog/format/format.hpp.
//
//   names:     the digest (sha1, rmd160 or shake128) of the STORED bytes —
//              names_by_content() is false, so compression must give the
//              same bytes for the same content every time, on every
//              machine: libdeflate at a fixed level (1 unless chosen at
//              --new), never igzip (whose output follows the CPU), one zlib
//              stream per object (io/compress.hpp; data that does not
//              shrink goes in stored blocks, still one zlib stream, which
//              every CernVM-FS reader inflates); the certificate and the
//              meta-info through zlib itself, as a Stratum 1 makes them.
//   keys:      data/XX/<38 hex><alg suffix><type letter>: no letter for a
//              file, P chunk, C catalog, H history, X certificate.
//   catalogs:  catalog_sql (SQLite, schema 2.5 revision 7); the revision,
//              time and replaced catalog come in catalog_context, the
//              counters of nested catalogs as their catalog_note().
//   history:   history_sql; manifest: `.cvmfspublished`, signed with the
//              repository key of the key set.
//
// Keys: the writer holds the repository's RSA key set (FQRN.key signs the
// manifest, FQRN.crt is the X object) from its construction; the Ed25519
// signing_key the interface passes is ignored. The manifest's public_key,
// root_size and expires fields of the native model do not map one to one:
// X is the digest of the stored certificate (computed here), B is
// root_size (required), and CernVM-FS's expiry lives in the whitelist, not
// the manifest (whitelist(), below).
// Thread: any (immutable after construction).
#pragma once

#include "catalog/format/cvmfs/catalog_sql.hpp"
#include "catalog/format/cvmfs/keys.hpp"
#include "catalog/format/cvmfs/manifest.hpp"
#include "catalog/format/format.hpp"
#include "io/compress.hpp"

#include <chrono>

namespace stratum::cvmfs {

// The store keys of the fixed files of a CernVM-FS repository.
constexpr const char* manifest_file = ".cvmfspublished";
constexpr const char* whitelist_file = ".cvmfswhitelist";
// Empty; `cvmfs_swissknife pull` (a Stratum 1's replication) wants it.
constexpr const char* master_replica_file = ".cvmfs_master_replica";
// The reflog: every root catalog, history, certificate and meta-info the
// repository has published (SQLite, uncompressed; reflog_sql.hpp).
constexpr const char* reflog_file = ".cvmfsreflog";

class cvmfs_writer final : public format_writer {
 public:
  // `keys` must hold the repository private key (key_parts::repository).
  // `level`: libdeflate's compression level (0 stored .. 12), fixed for a
  // repository so that names stay the same (STATE/settings keeps it).
  // `zlib`: compress with zlib itself at `level` (0..9) instead, as
  // cvmfs_server does (level 6): a repository it wrote names its objects by
  // zlib's bytes, and only the same compressor finds them again
  // (stratum import chooses it when it reproduces a stored object).
  cvmfs_writer(key_set keys, algorithm alg, int level = default_level, bool zlib = false);
  // Level 1: the Linux tree stores 18% more bytes than at level 6 but
  // publishes 2.4x faster (bench/README.md, session 11).
  static constexpr int default_level = 1;

  std::string_view name() const override { return "cvmfs"; }
  bool names_by_content() const override { return false; }
  std::string_view nested_marker() const override { return ".cvmfscatalog"; }
  std::string_view dirtab_name() const override { return ".cvmfsdirtab"; }
  std::string hash_text(const hash256& h) const override { return to_text(h, alg_); }
  std::vector<std::string_view> made_markers(bool automatic) const override {
    if (automatic) return {".cvmfsautocatalog", ".cvmfscatalog"};
    return {".cvmfscatalog"};
  }
  bool catalogs_carry_revision() const override { return true; }
  hash256 object_hash(byte_view stored) const override { return digest(stored, alg_); }
  bytes compress(byte_view content) const override;
  // The certificate and the meta-info through zlib itself: `cvmfs_swissknife
  // pull` (a Stratum 1's replication) compresses those two again with zlib
  // and stores them under the same name, so their bytes must be zlib's.
  bytes compress(byte_view content, object_kind k) const override;
  std::string object_key(const hash256& h, object_kind k) const override;

  bytes encode_catalog(const catalog& c, const catalog_context& ctx) const override;
  bytes catalog_note(const catalog& c, const catalog_context& ctx) const override;
  // The stored root catalog with its properties revision, last_modified and
  // previous_revision set (CommandRollbackTag: SetRevision,
  // UpdateLastModified, SetPreviousRevision); nothing else changes.
  std::optional<bytes> restamp_root(byte_view root, const catalog_context& ctx) const override;
  bytes encode_history(const history& h) const override;
  bytes public_key_object(const signing_key&) const override;
  std::string manifest_key() const override { return manifest_file; }
  // The empty content (empty_object()).
  std::vector<bytes> implicit_objects() const override { return {bytes()}; }
  // The meta-info object (JSON, as cvmfs_server's `update-repoinfo` keeps it).
  std::optional<bytes> meta_info() const override;
  // The whitelist and the reflog as the store has them.
  std::vector<std::string> kept_files() const override { return {whitelist_file, reflog_file}; }
  // `.cvmfswhitelist` when the store's is missing, not ours or expires within
  // 15 days (valid for cvmfs_server's 30 days from `now`), an empty
  // `.cvmfs_master_replica`, and `.cvmfsreflog`: the store's with the new
  // root catalog, history, certificate and meta-info added.
  std::vector<std::pair<std::string, bytes>> side_files(const stratum::manifest& m, std::int64_t now,
                                                        const std::vector<std::optional<bytes>>& kept) const override;
  // The reflog's root catalogs (kept[1]; their sizes unknown: 0).
  std::vector<revision_record> logged_roots(const std::vector<std::optional<bytes>>& kept) const override;
  // The reflog (kept[1]) without the rows of objects `gone` says were deleted.
  std::vector<std::optional<bytes>> without_logged(
      std::vector<std::optional<bytes>> kept, const std::function<bool(const hash256&, object_kind)>& gone) const override;
  // The manifest with M (meta-info) and Y (the reflog in `side`, if any).
  bytes encode_manifest(const stratum::manifest& m, const signing_key&,
                        const std::vector<std::pair<std::string, bytes>>& side) const override;

  // The master public key (canonical PEM): what readers of this repository trust.
  bytes trust_anchor(const signing_key&) const override;
  std::unique_ptr<format_reader> reader() const override;

  algorithm alg() const { return alg_; }
  const key_set& keys() const { return keys_; }
  // The object name of an empty regular file's content: CernVM-FS catalogs
  // give every unchunked file a hash, so the publisher stores this object
  // (compress of no bytes) whenever the tree has an empty file.
  const hash256& empty_object() const { return empty_; }
  // The name of the certificate object (the manifest's X).
  const hash256& certificate_object() const { return cert_object_; }
  // `.cvmfswhitelist` listing this key set's certificate from `now` for
  // `validity`, signed with the master key (which `keys` must then hold).
  bytes whitelist(std::chrono::sys_seconds now, std::chrono::seconds validity) const;

 private:
  catalog_params params(const catalog& c, const catalog_context& ctx) const;

  std::string fqrn_;
  key_set keys_;
  algorithm alg_;
  compression level_;
  bool zlib_ = false;
  hash256 empty_;
  hash256 cert_object_;
  hash256 meta_object_;
};

// The per-nested-catalog note (a nested_summary) as bytes, and back;
// decode throws errc::corrupt naming `what`.
bytes encode_note(const nested_summary& s);
nested_summary decode_note(byte_view b, const std::string& what);

}  // namespace stratum::cvmfs
