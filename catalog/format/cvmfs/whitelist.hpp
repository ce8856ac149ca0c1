// `.cvmfswhitelist`: the master key's word that a repository certificate may
// sign the manifest of a repository, until a date (cvmfs/whitelist.cc,
// server/cvmfs_server_ssl.sh create_whitelist; docs/FORMAT-cvmfs.md):
//   YYYYMMDDHHMMSS     creation time, UTC
//   EYYYYMMDDHHMMSS    expiry, UTC (cvmfs_server: 30 days later)
//   N<fqrn>
//   <fingerprint>      one line per certificate: the hash of its DER form
//   --
//   <hash of the lines above>
//   <raw RSA PKCS#1 v1.5 signature of that hash text by the master key>
// Thread: any (pure functions).
#pragma once

#include "catalog/format/cvmfs/keys.hpp"

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stratum::cvmfs {

// cvmfs_server's default validity (create_whitelist, expire_days=30).
constexpr std::chrono::days default_whitelist_validity{30};

struct whitelist {
  std::chrono::sys_seconds created{};
  std::chrono::sys_seconds expires{};
  std::string fqrn;
  // Hashes of the DER certificates allowed to sign; the first one's
  // algorithm is also the hash algorithm of the signed text (cvmfs_server
  // uses CVMFS_HASH_ALGORITHM for both).
  std::vector<std::pair<hash256, algorithm>> fingerprints;
};

// A whitelist listing `cert` (its fingerprint made with `a`), from `now` to
// `now + validity`.
whitelist new_whitelist(std::string_view fqrn, const certificate& cert, algorithm a, std::chrono::sys_seconds now,
                        std::chrono::seconds validity = default_whitelist_validity);

// The signed file. `master` must hold the private master key. Throws
// errc::usage for a time outside the years 0-9999 or an invalid name.
std::string encode_whitelist(const whitelist& w, const rsa_key& master);

enum class expiry { enforce, ignore };

// Checks the text's hash and its signature against `masters` (a client
// trusts any of its configured master public keys), then the name, then the
// expiry, which counts to the hour as CernVM-FS clients count it: expired
// from the first second of E's hour. Every failure is errc::corrupt naming
// what is wrong; an expired whitelist says when and that `stratum resign`
// renews it. A whitelist asking for PKCS#7 or CA-chain checks is refused:
// stratum checks neither.
whitelist verify_whitelist(std::string_view doc, std::string_view fqrn, std::span<const rsa_key> masters,
                           std::chrono::sys_seconds now, expiry e = expiry::enforce);

// Throws errc::corrupt unless `cert`'s fingerprint is listed in `w`.
void check_listed(const whitelist& w, const certificate& cert);

// "YYYYMMDDHHMMSS" of a UTC time, and back (nullopt unless 14 digits forming
// a valid date and time).
std::string whitelist_time(std::chrono::sys_seconds t);
std::optional<std::chrono::sys_seconds> parse_whitelist_time(std::string_view s);

}  // namespace stratum::cvmfs
