// SHA-256 through OpenSSL (SHA-NI where the CPU has it: ~1.4 GB/s per core).
// Thread: any.
#pragma once

#include "io/io.hpp"

#include <array>
#include <cstring>
#include <memory>
#include <compare>
#include <optional>
#include <string_view>

namespace stratum {

struct hash256 {
  std::array<std::uint8_t, 32> v{};
  auto operator<=>(const hash256&) const = default;
  std::string hex() const;
  static std::optional<hash256> from_hex(std::string_view s);
};

hash256 sha256(byte_view data);

// Incremental form, for data that arrives in pieces.
class sha256_stream {
 public:
  sha256_stream();
  ~sha256_stream();
  sha256_stream(const sha256_stream&) = delete;
  sha256_stream& operator=(const sha256_stream&) = delete;
  void update(byte_view data);
  hash256 finish();

 private:
  void* ctx_;
};

// HMAC-SHA256 (RFC 2104) under one key: the key's inner and outer blocks are
// hashed once, so each signature is two short hashes (0.6 us for 200 bytes,
// against 4 us for OpenSSL's one-shot HMAC()).
class hmac_sha256 {
 public:
  explicit hmac_sha256(std::string_view key);
  hash256 sign(std::string_view data) const;

 private:
  std::shared_ptr<void> inner_, outer_;  // EVP_MD_CTX after the padded key block
};

struct hash256_hasher {
  std::size_t operator()(const hash256& h) const noexcept {
    std::size_t x;
    std::memcpy(&x, h.v.data(), sizeof x);
    return x;
  }
};

}  // namespace stratum
