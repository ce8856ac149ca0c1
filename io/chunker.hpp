// Content-defined chunking of large files with a gear rolling hash.
//
// Defaults follow CernVM-FS (min 4 / avg 8 / max 16 MiB): every chunk is one
// plain PUT well below any store's single-request limit (S3 5 GiB, Azure Put
// Blob 5000 MiB), at most 16 MiB of a file is in memory per chunk in flight,
// and an insertion or deletion in a multi-GB file changes only the chunks it
// touches, so unchanged regions de-duplicate across revisions.
// Thread: any (pure functions).
#pragma once

#include "io/io.hpp"

#include <cstddef>

namespace stratum {

struct chunk_params {
  std::size_t min = std::size_t(4) << 20;
  std::size_t max = std::size_t(16) << 20;
  // A cut is taken where the top `bits` bits of the rolling hash are zero:
  // expected distance past `min` is 2^bits, so 22 gives an 8 MiB average.
  unsigned bits = 22;
  // Files larger than this are chunked; smaller ones are one object.
  std::size_t threshold() const { return max; }
};

// Returns the length of the first chunk of `data`, which starts at a chunk
// boundary. `data` holds min(max, bytes left in the file) bytes. Without a
// cut the chunk ends at max or at the end of the data. The result is in
// [1, data.size()] for non-empty data and depends only on the bytes, so equal
// content cuts equally.
std::size_t find_cut(byte_view data, const chunk_params& p);

}  // namespace stratum
