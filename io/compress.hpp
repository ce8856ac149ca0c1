// zlib-format (RFC 1950) compression of whole buffers: level 1 (the default)
// through ISA-L's igzip, 1.7x libdeflate's level-1 speed for 6% more bytes;
// levels 2..12 and every inflate of a known size through libdeflate (2.8x
// zlib's speed at level 1, measured in docs/STACK.md). Both write standard
// zlib streams; any inflater reads either. A stream of unknown size (an
// older repository's catalog or history) is inflated by zlib's streaming
// inflate under a limit, so a store cannot make a reader hold more.
//
// Every stored object is one zlib stream, so a reader never needs a side flag:
// data that does not compress is written as deflate *stored* blocks (level 0),
// which costs 5 bytes per 64 KiB plus 6 bytes of framing.
// Thread: any.
#pragma once

#include "io/io.hpp"
#include "io/sha256.hpp"

#include <optional>

namespace stratum {

struct compression {
  int level = 1;  // 0 = stored blocks only ("none"); 1 igzip; 2..12 libdeflate levels
  // libdeflate at every level, never igzip: the same bytes on every machine
  // for a format that names objects by their stored bytes (igzip picks its
  // code by the CPU's instruction set, and its output with it).
  bool portable = false;
};

// Compresses `data` at `c.level`; falls back to stored blocks when compressing
// does not save at least 1/32 of the size (not worth the reader's CPU).
// Thread-safe; allocates a compressor per call-thread and caches it.
bytes deflate_object(byte_view data, compression c);

// zlib's own deflate (deflateInit at `level`, one Z_FINISH): for objects whose
// stored bytes others re-create and must get the same (a CernVM-FS Stratum 1
// compresses the certificate and meta-info again when it replicates them).
bytes zlib_deflate(byte_view data, int level);

// Inflates a zlib stream whose decompressed size must be exactly `size`.
// Throws errc::corrupt (with `what` naming the object) on any mismatch.
bytes inflate_object(byte_view stream, std::size_t size, const std::string& what);

// The most bytes a zlib stream of `content` bytes may take in a store:
// content + content/512 + 1024. Stored blocks cost 5 bytes per 64 KiB plus 6
// of framing, zlib's compressBound ~content/3277 + 13, libdeflate's bound
// ~content/1000 + 9, and a stratum writer keeps a compressed stream only when
// it is smaller than its content; so a larger stored object is not a stream
// of that content, and a reader need not fetch more (docs/FORMAT.md).
std::uint64_t max_stored_size(std::uint64_t content);

// Inflates a zlib stream of unknown decompressed size in two passes, so that
// memory follows what the content is and not what the stream claims. First
// zlib's streaming inflate, 256 KiB at a time into one piece that is
// overwritten, hashing the output as it comes and stopping with
// errc::corrupt (naming `what`) as soon as it passes `limit` bytes; with
// `expected`, content whose SHA-256 differs is refused right then, before a
// buffer of its size exists. Then libdeflate inflates it into a buffer of
// exactly the size measured. Also errc::corrupt for a stream that is not
// valid zlib, is cut short or has bytes after its end.
bytes inflate_bounded(byte_view stream, std::size_t limit, const std::string& what,
                      const std::optional<hash256>& expected = std::nullopt);

}  // namespace stratum
