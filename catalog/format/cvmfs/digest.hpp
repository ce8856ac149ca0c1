// CernVM-FS content hashes (docs/FORMAT-cvmfs.md): SHA-1 (CernVM-FS's
// default), RIPEMD-160 and SHAKE-128 cut to 160 bits — all 20-byte digests,
// written as 40 lowercase hex digits followed by the algorithm's suffix
// ("", "-rmd160", "-shake128"). In stratum's pipeline a digest travels in a
// hash256 (the type every stage, the journal and the catalogs carry):
// left-aligned, the remaining 12 bytes zero. Only this format reads or
// writes those 20 bytes; a hash256 never mixes the two meanings because a
// repository has one format. Thread: any (pure functions, OpenSSL EVP).
#pragma once

#include "io/sha256.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace stratum::cvmfs {

enum class algorithm : std::uint8_t { sha1 = 1, rmd160 = 2, shake128 = 3 };  // CernVM-FS's enum values (md5 is 0)

constexpr std::size_t digest_size = 20;

// "sha1", "rmd160", "shake128": the names of --hash and CVMFS_HASH_ALGORITHM.
std::optional<algorithm> algorithm_named(std::string_view name);
std::string_view algorithm_name(algorithm a);
// The suffix after the hex digits: "" for sha1, "-rmd160", "-shake128".
std::string_view algorithm_suffix(algorithm a);

// The digest of `data`, left-aligned in a hash256.
hash256 digest(byte_view data, algorithm a);

// Incremental form, for data that arrives in pieces.
class digest_stream {
 public:
  explicit digest_stream(algorithm a);
  ~digest_stream();
  digest_stream(const digest_stream&) = delete;
  digest_stream& operator=(const digest_stream&) = delete;
  void update(byte_view data);
  hash256 finish();

 private:
  algorithm a_;
  void* ctx_;
};

// "<40 hex><suffix>", as object names and the manifest write a hash.
std::string to_text(const hash256& h, algorithm a);
// Parses to_text's form (lowercase or uppercase hex; the suffix must match
// the algorithm it names). nullopt on anything else.
std::optional<std::pair<hash256, algorithm>> from_text(std::string_view s);

// MD5 of a path, as CernVM-FS keys catalog rows (md5path_1/2, parent_1/2):
// the 16 bytes read as two little-endian signed 64-bit integers.
struct path_hash {
  std::int64_t first = 0, second = 0;
  auto operator<=>(const path_hash&) const = default;
};
// `path` as CernVM-FS writes it: "" for the root, else "/a/b".
path_hash md5_path(std::string_view path);

}  // namespace stratum::cvmfs
