// A mount's read-ahead: whole small files fetched into the object cache
// before a reader asks for them, and the next chunk of a file read in
// order. Listing a directory queues the files of at most 1 MiB below it in
// its catalog in pre-order — the order of a depth-first walker (tar, cp -r,
// find -exec) — and a few coroutines fetch them (docs/DESIGN.md, "Mount").
// Thread: the I/O thread.
#pragma once

#include "catalog/read/mount_tree.hpp"
#include "catalog/read/object_cache.hpp"

#include <deque>
#include <functional>
#include <unordered_set>

namespace stratum {

class prefetcher {
 public:
  // `workers` fetches at once, `ahead` files queued by one listing at most;
  // `spawn` starts a coroutine (the mount waits for those it started before
  // it ends).
  prefetcher(mount_tree& tree, object_cache& cache, unsigned workers, std::size_t ahead,
             std::function<void(awaitable<void>)> spawn);

  // Called on the I/O thread with each small file fetched ahead whose inode
  // the kernel knows (a child of the directory listed), and its object: the
  // mount hands the content to the kernel's page cache, so the reader's read
  // needs no request at all. (The files deeper down are handed over when
  // their directory is listed, fuse_glue.cpp.)
  std::function<void(std::uint64_t ino, std::shared_ptr<const cached_object> o)> fetched;

  // Directory `dir` was listed.
  void listed(std::uint64_t dir);
  // A read reached unit `u - 1` of `c`: unit `u` is fetched now.
  void next_unit(std::shared_ptr<const file_content> c, std::size_t u);

 private:
  awaitable<void> worker();
  awaitable<void> warm(std::shared_ptr<const file_content> c, std::size_t u);

  mount_tree& tree_;
  object_cache& cache_;
  unsigned most_workers_;
  std::size_t ahead_;
  std::function<void(awaitable<void>)> spawn_;
  std::deque<small_file> queue_;
  std::unordered_set<hash256, hash256_hasher> queued_;  // in queue_
  unsigned workers_ = 0;
};

}  // namespace stratum
