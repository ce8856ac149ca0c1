// The repository-format seam. A format decides what a repository's bytes and
// names are; everything else — the walk, reads, compression scheduling, the
// store, the journal, the read commands' tree logic — is shared.
//
//   format_writer: what the publisher (catalog/publish/) calls to name and
//     encode objects, catalogs, the history and the signed manifest.
//   format_reader: what the read side (catalog/read/repository) calls to
//     open a revision and turn stored objects back into verified content.
//
// stratum's own format (native_format.hpp, docs/FORMAT.md) is the first
// implementation. A format that names objects by the hash of their stored
// (compressed) bytes, as CernVM-FS does, says so with names_by_content():
// the publisher then compresses before it looks the name up. That is the only
// place where a pipeline stage depends on the format.
//
// Threads: both interfaces are immutable after construction; every method is
// const and may be called from any thread at once (the CPU pool calls them).
#pragma once

#include "catalog/format/catalog.hpp"
#include "catalog/format/history.hpp"
#include "catalog/format/manifest.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stratum {

// What a catalog's bytes may depend on besides its tree. stratum's own
// format ignores it all (its catalogs are the tree alone, so an unchanged
// subtree keeps its name across revisions). CernVM-FS's catalogs carry a
// revision, a time, the catalog they replace, and counters of their nested
// catalogs that the parent cannot recount from its own rows: the publisher
// keeps catalog_note() of each nested catalog and passes it to the parent.
struct catalog_context {
  std::uint64_t revision = 0;       // the revision being published
  std::int64_t timestamp = 0;       // its publish time, unix seconds
  std::optional<hash256> previous;  // this catalog's object in the previous revision, if known
  std::vector<bytes> nested_notes;  // one per catalog::nested, in its order: catalog_note() of each
};

class format_reader;

class format_writer {
 public:
  virtual ~format_writer() = default;

  // The format's name, as the command line and STATE record it ("stratum").
  virtual std::string_view name() const = 0;

  // true: an object is named by the hash of its content before compression,
  // so a known object is recognised before it is compressed. false: by the
  // hash of the bytes stored (compression must then be deterministic).
  virtual bool names_by_content() const = 0;
  // The name of an object: the hash of its content or of its stored bytes
  // (names_by_content()).
  virtual hash256 object_hash(byte_view b) const = 0;
  // The bytes stored for `content` (compressed, or raw when that is smaller).
  virtual bytes compress(byte_view content) const = 0;
  // The same for an object of kind `k`: a format may compress some kinds
  // otherwise (CernVM-FS: the certificate and meta-info as zlib itself does).
  virtual bytes compress(byte_view content, object_kind k) const {
    (void)k;
    return compress(content);
  }
  // The store key of an object.
  virtual std::string object_key(const hash256& h, object_kind k) const = 0;

