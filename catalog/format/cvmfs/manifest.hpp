// `.cvmfspublished`: a CernVM-FS repository's signed manifest (cvmfs/
// manifest.cc, swissknife sign / signing_tool.cc; docs/FORMAT-cvmfs.md).
// One line per field, "<letter><value>", in the order CernVM-FS 2.12 writes:
//   C root catalog hash     B root catalog size (uncompressed bytes)
//   R md5 of the root path  D TTL (seconds)          S revision
//   G garbage-collectable   A alternative path (yes/no)
//   L micro catalog         N repository name        X certificate hash
//   H history hash          T publish time (unix s)  M meta-info hash
//   Y reflog hash
// (L, N, X, H, M, Y only when set; T only when > 0), then "--", the hash
// of that text with the root catalog's algorithm, and the repository key's
// signature: RSA PKCS#1 v1.5 over SHA-1 of the hash line's text.
// Thread: any (pure functions).
#pragma once

#include "catalog/format/cvmfs/whitelist.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stratum::cvmfs {

// A content hash with its algorithm, as the manifest names objects (the
// type suffix letter is not written there).
struct object_id {
  hash256 digest;
  algorithm algo = algorithm::sha1;
  bool operator==(const object_id&) const = default;
};
inline std::string to_text(const object_id& id) { return to_text(id.digest, id.algo); }

// The default TTL (catalog::Catalog::kDefaultTTL): how long clients keep a
// manifest before they look for a new one.
constexpr std::uint32_t default_manifest_ttl = 240;

struct manifest {
  object_id root_catalog;                   // C
  std::uint64_t root_catalog_size = 0;      // B
  // R is always md5("") — the root path — and not a field here: encode
  // writes it, parse requires it.
  std::uint32_t ttl = default_manifest_ttl;  // D
  std::uint64_t revision = 0;               // S
  bool garbage_collectable = false;         // G
  bool alternative_path = false;            // A
  std::optional<object_id> micro_catalog;   // L (unused by 2.12's tools; kept to round-trip)
  std::string fqrn;                         // N
  std::optional<object_id> certificate;     // X
  std::optional<object_id> history;         // H
  std::uint64_t timestamp = 0;              // T
  std::optional<object_id> meta_info;       // M
  std::optional<object_id> reflog;          // Y: hash of the uncompressed .cvmfsreflog
  bool operator==(const manifest&) const = default;
};

// The text before "--", byte for byte as Manifest::ExportString makes it.
std::string manifest_text(const manifest& m);
// The signed file. `repository_key` must hold the private repository key.
std::string encode_manifest(const manifest& m, const rsa_key& repository_key);

// Reads the fields and checks the text against its hash; checks NO signature.
// For learning the certificate's hash (X) before fetching the certificate.
// errc::corrupt for a missing C, R, D or S, a wrong R, a malformed value or
// a text that does not match its hash.
manifest parse_manifest(std::string_view doc);

// parse_manifest + the signature checked with `cert`'s public key + N equal
// to `fqrn`. errc::corrupt otherwise.
manifest verify_manifest(std::string_view doc, const certificate& cert, std::string_view fqrn);
// The same, after checking that `cert` is listed in `w` (verified by
// verify_whitelist): master key -> whitelist -> certificate -> manifest.
manifest verify_manifest(std::string_view doc, const certificate& cert, const whitelist& w);

}  // namespace stratum::cvmfs
