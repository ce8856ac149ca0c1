#include "io/sha256.hpp"

#include "async/error.hpp"

#include <openssl/evp.h>

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

hash256 sha256(byte_view data) {
  hash256 h;
  unsigned len = 0;
  if (!EVP_Digest(data.data(), data.size(), h.v.data(), &len, EVP_sha256(), nullptr))
    fail(errc::permanent, "OpenSSL SHA-256 failed");
  return h;
}

sha256_stream::sha256_stream() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || !EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr))
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
