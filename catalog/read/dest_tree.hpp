// The blocking file-system work of a restore below one destination
// directory (DEST). Every path is resolved beneath DEST without following
// symlinks (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), a part at a time
// when it is PATH_MAX bytes or longer, and nothing that was there before is
// followed, truncated or removed, except a regular file or an empty
// directory in the way of an entry (a DEST restored into with --force).
// Thread: the blocking pool (every call blocks); one object is shared by
// the pool's threads, and its methods are const and may run at once.
// Failures throw (fail_errno / fail) naming the path below DEST.
#pragma once

#include "catalog/format/catalog.hpp"

#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace stratum {

class dest_tree {
 public:
  // Opens DEST, which must exist. `owners`: set uid/gid (needs root).
  dest_tree(const std::string& dest, bool owners);
  ~dest_tree();
  dest_tree(const dest_tree&) = delete;
  dest_tree& operator=(const dest_tree&) = delete;

  // The directory of `rel`, opened beneath DEST, and its last name.
  struct parent {
    int fd;
    bool owned;
    std::string name;
    ~parent() { if (owned) ::close(fd); }
  };
  parent open_parent(const std::string& rel) const;
  // openat2 of `rel` beneath DEST: a descriptor, or -errno.
  int beneath(const std::string& rel, int flags, mode_t mode = 0) const;

  // Makes the directory `rel` (mode 0700 until finish_dir); an existing
  // directory is taken as it is.
  void mkdir(const std::string& rel) const;
  // A new file at `rel` (O_EXCL), open for writing; the caller closes it.
  int create_file(const std::string& rel) const;
  // Removes a file create_file made, after a failure; never throws.
  void remove_created(const std::string& rel) const noexcept;
  // Writes `data` at `offset` into `fd`, leaving whole zero blocks as holes.
  static void write_sparse(int fd, byte_view data, std::uint64_t offset, const std::string& rel);

  // These set an entry's size, owner, mode, xattrs and mtime. They return
  // what is there but could not be restored exactly (an mtime the file
  // system cannot hold), or "".
  std::string finish_file(int fd, const entry& e, const std::string& rel) const;
  std::string finish_dir(const entry& e, const std::string& rel) const;
  // Symlinks, FIFOs, devices and sockets.
  std::string make_special(const entry& e, const std::string& rel) const;
  // A hard link at `rel` to `existing` (both below DEST).
  void link(const std::string& existing, const std::string& rel) const;

 private:
  // Under PATH_MAX (4096 with the terminating NUL), with room to spare.
  static constexpr std::size_t path_part_max = 4000;

  std::string apply_fd(int fd, const entry& e, const std::string& rel) const;
  static int open_below(int dir, const std::string& rel, int flags, mode_t mode);
  void clear_way(const parent& p, const std::string& rel) const;
  static bool within_32_bits(const entry& e);
  static std::string time_kept(const entry& e, const struct stat& st);
  static std::string seconds(std::int64_t sec, long nsec);

  std::string dest_;
  bool owners_;
  int fd_;
};

// Sets `xattrs` on the open file `fd` (restored as `rel`): the only place
// restore sets attributes. It checks each name itself, whatever validated
// the catalog: a name outside user.* throws errc::corrupt and nothing more
// is set.
void set_xattrs(int fd, const xattr_list& xattrs, const std::string& rel);

}  // namespace stratum
