// The key set of a CernVM-FS repository, as cvmfs_server mkfs makes it
// (server/cvmfs_server_ssl.sh; docs/FORMAT-cvmfs.md, "Keys, whitelist,
// manifest"), in one directory:
//   FQRN.masterkey  master private key (RSA 2048), signs the whitelist  0400
//   FQRN.pub        master public key, what clients trust               0444
//   FQRN.key        repository private key (RSA 2048), signs manifests  0400
//   FQRN.crt        self-signed X.509 certificate of FQRN.key           0444
// The certificate is published as the `X` object (its PEM bytes) and listed
// in the whitelist by its fingerprint (the hash of its DER form).
// Thread: any; the types are immutable once made.
#pragma once

#include "catalog/format/cvmfs/digest.hpp"
#include "catalog/format/cvmfs/rsa.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace stratum::cvmfs {

// What cvmfs_server accepts as a repository name (is_valid_repo_name):
// 1 to 60 characters, the first a letter or digit, the others letters,
// digits, '_', '.' or '-'. Throws errc::usage saying so.
void check_fqrn(std::string_view fqrn);

class certificate {
 public:
  // Self-signed like cvmfs_server's `openssl req -subj "/CN=..."` + `x509 -req
  // -days 365 -signkey`: version 1, random serial, sha256WithRSAEncryption,
  // subject = issuer = CN "<fqrn, cut to 30 characters + '[...]'> CernVM-FS
  // Release Managers", valid from now for 365 days (clients ignore the range).
  static certificate self_signed(std::string_view fqrn, const rsa_key& key);
  // The first PEM certificate in `pem` (a .crt file or an X object's content).
  // Throws errc::corrupt naming `what` when there is none.
  static certificate from_pem(std::string_view pem, const std::string& what);

  // The bytes it was read from (or PEM_write_X509's text for a new one): the
  // content of the X object, so a loaded .crt publishes unchanged.
  const std::string& pem() const { return pem_; }
  bytes der() const;
  // The hash of the DER form: what whitelists list and clients compare.
  hash256 hash(algorithm a) const;
  // That hash as the whitelist writes it: uppercase hex pairs joined by ':',
  // then the algorithm's suffix in uppercase ("...:2C:93", "...:2C:93-SHAKE128").
  std::string fingerprint(algorithm a) const;
  std::string subject() const;  // "CN = ..." (for messages)
  const rsa_key& public_key() const { return key_; }

 private:
  std::shared_ptr<void> x509_;
  std::string pem_;
  rsa_key key_;
};

// Fingerprint text of any 20-byte digest (certificate::fingerprint's form).
std::string fingerprint_text(const hash256& h, algorithm a);
// Reads a whitelist fingerprint line as CernVM-FS does: text after a space,
// tab or '#' is ignored, ':' are dropped, case is ignored. nullopt when the
// rest is no hash.
std::optional<std::pair<hash256, algorithm>> parse_fingerprint(std::string_view line);

// Which private keys key_set::load needs. The public files (.pub, .crt) are
// always needed: they are what a whitelist and a manifest are checked with.
enum class key_parts : unsigned {
  public_only = 0,
  master = 1,      // FQRN.masterkey: to sign a whitelist (stratum resign)
  repository = 2,  // FQRN.key: to sign a manifest (publish)
  all = 3,
};

struct key_set {
  std::string fqrn;
  std::optional<rsa_key> master;      // FQRN.masterkey
  rsa_key master_public;              // FQRN.pub
  std::optional<rsa_key> repository;  // FQRN.key
  certificate cert;                   // FQRN.crt

  // New keys and certificate for `fqrn` (checked with check_fqrn).
  static key_set generate(std::string_view fqrn);
  // Reads DIR/FQRN.*. A missing or unreadable file needed by `parts` is
  // errc::usage naming the file; so is a private key that does not match its
  // public key or certificate.
  static key_set load(const std::string& dir, std::string_view fqrn, key_parts parts = key_parts::all);
  // Writes the four files (those present) with cvmfs_server's modes, 0400 for
  // private keys and 0444 for the rest, creating DIR (0700) if needed.
  // Refuses (errc::usage) when any of them exists: keys are never overwritten.
  void save(const std::string& dir) const;
};

}  // namespace stratum::cvmfs
