// CernVM-FS content and path hashes (digest.hpp). Thread: any.
#include "catalog/format/cvmfs/digest.hpp"

#include "async/error.hpp"

#include <openssl/evp.h>

#include <cstring>

namespace stratum::cvmfs {
namespace {

const EVP_MD* md_of(algorithm a) {
  switch (a) {
    case algorithm::sha1: return EVP_sha1();
    case algorithm::rmd160: return EVP_ripemd160();
    case algorithm::shake128: return EVP_shake128();
  }
  return nullptr;
}

void check(int ok, const char* what) {
  if (ok != 1) fail(errc::permanent, std::string("OpenSSL: ") + what + " failed");
}

hash256 finish_ctx(EVP_MD_CTX* c, algorithm a) {
  hash256 h;
  if (a == algorithm::shake128) {
    check(EVP_DigestFinalXOF(c, h.v.data(), digest_size), "SHAKE-128");
  } else {
    unsigned n = 0;
    check(EVP_DigestFinal_ex(c, h.v.data(), &n), "digest");
    if (n != digest_size) fail(errc::permanent, "OpenSSL: digest of unexpected size");
  }
  return h;
}

}  // namespace

std::optional<algorithm> algorithm_named(std::string_view name) {
  if (name == "sha1") return algorithm::sha1;
  if (name == "rmd160") return algorithm::rmd160;
  if (name == "shake128") return algorithm::shake128;
  return std::nullopt;
}

std::string_view algorithm_name(algorithm a) {
  switch (a) {
    case algorithm::sha1: return "sha1";
    case algorithm::rmd160: return "rmd160";
    case algorithm::shake128: return "shake128";
  }
  return "?";
}

std::string_view algorithm_suffix(algorithm a) {
  switch (a) {
    case algorithm::sha1: return "";
    case algorithm::rmd160: return "-rmd160";
    case algorithm::shake128: return "-shake128";
  }
  return "";
}

hash256 digest(byte_view data, algorithm a) {
  digest_stream s(a);
  s.update(data);
  return s.finish();
}

digest_stream::digest_stream(algorithm a) : a_(a), ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) fail(errc::permanent, "OpenSSL: out of memory");
  check(EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), md_of(a), nullptr), "digest init");
}

digest_stream::~digest_stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void digest_stream::update(byte_view data) {
  check(EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()), "digest update");
}

hash256 digest_stream::finish() { return finish_ctx(static_cast<EVP_MD_CTX*>(ctx_), a_); }

std::string to_text(const hash256& h, algorithm a) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(2 * digest_size + 9);
  for (std::size_t i = 0; i < digest_size; ++i) {
    s.push_back(digits[h.v[i] >> 4]);
    s.push_back(digits[h.v[i] & 15]);
  }
  s += algorithm_suffix(a);
  return s;
}

std::optional<std::pair<hash256, algorithm>> from_text(std::string_view s) {
  if (s.size() < 2 * digest_size) return std::nullopt;
  algorithm a = algorithm::sha1;
  const auto suffix = s.substr(2 * digest_size);
  if (suffix == "-rmd160") a = algorithm::rmd160;
  else if (suffix == "-shake128") a = algorithm::shake128;
  else if (!suffix.empty()) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  hash256 h;
  for (std::size_t i = 0; i < digest_size; ++i) {
    int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    h.v[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return std::pair{h, a};
}

path_hash md5_path(std::string_view path) {
  unsigned char md[16];
  unsigned n = 0;
  check(EVP_Digest(path.data(), path.size(), md, &n, EVP_md5(), nullptr), "MD5");
  path_hash p;
  // CernVM-FS copies the digest's bytes into two integers on a
  // little-endian machine; read them that way on any machine.
  std::uint64_t a = 0, b = 0;
  for (int i = 7; i >= 0; --i) {
    a = a << 8 | md[i];
    b = b << 8 | md[8 + i];
  }
  p.first = static_cast<std::int64_t>(a);
  p.second = static_cast<std::int64_t>(b);
  return p;
}

}  // namespace stratum::cvmfs
