// Small objects of the mount's cache (object_cache.hpp), packed into shared
// files: creating one file per object made ext4's inode and directory work
// a fifth of a cold read's CPU (bench/README.md, session 15). A pack is
// appended to and never rewritten; it leaves the cache whole.
//
//   PACK/N.pack   records, one after the other:
//                 "SPK1" | size u32 | hash (32 bytes) | crc u64 | content
//                 (little-endian; crc = ISA-L crc64_ecma_refl, from 0, of
//                 size, hash and content)
//   PACK/N.idx    what N.pack holds, written when it is full or the mount
//                 ends: "SPI1" | count u32 | count × (hash, content offset
//                 u64, size u32, 0 u32) | CRC-64 of all before it
//
// A pack without a readable index (the mount was killed) is scanned record
// by record, up to the first that does not parse. Records a later mount
// finds are checked against their crc on first use (check_pack_record), so
// a torn write or a damaged disk is fetched again, never served; an index
// entry is a hint, the record decides.
//
// Thread: any; these are plain blocking file calls (the cache runs them on
// the blocking pool, and writes records in the CPU task that verified them).
#pragma once

#include "io/sha256.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stratum {

constexpr std::size_t pack_header_size = 48;

// An object in a pack: its content starts at `at`.
struct pack_entry {
  hash256 h;
  std::uint64_t at = 0;
  std::uint32_t size = 0;
};

// Writes one record, header then content, at `offset` (which the caller
// reserved: records are written concurrently at their own offsets).
// Returns false with errno set when the file system refuses.
bool write_pack_record(int fd, std::uint64_t offset, const hash256& h, const std::uint8_t* content, std::uint32_t size);

// Whether the record whose content starts at `at` is whole: its header
// names `h` and `size`, and the crc matches.
bool check_pack_record(int fd, std::uint64_t at, const hash256& h, std::uint32_t size);

// The records of a pack `length` bytes long, from its start up to the first
// that does not parse (a crash's torn tail). Holes (zeros: a reservation
// whose record was never written, because its fetch failed or the mount was
// killed first) are skipped to the next record.
std::vector<pack_entry> scan_pack(int fd, std::uint64_t length);

// The pack index at `path`, or nullopt when it is missing or damaged.
std::optional<std::vector<pack_entry>> read_pack_index(const std::string& path);

// Writes the index at `path` through a temporary name and a rename.
bool write_pack_index(const std::string& path, const std::vector<pack_entry>& entries);

}  // namespace stratum
