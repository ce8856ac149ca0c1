// Small files fetched ahead, written into the kernel's page cache for their
// inodes (FUSE_NOTIFY_STORE) before anyone reads them: a walker's read of
// such a file is then a page-cache hit, as on a warm mount, instead of a
// request whose round trip wakes two sleeping threads — the largest cost
// of a cold walk (docs/DESIGN.md, "Mount"). A kernel that does not hold the
// inode refuses (ENOENT); the file is then read as usual. (The kernel makes
// the inodes of a readdirplus reply in the lister's thread, after the reply
// is written: a push right after one is tried again a few times.)
//
// Thread: one of its own, fed from the I/O thread. Never the I/O thread
// itself: the kernel waits for the lock of each page it stores into, and a
// page being read stays locked until the I/O thread answers that read.
#pragma once

#include "catalog/read/object_cache.hpp"

#include <atomic>

struct fuse_session;

namespace stratum::cmd {

class page_cache_push {
 public:
  // The session pushes go to (set once it exists, before the first push).
  void use(fuse_session* se) { se_ = se; }
  // Queues the content of `obj` for inode `ino`; refused for want of the
  // inode, it is tried again `retries` times, 2, 8 and 32 ms later.
  void queue(std::uint64_t ino, std::shared_ptr<const cached_object> obj, int retries = 0);
  // Drops what is queued and waits for the push under way: before the
  // session is destroyed.
  void stop();

  std::uint64_t pushed() const { return pushed_; }
  std::uint64_t refused() const { return refused_; }  // the kernel did not hold the inode
  std::uint64_t failed() const { return failed_; }    // any other error, the first one:
  int first_error() const { return first_error_; }

 private:
  void push(std::uint64_t ino, std::shared_ptr<const cached_object> obj, int retries);

  fuse_session* se_ = nullptr;
  asio::thread_pool thread_{1};
  std::atomic<std::uint64_t> pushed_{0}, refused_{0}, failed_{0};
  std::atomic<int> first_error_{0};
};

}  // namespace stratum::cmd
