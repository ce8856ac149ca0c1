// Restoring a tree (or a subtree) of a revision into a local directory, and
// checking a repository's integrity.
// Thread: the I/O thread; destination writes on the blocking pool.
#pragma once

#include "catalog/publish/publisher.hpp"
#include "catalog/read/repository.hpp"

namespace stratum {

struct restore_options {
  std::string dest;
  std::optional<std::string> tag;
  std::string subtree;  // "" = everything
  bool force = false;   // restore into a non-empty destination (see restore())
  bool owners = false;  // set uid/gid (needs root; default: when running as root)
  unsigned parallel = 32;
};

struct restore_result {
  std::uint64_t files = 0, directories = 0, others = 0, bytes = 0;
  std::vector<problem> problems;
};

// Recreates every entry below the subtree in `dest`. Nothing is created
// outside `dest`: names come from validated catalogs and every path is opened
// beneath `dest` without following symlinks (openat2 RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS), a part at a time when it is longer than PATH_MAX.
// A file whose object is missing or corrupt is not written, a nested catalog
// that is damaged leaves its mount point empty; each is reported and the rest
// is restored. Into a non-empty `dest` (--force), a regular file or an empty
// directory in the way of an entry is replaced (unlinked, never truncated in
// place: it may be a hard link to a file elsewhere); a symlink, special file
// or non-empty directory in the way is left alone and reported. An mtime the
// destination's file system cannot hold is reported too.
awaitable<restore_result> restore(repository& repo, asio::thread_pool& blocking, const restore_options& opt);

struct check_options {
  bool integrity = false;  // -i: fetch and re-hash every object
  std::string subtree;
  unsigned parallel = 64;
};

struct check_result {
  std::uint64_t catalogs = 0, objects = 0, bytes = 0;
  std::vector<problem> problems;
};

// Checks the current revision and every tagged one: each catalog verifies and
// decodes, each referenced object exists (and with `integrity`, inflates to
// the recorded size and matches its hash). Problems name the object and path.
awaitable<check_result> check(repository& repo, const check_options& opt);

}  // namespace stratum
