// io/ — bytes in and out of the local machine.
//
// Reading source files (io_uring with a thread-pool fallback: reader.hpp),
// walking directories (walker.hpp), and the pure functions on file contents:
// SHA-256 (sha256.hpp), zlib-format compression (compress.hpp) and
// content-defined chunking (chunker.hpp). Nothing here knows about stores.
#pragma once

#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stratum {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

// An allocator whose resize() leaves new elements uninitialized, for buffers
// that are filled right away (a file read: zero-filling first cost ~1% of a
// publish's CPU time).
template <class T>
struct uninitialized_allocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = uninitialized_allocator<U>;
  };
  uninitialized_allocator() = default;
  template <class U>
  uninitialized_allocator(const uninitialized_allocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(static_cast<Args&&>(args)...);
  }
};
using read_buffer = std::vector<std::uint8_t, uninitialized_allocator<std::uint8_t>>;

inline byte_view as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string to_string(byte_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace stratum
