// stratum's own repository format (docs/FORMAT.md) as a format_writer and a
// format_reader: objects named by the SHA-256 of their content, zlib
// streams, compact deterministic catalogs, an Ed25519-signed text manifest
// `.stratumpublished`. Threads: any (immutable).
#pragma once

#include "catalog/format/format.hpp"
#include "io/compress.hpp"

namespace stratum {

std::unique_ptr<format_writer> make_native_writer(compression c);
std::unique_ptr<format_reader> make_native_reader();

}  // namespace stratum
