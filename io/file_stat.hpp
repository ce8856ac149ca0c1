// What stratum keeps of a file's inode, taken from statx(2).
// Thread: any.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

struct statx;

namespace stratum {

struct file_stat {
  std::uint64_t dev = 0, ino = 0, size = 0, rdev = 0;
  std::uint32_t mode = 0, uid = 0, gid = 0, nlink = 0;  // mode: type and permission bits
  std::int64_t mtime_sec = 0, ctime_sec = 0;
  std::uint32_t mtime_nsec = 0, ctime_nsec = 0;

  static file_stat from(const struct statx& s);
  // Same file, same content as far as the inode can tell: compares what a
  // writer changes (size, mtime, ctime) and the identity (dev, inode).
  bool unchanged_since(const file_stat& before) const;
};

using xattr_list = std::vector<std::pair<std::string, std::string>>;

// statx(dirfd, name, AT_SYMLINK_NOFOLLOW). Returns 0 or -errno.
int stat_at(int dirfd, const char* name, file_stat& out);

}  // namespace stratum
