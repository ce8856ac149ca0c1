// The manifest `.stratumpublished`: the one mutable object of a repository,
// written last by a publish. A small signed text (see docs/FORMAT.md).
// Thread: any (pure functions).
#pragma once

#include "catalog/format/signing.hpp"

#include <optional>
#include <string>

namespace stratum {

constexpr const char* manifest_key = ".stratumpublished";
// A reader reads at most this much of a manifest (a manifest is ~500 bytes):
// a store cannot make it read a 3 GiB one whole. docs/FORMAT.md.
constexpr std::size_t manifest_max_size = std::size_t(64) << 10;

struct manifest {
  std::uint64_t revision = 0;
  std::int64_t timestamp = 0;  // seconds since the epoch, UTC
  hash256 root;                // root catalog
  hash256 history;             // history object
  hash256 public_key;          // fingerprint: hash of the public key object
  // Content (inflated) sizes of the root catalog and the history, so a
  // reader inflates exactly that much; absent in manifests written before
  // they were recorded (readers then inflate under a limit).
  std::optional<std::uint64_t> root_size;
  std::optional<std::uint64_t> history_size;
  // Seconds since the epoch after which readers refuse the manifest (0:
  // never). Bounds how long an old manifest can be replayed to a reader
  // that has not seen a newer one (docs/SECURITY.md); `stratum resign`
  // renews it.
  std::int64_t expires = 0;
  // Old revisions may be gone: `stratum gc` has collected (or may collect)
  // this repository, as CernVM-FS's `G` says. A reader of an old revision
  // whose objects are missing says so instead of calling it damage.
  bool garbage_collectable = false;
  // The meta-info object a CernVM-FS manifest names (`M`); none in stratum's
  // own format. gc keeps it.
  std::optional<hash256> meta_info;
};

// The signed text of `m`.
bytes encode_manifest(const manifest& m, const signing_key& key);

struct parsed_manifest {
  manifest m;
  bytes signed_part;
  bytes signature;
};
// Parses without verifying (the caller fetches the public key it names).
// Throws errc::corrupt naming the store on anything malformed.
parsed_manifest parse_manifest(byte_view text, const std::string& what);

}  // namespace stratum
