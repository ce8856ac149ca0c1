// A mount's on-disk cache of file contents: each object (a whole file's
// content or one chunk) as it was fetched and verified, kept in a directory
// bounded in bytes, least recently used out. Shared by later mounts of the same
// repository (the directory outlives the mount).
//
// A cache file is the object's content followed by its CRC-64 (8 bytes,
// ISA-L), written to a temporary name and renamed. What a mount fetched
// itself is served as it is; a file found in the directory at start is
// checked against its trailer the first time this process uses it, so a torn
// write (a crash, no fsync) or a damaged disk is fetched again, never served.
// (The content was verified against its name when it was fetched; the
// trailer guards only the local copy, so a checksum does, at 10 GB/s.)
// Objects are fetched through repository::read_object, which verifies
// them against their name before a byte is kept.
//
// Two mounts sharing a directory each keep their own account of it: each
// evicts by what it knows, and an object the other evicted is fetched again.
//
// Thread: the I/O thread; file writes, reads and hashing on the blocking pool.
#pragma once

#include "async/budget.hpp"
#include "async/flight.hpp"
#include "catalog/read/repository.hpp"

#include <list>
#include <unordered_map>

namespace stratum {

// An object of the cache, opened: read it with pread(fd, ..., offset < size).
// Closed when the last holder lets go; eviction only unlinks the name, so an
// open object stays readable.
struct cached_object {
  int fd = -1;
  std::uint64_t size = 0;
  cached_object() = default;
  cached_object(const cached_object&) = delete;
  cached_object& operator=(const cached_object&) = delete;
  ~cached_object();
};

// hits: objects found in the directory (opened from it, not fetched); reads
// of an object kept open are not counted again.
struct object_cache_stats {
  std::uint64_t hits = 0, fetched = 0, fetched_bytes = 0, evicted = 0, rehashed = 0, damaged = 0;
  std::uint64_t bytes = 0, objects = 0;  // in the cache now, as this process accounts it
};

class object_cache {
 public:
  object_cache(repository& repo, asio::thread_pool& blocking, std::string dir, std::uint64_t limit);

  // Creates the directory, accounts what it holds (oldest first, by mtime),
  // removes temporary files a killed mount left and evicts down to the limit.
  // Throws errc::usage naming the directory when it cannot be used.
  void open();

  // The object named `h` of `size` content bytes, opened: from the cache,
  // else fetched and verified (concurrent requests for one object fetch it
  // once). Throws what read_object throws (errc::corrupt, not_found,
  // transient) and errc::permanent when the cache directory fails.
  awaitable<std::shared_ptr<const cached_object>> get(const hash256& h, object_kind k, std::uint64_t size);

  // Whether the object is in the cache and was written or checked by this
  // process (nothing is opened or fetched): reading it needs no fetch, no
  // check, and most likely not the disk.
  bool ready(const hash256& h) const {
    auto it = slots_.find(h);
    return it != slots_.end() && it->second.verified;
  }

  // get() ahead of a read: fetched if missing, checked if found from an
  // earlier mount (both leave its pages in memory), kept open, so the read
  // that follows needs neither a file system call nor the disk.
  awaitable<void> warm(const hash256& h, object_kind k, std::uint64_t size);

  // The repository objects are fetched from (--follow replaces it).
  void use(repository& repo) { repo_ = &repo; }

  const object_cache_stats& stats() const { return stats_; }
  const std::string& dir() const { return dir_; }

 private:
  struct slot {
    std::uint64_t size = 0;  // the object's content bytes
    bool verified = false;   // written or re-hashed by this process
    std::list<hash256>::iterator lru;
  };
  std::string path_of(const hash256& h) const;
  // get() without the open set: the cache's file, checked, or a fetch.
  awaitable<std::shared_ptr<const cached_object>> load(const hash256& h, object_kind k, std::uint64_t size);
  awaitable<std::shared_ptr<const cached_object>> fetch(const hash256& h, object_kind k, std::uint64_t size);
  void touch(slot& s, const hash256& h);
  void evict();
  void keep_open(const hash256& h, std::shared_ptr<const cached_object> o);

  repository* repo_;
  asio::thread_pool& blocking_;
  std::string dir_;
  std::uint64_t limit_;
  std::unordered_map<hash256, slot, hash256_hasher> slots_;
  std::list<hash256> lru_;  // front: least recently used
  // The objects used last, kept open: a file read in many requests opens
  // its object once (front: least recently used).
  std::list<std::pair<hash256, std::shared_ptr<const cached_object>>> open_;
  std::unordered_map<hash256, decltype(open_)::iterator, hash256_hasher> open_at_;
  flight_map<hash256, std::shared_ptr<const cached_object>> fetching_;
  std::unique_ptr<budget> memory_;  // bytes of fetched objects held at once
  std::string pid_;  // in temporary names: two mounts sharing the directory
  std::uint64_t tmp_seq_ = 0;
  object_cache_stats stats_;
};

}  // namespace stratum
