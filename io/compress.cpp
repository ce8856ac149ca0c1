#include "io/compress.hpp"

#include "async/error.hpp"

#include <libdeflate.h>

#include <memory>

namespace stratum {
namespace {

struct compressor_deleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
struct decompressor_deleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

libdeflate_compressor* compressor_for(int level) {
  // One compressor per level per thread: allocating one costs more than
  // compressing a small file at level 1.
  thread_local std::unique_ptr<libdeflate_compressor, compressor_deleter> cache[13];
  if (level < 0 || level > 12) fail(errc::usage, "compression level " + std::to_string(level) + " is not in 0..12");
  auto& c = cache[level];
  if (!c) c.reset(libdeflate_alloc_compressor(level));
  if (!c) fail(errc::transient, "cannot allocate a compressor");
  return c.get();
}

libdeflate_decompressor* decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, decompressor_deleter> d(libdeflate_alloc_decompressor());
  if (!d) fail(errc::transient, "cannot allocate a decompressor");
  return d.get();
}

bytes run(byte_view data, int level) {
  auto* c = compressor_for(level);
  bytes out(libdeflate_zlib_compress_bound(c, data.size()));
  std::size_t n = libdeflate_zlib_compress(c, data.data(), data.size(), out.data(), out.size());
  if (n == 0) fail(errc::permanent, "zlib compression failed");
  out.resize(n);
  return out;
}

}  // namespace

bytes deflate_object(byte_view data, compression c) {
  if (c.level > 0) {
    auto out = run(data, c.level);
    if (out.size() + out.size() / 32 < data.size()) return out;
  }
  return run(data, 0);
}

bytes inflate_object(byte_view stream, std::size_t size, const std::string& what) {
  bytes out(size);
  std::size_t got = 0;
  auto r = libdeflate_zlib_decompress(decompressor(), stream.data(), stream.size(), out.data(), out.size(), &got);
  if (r != LIBDEFLATE_SUCCESS || got != size)
    fail(errc::corrupt, what + ": stored data does not inflate to the recorded " + std::to_string(size) + " bytes");
  return out;
}

bytes inflate_object(byte_view stream, const std::string& what, std::size_t limit) {
  std::size_t cap = std::max<std::size_t>(stream.size() * 4, 4096);
  for (;;) {
    bytes out(std::min(cap, limit));
    std::size_t got = 0;
    auto r = libdeflate_zlib_decompress(decompressor(), stream.data(), stream.size(), out.data(), out.size(), &got);
    if (r == LIBDEFLATE_SUCCESS) {
      out.resize(got);
      return out;
    }
    if (r != LIBDEFLATE_INSUFFICIENT_SPACE || cap >= limit) fail(errc::corrupt, what + ": stored data is not a valid zlib stream");
    cap *= 4;
  }
}

}  // namespace stratum
