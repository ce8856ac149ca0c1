// RSA keys and CernVM-FS's two signature schemes through OpenSSL 3 (rsa.hpp).
// Thread: any.
#include "catalog/format/cvmfs/rsa.hpp"

#include "async/error.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>

namespace stratum::cvmfs {
namespace {

struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
struct ctx_free {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, ctx_free>;
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

std::shared_ptr<void> own(EVP_PKEY* k) {
  return std::shared_ptr<void>(k, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}
EVP_PKEY* raw(const rsa_key& k) { return static_cast<EVP_PKEY*>(k.evp()); }

bio_ptr reader(std::string_view pem) {
  bio_ptr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!b) fail(errc::permanent, "OpenSSL: out of memory");
  return b;
}

std::string drain(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

bool is_rsa(EVP_PKEY* k) { return EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA; }

}  // namespace

rsa_key rsa_key::generate() {
  // 2048 bits: cvmfs_server's `openssl genrsa 2048` (server/cvmfs_server_ssl.sh).
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
  if (!k) fail(errc::permanent, "cannot generate an RSA key: " + openssl_error());
  rsa_key r;
  r.pkey_ = own(k);
  r.private_ = true;
  return r;
}

rsa_key rsa_key::read_pem(std::string_view pem, bool is_private, const std::string& what) {
  auto b = reader(pem);
  EVP_PKEY* k = is_private ? PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr)
                           : PEM_read_bio_PUBKEY(b.get(), nullptr, nullptr, nullptr);
  if (!k)
    fail(errc::usage, what + (is_private ? " is not a PEM private key (" : " is not a PEM public key ('BEGIN PUBLIC KEY'; ") +
                          openssl_error() + ")");
  rsa_key r;
  r.pkey_ = own(k);
  r.private_ = is_private;
  if (!is_rsa(k)) fail(errc::usage, what + " is not an RSA key; CernVM-FS signs with RSA only");
  return r;
}

rsa_key rsa_key::from_private_pem(std::string_view pem, const std::string& what) { return read_pem(pem, true, what); }
rsa_key rsa_key::from_public_pem(std::string_view pem, const std::string& what) { return read_pem(pem, false, what); }

rsa_key rsa_key::adopt(void* evp_pkey) {
  rsa_key r;
  r.pkey_ = own(static_cast<EVP_PKEY*>(evp_pkey));
  return r;
}

std::string rsa_key::private_pem() const {
  bio_ptr b(BIO_new(BIO_s_mem()));
  if (!b || !private_ ||
      PEM_write_bio_PrivateKey(b.get(), static_cast<EVP_PKEY*>(pkey_.get()), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail(errc::permanent, "cannot write an RSA private key as PEM: " + openssl_error());
  return drain(b.get());
}

std::string rsa_key::public_pem() const {
  bio_ptr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_PUBKEY(b.get(), static_cast<EVP_PKEY*>(pkey_.get())) != 1)
    fail(errc::permanent, "cannot write an RSA public key as PEM: " + openssl_error());
  return drain(b.get());
}

bool rsa_key::same_public(const rsa_key& other) const {
  const bool same = EVP_PKEY_eq(raw(*this), raw(other)) == 1;
  ERR_clear_error();
  return same;
}

std::size_t rsa_key::size_bytes() const { return static_cast<std::size_t>(EVP_PKEY_get_size(raw(*this))); }

bytes sign_raw(const rsa_key& key, byte_view message) {
  // No signature digest set: OpenSSL's RSA sign is then the bare private-key
  // operation on the PKCS#1 type-1 padded message (RSA_private_encrypt).
  ctx_ptr c(EVP_PKEY_CTX_new(raw(key), nullptr));
  bytes sig(key.size_bytes());
  std::size_t n = sig.size();
  if (!c || EVP_PKEY_sign_init(c.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(c.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_sign(c.get(), sig.data(), &n, message.data(), message.size()) != 1)
    fail(errc::permanent, "cannot sign with the master key: " + openssl_error());
  sig.resize(n);
  return sig;
}

bool verify_raw(const rsa_key& key, byte_view message, byte_view signature) {
  ctx_ptr c(EVP_PKEY_CTX_new(raw(key), nullptr));
  bytes out(key.size_bytes());
  std::size_t n = out.size();
  const bool opened = c && EVP_PKEY_verify_recover_init(c.get()) == 1 &&
                      EVP_PKEY_CTX_set_rsa_padding(c.get(), RSA_PKCS1_PADDING) == 1 &&
                      EVP_PKEY_verify_recover(c.get(), out.data(), &n, signature.data(), signature.size()) == 1;
  ERR_clear_error();
  return opened && n == message.size() && std::equal(message.begin(), message.end(), out.begin());
}

bytes sign_sha1(const rsa_key& key, byte_view message) {
  md_ctx_ptr c(EVP_MD_CTX_new());
  bytes sig(key.size_bytes());
  std::size_t n = sig.size();
  if (!c || EVP_DigestSignInit(c.get(), nullptr, EVP_sha1(), nullptr, raw(key)) != 1 ||
      EVP_DigestSign(c.get(), sig.data(), &n, message.data(), message.size()) != 1)
    fail(errc::permanent, "cannot sign with the repository key: " + openssl_error());
  sig.resize(n);
  return sig;
}

bool verify_sha1(const rsa_key& key, byte_view message, byte_view signature) {
  md_ctx_ptr c(EVP_MD_CTX_new());
  const bool ok = c && EVP_DigestVerifyInit(c.get(), nullptr, EVP_sha1(), nullptr, raw(key)) == 1 &&
                  EVP_DigestVerify(c.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace stratum::cvmfs
