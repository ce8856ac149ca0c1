// Ed25519 keys through OpenSSL (signing.hpp); OpenSSL errors are turned into
// stratum errors here and nowhere else. Thread: any.
#include "catalog/format/signing.hpp"

#include "async/error.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stratum {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

namespace {

EVP_PKEY* raw(const std::shared_ptr<void>& p) { return static_cast<EVP_PKEY*>(p.get()); }
std::shared_ptr<void> own(EVP_PKEY* k) { return std::shared_ptr<void>(k, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); }); }

struct file_closer {
  void operator()(FILE* f) const { std::fclose(f); }
};

}  // namespace

signing_key signing_key::generate() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!k) fail(errc::permanent, "cannot generate an Ed25519 key: " + openssl_error());
  signing_key s;
  s.pkey_ = own(k);
  return s;
}

signing_key signing_key::load(const std::string& path) {
  std::unique_ptr<FILE, file_closer> f(std::fopen(path.c_str(), "r"));
  if (!f) fail(errc::usage, "cannot open signing key '" + path + "': " + std::strerror(errno));
  EVP_PKEY* k = PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr);
  if (!k) fail(errc::usage, "'" + path + "' is not a PEM private key: " + openssl_error());
  if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(k);
    fail(errc::usage, "'" + path + "' is not an Ed25519 key (make one with 'stratum keygen DIR')");
  }
  signing_key s;
  s.pkey_ = own(k);
  return s;
}

void signing_key::save(const std::string& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(errc::usage, "cannot create key directory '" + dir + "': " + ec.message());
  auto write = [&](const std::string& name, mode_t mode, bool priv) {
    std::string path = dir + "/" + name;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
      if (errno == EEXIST) fail(errc::usage, "'" + path + "' exists already; refusing to overwrite a key");
      fail(errc::usage, "cannot create '" + path + "': " + std::strerror(errno));
    }
    std::unique_ptr<FILE, file_closer> f(::fdopen(fd, "w"));
    int ok = priv ? PEM_write_PrivateKey(f.get(), raw(pkey_), nullptr, nullptr, 0, nullptr, nullptr)
                  : PEM_write_PUBKEY(f.get(), raw(pkey_));
    if (!ok || std::fflush(f.get()) != 0 || ::fsync(fd) != 0) fail(errc::permanent, "cannot write '" + path + "'");
  };
  write("stratum.key", 0600, true);
  write("stratum.pub", 0644, false);
}

bytes signing_key::sign(byte_view message) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bytes sig(64);
  std::size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, raw(pkey_)) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1)
    fail(errc::permanent, "Ed25519 signing failed: " + openssl_error());
  sig.resize(len);
  return sig;
}

bytes signing_key::public_raw() const {
  bytes out(32);
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(raw(pkey_), out.data(), &len) != 1) fail(errc::permanent, "cannot read the public key");
  out.resize(len);
  return out;
}

bool verify_signature(byte_view public_raw, byte_view message, byte_view signature) {
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_raw.data(), public_raw.size());
  if (!k) {
    ERR_clear_error();
    return false;
  }
  auto key = own(k);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k) == 1 &&
            EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

bytes load_public_key(const std::string& path) {
  std::unique_ptr<FILE, file_closer> f(std::fopen(path.c_str(), "r"));
  if (!f) fail(errc::usage, "cannot open public key '" + path + "': " + std::strerror(errno));
  EVP_PKEY* k = PEM_read_PUBKEY(f.get(), nullptr, nullptr, nullptr);
  if (!k) fail(errc::usage, "'" + path + "' is not a PEM public key: " + openssl_error());
  auto key = own(k);
  bytes out(32);
  std::size_t len = out.size();
  if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519 || EVP_PKEY_get_raw_public_key(k, out.data(), &len) != 1)
    fail(errc::usage, "'" + path + "' is not an Ed25519 public key");
  return out;
}

}  // namespace stratum