  // The file whose presence in a directory starts a nested catalog there
  // (".stratumcatalog"; CernVM-FS's ".cvmfscatalog").
  virtual std::string_view nested_marker() const { return ".stratumcatalog"; }
  // The file at the source root that holds the dirtab (catalog/publish/
  // dirtab.hpp): ".stratumdirtab"; CernVM-FS's ".cvmfsdirtab".
  virtual std::string_view dirtab_name() const { return ".stratumdirtab"; }
  // Empty files the publisher adds to a directory that roots a catalog by a
  // dirtab rule or by --autocatalogs (`automatic`), where the source has no
  // marker (CernVM-FS: ".cvmfscatalog", and ".cvmfsautocatalog" for an
  // automatic one, as cvmfs_server writes them); none for stratum's own
  // format, whose layout is the journal's business.
  virtual std::vector<std::string_view> made_markers(bool automatic) const {
    (void)automatic;
    return {};
  }
  // true when a catalog's bytes depend on the revision (CernVM-FS), so an
  // unchanged subtree would get a new catalog each revision: the publisher
  // then keeps an unchanged nested catalog as it was (catalog_builder).
  virtual bool catalogs_carry_revision() const { return false; }
  virtual bytes encode_catalog(const catalog& c, const catalog_context& ctx) const = 0;
  // A rollback makes an earlier revision's tree current as a new revision
  // (catalog/publish/rollback.hpp). A format whose catalogs carry the
  // revision returns the content of that revision's root catalog, `root`,
  // with ctx's revision, time and previous catalog written into it, as
  // cvmfs_server's rollback does (nested catalogs stay as they are);
  // nullopt: the root catalog is reused as it is (stratum's own format).
  virtual std::optional<bytes> restamp_root(byte_view root, const catalog_context& ctx) const {
    (void)root, (void)ctx;
    return std::nullopt;
  }
  // What the parent's encode_catalog needs of nested catalog `c` (opaque to
  // the publisher, which keeps it with the catalog's record; empty for a
  // format that needs nothing). Same ctx as for encoding `c`.
  virtual bytes catalog_note(const catalog& c, const catalog_context& ctx) const = 0;
  virtual bytes encode_history(const history& h) const = 0;
  // The content of the object that lets readers verify the manifest; its
  // name (object_hash) is the key's fingerprint.
  // `key` is the publisher's Ed25519 key. A format with keys of its own
  // (CernVM-FS: an RSA key set, cvmfs_format.hpp) holds them from its
  // construction and ignores `key` here and in encode_manifest: that kept
  // the interface to one signature for both formats.
  virtual bytes public_key_object(const signing_key& key) const = 0;
  // How the format writes an object's name in text (CernVM-FS: hex of its
  // digest, with the algorithm's suffix), for what the publisher reports.
  virtual std::string hash_text(const hash256& h) const { return h.hex(); }
  // The key under which the manifest is stored, and its signed bytes.
  // `side`: the files side_files() made for it, which a format's manifest
  // may name (CernVM-FS: the reflog's hash); stratum's own ignores them.
  virtual std::string manifest_key() const = 0;
  virtual bytes encode_manifest(const manifest& m, const signing_key& key,
                                const std::vector<std::pair<std::string, bytes>>& side) const = 0;

  // Contents of objects the catalogs may name with no file carrying them
  // (CernVM-FS: the empty content, which every empty file names); the
  // publisher stores each as an object_kind::file before the catalogs.
  virtual std::vector<bytes> implicit_objects() const = 0;
  // The content of the repository's meta-info object (object_kind::
  // meta_info; CernVM-FS's `M`), which the publisher stores with the files;
  // none for stratum's own format.
  virtual std::optional<bytes> meta_info() const { return std::nullopt; }
  // Fixed files (store key, bytes) the publisher writes before the manifest
  // (CernVM-FS: the whitelist when it is missing or near its expiry, the
  // master replica marker, the reflog); none for stratum's own format.
  // `kept` holds what the store has now of each of kept_files() (nullopt:
  // missing), which the publisher reads first; `m` is the manifest about to
  // be written.
  virtual std::vector<std::string> kept_files() const { return {}; }
  virtual std::vector<std::pair<std::string, bytes>> side_files(const manifest& m, std::int64_t now,
                                                                const std::vector<std::optional<bytes>>& kept) const = 0;
  // Garbage collection (catalog/gc/). The root catalogs the repository's
  // log names, with when each was published, given what the store has of
  // kept_files() (CernVM-FS: the reflog's catalogs; its history keeps only
  // tags, so this is how gc finds the untagged revisions it must keep). None
  // for stratum's own format, whose history lists every revision.
  virtual std::vector<revision_record> logged_roots(const std::vector<std::optional<bytes>>& kept) const {
    (void)kept;
    return {};
  }
  // `kept` without the log's entries of objects `gone` says were deleted,
  // for side_files() after a collection (CernVM-FS: the reflog's rows).
  virtual std::vector<std::optional<bytes>> without_logged(
      std::vector<std::optional<bytes>> kept, const std::function<bool(const hash256&, object_kind)>& gone) const {
    (void)gone;
    return kept;
  }

