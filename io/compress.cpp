// zlib-format compression and inflation (compress.hpp). Thread: any; each
// thread keeps its own compressor state (thread_local).
#include "io/compress.hpp"

#include "async/error.hpp"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
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

// ISA-L's igzip at `level` 0 or 1, the fastest zlib-format encoder: per
// file on the Linux 6.1 tree level 1 runs at 295 MB/s against libdeflate
// level 1's 171 MB/s, for 6% more bytes (ratio 4.27 against 4.55; README,
// "Dependencies"). Returns an empty buffer when the stream would not be at
// most `limit` bytes. Inputs up to 1 MiB take one stateless call, larger
// ones the stateful API in 1 MiB pieces (below).
//
// igzip reads past the end of its input (its matcher loads whole words), and
// the bytes it finds there change its choices; a buffer ending at the end of
// a mapping could fault. So the input is copied into a buffer with zeroed
// slack after it (a copy costs a thirtieth of compressing the same bytes).
// Level 1's encoding of an input under 4 KiB was not the same from run to
// run when several threads compress at once (a few objects of a Linux-tree
// publish differed by 1-5 bytes, also with every buffer zeroed before each
// call; one thread, in any order of inputs, was reproducible; cause not
// found). Such inputs now go to level 0, and ten publishes of the tree stored
// the same bytes. Every stream inflates to its content either way (check -i
// on the whole tree; the two-thread unit test).
bytes run_igzip(byte_view data, std::size_t limit, int level) {
  constexpr std::size_t slack = 512;  // > the longest match (258) plus a vector load
  constexpr std::size_t kept = std::size_t(1) << 20;  // input pieces and output pieces
  struct buffers {
    std::unique_ptr<std::uint8_t[]> level = std::make_unique_for_overwrite<std::uint8_t[]>(ISAL_DEF_LVL1_DEFAULT);
    std::unique_ptr<std::uint8_t[]> in = std::make_unique<std::uint8_t[]>(kept + slack);
    std::unique_ptr<std::uint8_t[]> out = std::make_unique_for_overwrite<std::uint8_t[]>(kept);
    // 80 KiB, mostly the stateful API's window: kept, not zeroed per call.
    // Zeroed once, since stateless_init leaves hist_bits (the window size) as
    // it finds it.
    std::unique_ptr<isal_zstream> stream = std::make_unique<isal_zstream>();
  };
  thread_local buffers b;
  isal_zstream& z = *b.stream;
  // Copies the next piece of input (at most `kept` bytes) into the kept
  // buffer, zeroed slack after it (it holds earlier inputs there).
  std::size_t taken = 0;
  auto next_piece = [&] {
    const std::size_t n = std::min(kept, data.size() - taken);
    std::memcpy(b.in.get(), data.data() + taken, n);
    std::memset(b.in.get() + n, 0, slack);
    taken += n;
    z.next_in = b.in.get();
    z.avail_in = static_cast<std::uint32_t>(n);
    z.end_of_stream = taken == data.size();
  };
  auto set_level = [&] {
    z.level = static_cast<std::uint32_t>(level);
    z.level_buf = level > 0 ? b.level.get() : nullptr;
    z.level_buf_size = level > 0 ? ISAL_DEF_LVL1_DEFAULT : 0;
    z.gzip_flag = IGZIP_ZLIB;
    z.flush = NO_FLUSH;
  };

  if (data.size() <= kept) {  // one stateless call
    isal_deflate_stateless_init(&z);
    set_level();
    next_piece();
    z.next_out = b.out.get();
    z.avail_out = static_cast<std::uint32_t>(std::min(limit, kept));
    if (isal_deflate_stateless(&z) != COMP_OK) return {};  // STATELESS_OVERFLOW: does not fit in `limit`
    return bytes(b.out.get(), b.out.get() + z.total_out);
  }

  // Larger inputs (a chunk of up to 16 MiB) go through the stateful API in
  // 1 MiB pieces, so compressing one needs no copy of the whole input and no
  // output buffer of its size: two 16 MiB chunks compressed at once had
  // added ~64 MiB to a publish's peak RSS, outside the file-data budget.
  isal_deflate_init(&z);
  z.hist_bits = 0;  // the default window (32 KiB)
  set_level();
  bytes out;
  out.reserve(std::min(limit, data.size() / 2));  // reserved, not touched: only what is written counts in RSS
  do {
    next_piece();
    do {
      z.next_out = b.out.get();
      z.avail_out = static_cast<std::uint32_t>(kept);
      if (isal_deflate(&z) != COMP_OK) fail(errc::permanent, "ISA-L deflate failed");
      const std::size_t n = kept - z.avail_out;
      if (out.size() + n > limit) return {};
      out.insert(out.end(), b.out.get(), b.out.get() + n);
    } while (z.avail_out == 0);
  } while (z.internal_state.state != ZSTATE_END);
  return out;
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
  // Level 1 below 4 KiB uses igzip's level 0: its Huffman tables are built
  // in, where level 1 builds a pair of tables for every input, which for a
  // small file costs more than matching it. On the Linux tree (51% of its
  // files are under 4 KiB) that took ~9% off a publish's CPU time for 2.2%
  // more stored bytes (300.9 -> 307.7 MB); below 8 KiB took 1% more of the
  // cycles for another 1.2% of bytes (bench/README.md, run 7).
  constexpr std::size_t small_input = 4096;
  // Worth keeping only if it saves at least 1/32 of the size.
  const std::size_t worth = data.size() - data.size() / 32;
  if (c.level == 1 && !c.portable && data.size() <= std::numeric_limits<std::uint32_t>::max()) {
    if (worth > 1)
      if (auto out = run_igzip(data, worth - 1, data.size() < small_input ? 0 : 1); !out.empty()) return out;
  } else if (c.level > 0) {  // 2..12, and level 1 beyond igzip's 4 GiB
    auto out = run(data, c.level);
    if (out.size() + out.size() / 32 < data.size()) return out;
  }
  return run(data, 0);
}

