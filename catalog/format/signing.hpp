// Ed25519 signing keys (OpenSSL 3). A repository's manifest is signed with the
// private key; the public key is stored as an object whose name is its hash
// (the key's fingerprint), which the manifest names.
// Thread: any; a signing_key may be shared (OpenSSL keys are immutable).
#pragma once

#include "io/io.hpp"
#include "io/sha256.hpp"

#include <memory>
#include <string>

namespace stratum {

class signing_key {
 public:
  static signing_key generate();
  // Reads a PKCS#8 PEM private key. Throws errc::usage naming the file.
  static signing_key load(const std::string& pem_path);
  // Writes DIR/stratum.key (private, mode 0600) and DIR/stratum.pub (public
  // PEM). Refuses to overwrite an existing key.
  void save(const std::string& dir) const;

  bytes sign(byte_view message) const;
  bytes public_raw() const;  // 32 bytes
  hash256 fingerprint() const { return sha256(public_raw()); }

 private:
  std::shared_ptr<void> pkey_;
};

// Verifies an Ed25519 signature with a raw 32-byte public key.
bool verify_signature(byte_view public_raw, byte_view message, byte_view signature);

// The last OpenSSL error as text (and the error queue cleared); for
// messages. Both formats' signing code uses it.
std::string openssl_error();

// Reads a public key PEM file into its raw 32 bytes. Throws errc::usage.
bytes load_public_key(const std::string& pem_path);

}  // namespace stratum
