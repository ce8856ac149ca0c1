// statx(2) into file_stat (file_stat.hpp). Thread: any.
#include "io/file_stat.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace stratum {

file_stat file_stat::from(const struct statx& s) {
  file_stat f;
  f.dev = makedev(s.stx_dev_major, s.stx_dev_minor);
  f.rdev = makedev(s.stx_rdev_major, s.stx_rdev_minor);
  f.ino = s.stx_ino;
  f.size = s.stx_size;
  f.mode = s.stx_mode;
  f.uid = s.stx_uid;
  f.gid = s.stx_gid;
  f.nlink = s.stx_nlink;
  f.mtime_sec = s.stx_mtime.tv_sec;
  f.mtime_nsec = s.stx_mtime.tv_nsec;
  f.ctime_sec = s.stx_ctime.tv_sec;
  f.ctime_nsec = s.stx_ctime.tv_nsec;
  return f;
}

bool file_stat::unchanged_since(const file_stat& b) const {
  return dev == b.dev && ino == b.ino && size == b.size && mtime_sec == b.mtime_sec &&
         mtime_nsec == b.mtime_nsec && ctime_sec == b.ctime_sec && ctime_nsec == b.ctime_nsec;
}

int stat_at(int dirfd, const char* name, file_stat& out) {
  struct statx s;
  if (::statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &s) != 0) return -errno;
  out = file_stat::from(s);
  return 0;
}

}  // namespace stratum
