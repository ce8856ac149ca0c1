// RSA keys and the two signature schemes of CernVM-FS (docs/FORMAT-cvmfs.md,
// "Keys, whitelist, manifest"), through OpenSSL 3:
//  - the whitelist is signed by the MASTER key with raw RSA PKCS#1 v1.5
//    (block type 1, no digest, no DigestInfo) over the hex hash text: what
//    RSA_private_encrypt or `openssl pkeyutl -sign` make;
//  - the manifest is signed by the REPOSITORY key with RSA PKCS#1 v1.5 over
//    the SHA-1 of the hex hash text (with the SHA-1 DigestInfo): what
//    EVP_SignInit(sha1) or `openssl dgst -sha1 -sign` make.
// OpenSSL's errors become stratum errors here and in keys.cpp only.
// Thread: any; an rsa_key may be shared (OpenSSL keys are immutable).
#pragma once

#include "catalog/format/signing.hpp"  // openssl_error
#include "io/io.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace stratum::cvmfs {

class rsa_key {
 public:
  // A new 2048-bit key with exponent 65537 (what `openssl genrsa 2048`, run by
  // cvmfs_server mkfs, makes).
  static rsa_key generate();
  // PEM text: a private key (PKCS#8 or PKCS#1) or a public key
  // (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY"). `what` names the source in
  // messages. Throws errc::usage when the text is not such an RSA key.
  static rsa_key from_private_pem(std::string_view pem, const std::string& what);
  static rsa_key from_public_pem(std::string_view pem, const std::string& what);
  // Takes ownership of an EVP_PKEY* (from a certificate).
  static rsa_key adopt(void* evp_pkey);

  bool has_private() const { return private_; }
  // PKCS#8 PEM ("BEGIN PRIVATE KEY"), as `openssl genrsa` writes it in OpenSSL 3.
  std::string private_pem() const;
  // SubjectPublicKeyInfo PEM, as `openssl rsa -pubout` writes it.
  std::string public_pem() const;
  // Same modulus and exponent: a private key and the public key or
  // certificate it is meant to go with.
  bool same_public(const rsa_key& other) const;
  std::size_t size_bytes() const;  // 256 for 2048 bits: the size of a signature

  void* evp() const { return pkey_.get(); }  // the EVP_PKEY*, for OpenSSL calls

 private:
  static rsa_key read_pem(std::string_view pem, bool is_private, const std::string& what);
  std::shared_ptr<void> pkey_;
  bool private_ = false;
};

// Raw PKCS#1 v1.5 signature (type 1 padding, no digest): the whitelist's.
// `message` must be shorter than size_bytes() - 11 (a hex hash is 40-49 bytes).
bytes sign_raw(const rsa_key& key, byte_view message);
// True when `signature` opens with `key` to exactly `message`.
bool verify_raw(const rsa_key& key, byte_view message, byte_view signature);

// PKCS#1 v1.5 signature of SHA-1(message) with DigestInfo: the manifest's.
bytes sign_sha1(const rsa_key& key, byte_view message);
bool verify_sha1(const rsa_key& key, byte_view message, byte_view signature);

}  // namespace stratum::cvmfs
