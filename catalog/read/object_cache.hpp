// A mount's on-disk cache of file contents: each object (a whole file's
// content or one chunk) as it was fetched and verified, kept in a directory
// bounded in bytes, least recently used out. Shared by later mounts of the same
// repository (the directory outlives the mount).
//
// An object of 256 KiB or more is a file of its own, DIR/XX/<hash>: its
// content followed by its CRC-64 (8 bytes, ISA-L), written to a temporary
// name and renamed. Smaller ones (most files of a software tree) are
// appended to shared pack files, DIR/packs (cache_pack.hpp), whose records
// carry the same checksum: one file per small object cost more in inode
// and directory work than reading it. A pack leaves the cache whole, when it
// is the least recently used of what the cache holds (a pack counts as used
// when any of its objects is). A pack is 1/64 of the bound, 1 to 64 MiB;
// with a bound under 16 MiB every object has its own file.
//
// What a mount fetched itself is served as it is; an object found in the
// directory at start is checked against its checksum the first time this
// process uses it, so a torn write (a crash, no fsync) or a damaged disk is
// fetched again, never served. (The content was verified against its name
// when it was fetched; the checksum guards only the local copy, at 10 GB/s.)
// Objects are fetched through repository::read_object, which verifies
// them against their name before a byte is kept.
//
// Two mounts sharing a directory each keep their own account of it: each
// evicts by what it knows, and an object the other evicted is fetched again.
// Each appends only to packs it created.
//
// Thread: the I/O thread; file writes, reads and hashing on the blocking pool
// or in the CPU task that verified the object.
#pragma once

#include "async/budget.hpp"
#include "async/flight.hpp"
#include "catalog/read/cache_pack.hpp"
#include "catalog/read/repository.hpp"

#include <atomic>
#include <list>
#include <map>
#include <unordered_map>

struct stat;

namespace stratum {

// A file of the cache, open: closed when the last holder lets go.
// Eviction only unlinks the name, so an open file stays readable.
struct cached_file {
  int fd = -1;
  explicit cached_file(int f) : fd(f) {}
  cached_file(const cached_file&) = delete;
  cached_file& operator=(const cached_file&) = delete;
  ~cached_file();
};

// An object of the cache, opened: its content is `size` bytes of fd()
// from `offset` (0 for an object in its own file, past the record header in
// a pack).
struct cached_object {
  std::shared_ptr<const cached_file> file;
  std::uint64_t offset = 0, size = 0;
  int fd() const { return file->fd; }
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

  // The object if ready() and at hand without a file system call (in a
  // pack, or kept open), else nullptr.
  std::shared_ptr<const cached_object> ready_object(const hash256& h, std::uint64_t size);

  // get() ahead of a read: fetched if missing, checked if found from an
  // earlier mount (both leave its pages in memory), kept open, so the read
  // that follows needs neither a file system call nor the disk.
  awaitable<void> warm(const hash256& h, object_kind k, std::uint64_t size);

  // The repository objects are fetched from (--follow replaces it).
  void use(repository& repo) { repo_ = &repo; }

  const object_cache_stats& stats() const { return stats_; }
  const std::string& dir() const { return dir_; }

  // Waits (30 s at most) for the file work handed to the blocking pool
  // (unlinks, indexes), then writes the index of every pack this process
  // appended to that has none yet (a later mount then need not scan it).
  // The destructor does it too.
  void close();
  ~object_cache();

 private:
  struct slot {
    std::uint64_t size = 0;  // the object's content bytes
    bool verified = false;   // written or re-hashed by this process
    std::uint64_t pack = 0;  // the pack holding it, 0: a file of its own
    std::uint64_t at = 0;    // in a pack: where its content starts
    std::uint64_t used = 0;  // own file: when it was used last (a tick)
    std::list<hash256>::iterator lru;  // own file: its place in lru_
  };
  struct pack {
    std::shared_ptr<const cached_file> file;
    std::uint64_t end = 0;     // bytes reserved (its length once written)
    std::uint64_t used = 0;    // when any of its objects was used last
    unsigned writing = 0;      // records reserved, not yet written
    bool appending = false;    // created by this process, not full yet
    bool index_due = false;    // created by this process, index not yet written
    std::vector<hash256> members;
    std::list<std::uint64_t>::iterator lru;
  };
  std::string path_of(const hash256& h) const;
  static std::uint64_t mtime_tick(const struct stat& st);  // a tick from an mtime (ns)
  std::string pack_path(std::uint64_t id, const char* ext) const;
  void open_packs();
  // The pack and offset for a new record of `bytes`, in the pack being
  // appended to (a new one when it is full).
  std::pair<std::uint64_t, std::uint64_t> reserve(std::uint64_t bytes);
  void written(std::uint64_t id);  // a reserved record is written or given up
  // Writes a full pack's index once no record of it is being written.
  void index_when_done(std::uint64_t id);
  std::vector<pack_entry> index_of(std::uint64_t id) const;
  void touch_pack(pack& p);
  void drop_pack(std::uint64_t id);
  std::uint64_t tick() { return ++clock_; }
  // File work off the I/O thread (unlinks, indexes) that close() waits for.
  void in_background(std::function<void()> work);
  // get() without the open set: the cache's file, checked, or a fetch.
  awaitable<std::shared_ptr<const cached_object>> load(const hash256& h, object_kind k, std::uint64_t size);
  awaitable<std::shared_ptr<const cached_object>> fetch(const hash256& h, object_kind k, std::uint64_t size);
  void touch(slot& s, const hash256& h);
  void evict();
  void forget(const hash256& h);
  void keep_open(const hash256& h, std::shared_ptr<const cached_object> o);

  repository* repo_;
  asio::thread_pool& blocking_;
  std::string dir_;
  std::uint64_t limit_;
  std::unordered_map<hash256, slot, hash256_hasher> slots_;
  std::list<hash256> lru_;  // own files; front: least recently used
  std::map<std::uint64_t, pack> packs_;  // by number (N.pack)
  std::list<std::uint64_t> pack_lru_;    // front: least recently used
  std::uint64_t pack_bytes_ = 0;         // a pack's size when full; 0: no packs
  std::uint64_t appending_ = 0;          // the pack appended to, 0: none yet
  std::uint64_t next_pack_ = 1;
  std::shared_ptr<std::atomic<int>> background_ = std::make_shared<std::atomic<int>>(0);
  std::uint64_t clock_ = 0;              // ticks: nanoseconds of mtimes at start, then +1 a use
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
