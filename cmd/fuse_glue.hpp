// The kernel side of `stratum mount`: a libfuse3 low-level session whose
// requests the I/O thread reads itself and turns into coroutines
// (mount_tree, object_cache), answered when they finish: a request waiting
// for a fetch holds a coroutine, not a thread, and one answered from memory
// crosses no thread. The only file that includes libfuse's headers.
// Thread: the I/O thread; reads whose cache file must come from disk are
// answered from the blocking pool.
#pragma once

#include "catalog/read/mount_tree.hpp"
#include "catalog/read/object_cache.hpp"

#include <functional>

namespace stratum::cmd {

struct fuse_options {
  std::string mountpoint;
  std::string fsname;       // shown by mount(8) and df(1)
  bool allow_other = false;  // others may read (root only, or user_allow_other)
  double timeout = 86400;    // seconds the kernel keeps names and attributes
  unsigned prefetchers = 32;          // fetches at once ahead of a walker
  std::size_t prefetch_ahead = 4096;  // files a listing queues at most
  std::function<void(const std::string&)> log;  // one line per event worth telling
};

// What the kernel asked and was given, for the log at unmount.
struct fuse_glue_stats {
  std::uint64_t reads = 0;           // read requests answered with data
  std::uint64_t pushed = 0;          // small files put into the kernel's page cache ahead
  std::uint64_t push_refused = 0;    // ... which it refused: it did not hold the inode
  std::uint64_t push_failed = 0;     // ... which failed otherwise, the first with errno:
  int push_error = 0;
};

class fuse_glue {
 public:
  fuse_glue(asio::io_context& io, asio::thread_pool& blocking, mount_tree& tree, object_cache& cache, fuse_options o);
  ~fuse_glue();

  // Creates the session and mounts it. Throws errc::permanent with the
  // reason (libfuse prints its own to stderr too).
  void mount();
  // Reads and answers requests until the file system is unmounted (umount, fusermount3 -u, or unmount() below), then waits for
  // every request under way to be answered.
  awaitable<void> serve();
  // Detaches the mount (SIGTERM, SIGINT): serve() then returns.
  void unmount();
  // After a switch to another revision: the kernel forgets these names in
  // the root directory, so new lookups reach the new revision.
  void forget_root_names(std::vector<std::string> names);

  fuse_glue_stats stats() const;

  struct impl;

 private:
  std::unique_ptr<impl> p_;
};

}  // namespace stratum::cmd
