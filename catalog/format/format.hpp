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

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace stratum {

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
  // The store key of an object.
  virtual std::string object_key(const hash256& h, object_kind k) const = 0;

  virtual bytes encode_catalog(const catalog& c) const = 0;
  virtual bytes encode_history(const history& h) const = 0;
  // The content of the object that lets readers verify the manifest; its
  // name (object_hash) is the key's fingerprint.
  virtual bytes public_key_object(const signing_key& key) const = 0;
  // The key under which the manifest is stored, and its signed bytes.
  virtual std::string manifest_key() const = 0;
  virtual bytes encode_manifest(const manifest& m, const signing_key& key) const = 0;
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

  // Parses the manifest's bytes; returns the manifest and what must be
  // verified: the signed part, the signature and the public key object it
  // names. Throws errc::corrupt naming `what`.
  virtual parsed_manifest parse_manifest(byte_view text, const std::string& what) const = 0;
  // Whether `key_object` (the public key object's content) signed `p`.
  virtual bool verify_manifest(const parsed_manifest& p, byte_view key_object) const = 0;
  // The exact content size of the public key object, so a hostile store
  // cannot make a reader inflate more than that before any check.
  virtual std::uint64_t public_key_size() const = 0;

  // Turns a stored object into its content, checked against its name:
  // inflates to exactly `size` bytes (or, without a size, in a stream that
  // stops as soon as it passes `limit`, so memory is bounded by the limit
  // and not by the object) and checks the hash. Throws errc::corrupt naming
  // the object.
  virtual bytes open_object(byte_view stored, const hash256& h, object_kind k, std::optional<std::uint64_t> size,
                            std::uint64_t limit) const = 0;

  virtual catalog decode_catalog(byte_view content, const std::string& what) const = 0;
  virtual history decode_history(byte_view content, const std::string& what) const = 0;
};

}  // namespace stratum