bytes zlib_deflate(byte_view data, int level) {
  z_stream z{};
  if (deflateInit(&z, level) != Z_OK) fail(errc::permanent, "zlib: deflateInit failed");
  bytes out(deflateBound(&z, static_cast<uLong>(data.size())));
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int r = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (r != Z_STREAM_END) fail(errc::permanent, "zlib: deflate did not finish");
  return out;
}

bytes inflate_object(byte_view stream, std::size_t size, const std::string& what) {
  bytes out(size);
  std::size_t got = 0;
  auto r = libdeflate_zlib_decompress(decompressor(), stream.data(), stream.size(), out.data(), out.size(), &got);
  if (r != LIBDEFLATE_SUCCESS || got != size)
    fail(errc::corrupt, what + ": stored data does not inflate to the recorded " + std::to_string(size) + " bytes");
  return out;
}

std::uint64_t max_stored_size(std::uint64_t content) {
  constexpr std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
  if (content > most / 2) return most;
  return content + content / 512 + 1024;
}

bytes inflate_bounded(byte_view stream, std::size_t limit, const std::string& what, const std::optional<hash256>& expected) {
  // One piece of output at a time: small enough to stay in cache while it is
  // hashed, large enough that an inflate() call costs nothing next to it.
  constexpr std::size_t piece = std::size_t(256) << 10;
  z_stream z{};
  if (inflateInit(&z) != Z_OK) fail(errc::transient, what + ": cannot allocate an inflater");
  struct ender {
    z_stream& z;
    ~ender() { inflateEnd(&z); }
  } end_it{z};
  auto buffer = std::make_unique_for_overwrite<std::uint8_t[]>(piece);
  sha256_stream hash;
  std::size_t size = 0, fed = 0;
  for (;;) {
    if (z.avail_in == 0 && fed < stream.size()) {  // avail_in is 32 bits: feed at most 1 GiB at once
      const std::size_t n = std::min<std::size_t>(stream.size() - fed, std::size_t(1) << 30);
      z.next_in = const_cast<Bytef*>(stream.data() + fed);
      z.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    z.next_out = buffer.get();
    z.avail_out = static_cast<uInt>(piece);
    const int r = inflate(&z, Z_NO_FLUSH);
    if (r == Z_MEM_ERROR) fail(errc::transient, what + ": out of memory while inflating");
    if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)  // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR
      fail(errc::corrupt, what + ": stored data is not a valid zlib stream");
    const std::size_t n = piece - z.avail_out;
    if (n > limit - size)
      fail(errc::corrupt, what + ": inflates to more than " + std::to_string(limit) +
                              " bytes, the limit for an object of unknown size; remove it, or raise the limit if the "
                              "repository is trusted (read commands: --max-catalog-size MIB)");
    hash.update(byte_view(buffer.get(), n));
    size += n;
    if (r == Z_STREAM_END) break;
    // No progress with all the input given: the stream is cut short.
    if (r == Z_BUF_ERROR && z.avail_in == 0 && fed == stream.size())
      fail(errc::corrupt, what + ": stored data is a truncated zlib stream");
  }
  if (z.avail_in != 0 || fed != stream.size()) fail(errc::corrupt, what + ": stored data has bytes after its zlib stream");
  if (expected && hash.finish() != *expected) fail(errc::corrupt, what + ": content does not match its hash");
  // The content is known to be `size` bytes (and, with `expected`, the right
  // ones): the sized inflate, at libdeflate's speed, into a buffer of that size.
  return inflate_object(stream, size, what);
}

}  // namespace stratum
