// zlib-format (RFC 1950) compression of whole buffers: level 1 (the default)
// through ISA-L's igzip, 1.7x libdeflate's level-1 speed for 6% more bytes;
// levels 2..12 and every inflate through libdeflate (2.8x zlib's speed at
// level 1, measured in docs/STACK.md). Both write standard zlib streams; any
// inflater reads either.
//
// Every stored object is one zlib stream, so a reader never needs a side flag:
// data that does not compress is written as deflate *stored* blocks (level 0),
// which costs 5 bytes per 64 KiB plus 6 bytes of framing.
// Thread: any.
#pragma once

#include "io/io.hpp"

namespace stratum {

struct compression {
  int level = 1;  // 0 = stored blocks only ("none"); 1 igzip; 2..12 libdeflate levels
};

// Compresses `data` at `c.level`; falls back to stored blocks when compressing
// does not save at least 1/32 of the size (not worth the reader's CPU).
// Thread-safe; allocates a compressor per call-thread and caches it.
bytes deflate_object(byte_view data, compression c);

// Inflates a zlib stream whose decompressed size must be exactly `size`.
// Throws errc::corrupt (with `what` naming the object) on any mismatch.
bytes inflate_object(byte_view stream, std::size_t size, const std::string& what);

// Inflates a zlib stream of unknown decompressed size (bounded by `limit`).
bytes inflate_object(byte_view stream, const std::string& what, std::size_t limit = std::size_t(1) << 32);

}  // namespace stratum
