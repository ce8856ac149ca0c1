// io/ — bytes in and out of the local machine.
//
// Reading source files (io_uring with a thread-pool fallback: reader.hpp),
// walking directories (walker.hpp), and the pure functions on file contents:
// SHA-256 (sha256.hpp), zlib-format compression (compress.hpp) and
// content-defined chunking (chunker.hpp). Nothing here knows about stores.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stratum {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

inline byte_view as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string to_string(byte_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace stratum