  // The key a reader of this publisher's repository trusts (format_reader::
  // vouch's anchor): stratum's own format, the Ed25519 public key;
  // CernVM-FS, the master public key. The publisher pins it when it reads
  // its previous revision.
  virtual bytes trust_anchor(const signing_key& key) const = 0;
  // The reader of the repositories this writer writes.
  virtual std::unique_ptr<format_reader> reader() const = 0;
};

// What opening a repository yields: the verified manifest of its current
// revision and its history.
struct opened_revision {
  manifest head;
  history hist;
};

class format_reader {
 public:
  virtual ~format_reader() = default;
  virtual std::string_view name() const = 0;
  virtual std::string manifest_key() const = 0;
  // The most bytes of a manifest a reader reads; a larger one is refused.
  virtual std::size_t manifest_max_size() const = 0;
  virtual std::string object_key(const hash256& h, object_kind k) const = 0;
  // An object name as the format writes it in text (hex; CernVM-FS: hex of
  // its 20 bytes and the algorithm's suffix).
  virtual std::string hash_text(const hash256& h) const { return h.hex(); }

  // Parses the manifest's bytes; returns the manifest and what must be
  // verified: the signed part, the signature and the public key object it
  // names. Throws errc::corrupt naming `what`.
  virtual parsed_manifest parse_manifest(byte_view text, const std::string& what) const = 0;
  // Whether `key_object` (the public key object's content) signed `p`.
  virtual bool verify_manifest(const parsed_manifest& p, byte_view key_object) const = 0;
  // The content size of the public key object, so a hostile store cannot
  // make a reader inflate more than that before any check: exact, or (when
  // public_key_size_exact() is false: a CernVM-FS certificate) at most.
  virtual std::uint64_t public_key_size() const = 0;
  virtual bool public_key_size_exact() const { return true; }

  // The chain from the key a reader trusts — the anchor: pinned with
  // --pubkey or recorded on first use (catalog/read/trust.hpp) — to the key
  // that signed the manifest. stratum's own format: the manifest's key is
  // the anchor, so a first read can learn it. CernVM-FS: the master key
  // signs the whitelist, which lists the certificate that signed the
  // manifest; a reader must have the anchor beforehand (anchor_required()).
  //
  // Fixed files the chain needs besides the manifest (".cvmfswhitelist"),
  // each read up to manifest_max_size() bytes.
  virtual std::vector<std::string> chain_files() const { return {}; }
  virtual bool anchor_required() const { return false; }
  // Checks that `anchor` (empty: none known yet) vouches for the verified
  // manifest `p` signed with `key_object`, through `files` (the content of
  // chain_files(), nullopt for one that is missing), at time `now`; a chain
  // past its expiry is refused unless `ignore_expiry`. Returns the anchor
  // in its canonical form, whose SHA-256 the trust record keeps. Throws
  // errc::corrupt saying which link fails and what to do.
  virtual bytes vouch(const parsed_manifest& p, byte_view key_object, const std::vector<std::optional<bytes>>& files,
                      byte_view anchor, bool ignore_expiry, std::int64_t now) const {
    (void)p, (void)files, (void)anchor, (void)ignore_expiry, (void)now;
    return bytes(key_object.begin(), key_object.end());
  }

  // Turns a stored object into its content, checked against its name:
  // inflates to exactly `size` bytes (or, without a size, in a stream that
  // stops as soon as it passes `limit`, so memory is bounded by the limit
  // and not by the object) and checks the hash. Throws errc::corrupt naming
  // the object.
  virtual bytes open_object(byte_view stored, const hash256& h, object_kind k, std::optional<std::uint64_t> size,
                            std::uint64_t limit) const = 0;

  virtual catalog decode_catalog(byte_view content, const std::string& what) const = 0;
  // Whether the catalogs keep every mtime to the nanosecond (stratum's own);
  // false when they may keep seconds only (CernVM-FS: cvmfs_server leaves
  // `mtimens` empty unless asked), so an mtime there cannot tell two
  // versions of a file written in the same second apart.
  virtual bool keeps_mtime_nsec() const { return true; }
  virtual history decode_history(byte_view content, const std::string& what) const = 0;
};

}  // namespace stratum
