// SHA-256 through OpenSSL (SHA-NI where the CPU has it: ~1.4 GB/s per core).
#pragma once

#include "io/io.hpp"

#include <array>
#include <cstring>
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

struct hash256_hasher {
  std::size_t operator()(const hash256& h) const noexcept {
    std::size_t x;
    std::memcpy(&x, h.v.data(), sizeof x);
    return x;
  }
};

}  // namespace stratum
