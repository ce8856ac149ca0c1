// Restore's blocking file-system work beneath DEST (dest_tree.hpp).
// Thread: the blocking pool.
#include "catalog/read/dest_tree.hpp"

#include "async/error.hpp"
#include "catalog/read/validator.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace stratum {

dest_tree::dest_tree(const std::string& dest, bool owners) : dest_(dest), owners_(owners) {
  fd_ = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) fail_errno(errno, "cannot open destination '" + dest + "'");
}

dest_tree::~dest_tree() { ::close(fd_); }

dest_tree::parent dest_tree::open_parent(const std::string& rel) const {
  auto slash = rel.rfind('/');
  if (slash == std::string::npos) return {fd_, false, rel};
  int p = beneath(rel.substr(0, slash), O_PATH | O_DIRECTORY);
  if (p < 0) fail_errno(-p, "cannot open the directory of '" + rel + "'");
  return {p, true, rel.substr(slash + 1)};
}

// openat2(dest, rel, flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). A path
// of PATH_MAX bytes or more (refused by every call that takes a path with
// ENAMETOOLONG) is opened a part at a time, each part beneath the last.
int dest_tree::beneath(const std::string& rel, int flags, mode_t mode) const {
  std::string_view rest = rel.empty() ? std::string_view(".") : std::string_view(rel);
  int dir = fd_;
  auto release = [&] { if (dir != fd_) ::close(dir); };
  while (rest.size() >= path_part_max) {
    auto cut = rest.rfind('/', path_part_max);
    if (cut == std::string_view::npos || cut == 0) {
      release();
      return -ENAMETOOLONG;
    }
    int next = open_below(dir, std::string(rest.substr(0, cut)), O_PATH | O_DIRECTORY, 0);
    release();
    if (next < 0) return next;
    dir = next;
    rest = rest.substr(cut + 1);
  }
  int r = open_below(dir, std::string(rest), flags, mode);
  release();
  return r;
}

void dest_tree::mkdir(const std::string& rel) const {
  if (rel.empty()) return;
  auto p = open_parent(rel);
  if (::mkdirat(p.fd, p.name.c_str(), 0700) == 0) return;
  if (errno != EEXIST) fail_errno(errno, "cannot create directory '" + rel + "'");
  struct stat st;
  if (::fstatat(p.fd, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) return;  // --force: reused
  clear_way(p, rel);
  if (::mkdirat(p.fd, p.name.c_str(), 0700) != 0) fail_errno(errno, "cannot create directory '" + rel + "'");
}

// A new file, never one that was there: O_EXCL, so an existing name is
// neither followed (a symlink) nor truncated in place (a regular file may
// be a hard link to a file outside the destination).
// One openat2 when nothing is in the way, as for every file of a restore
// into an empty DEST.
int dest_tree::create_file(const std::string& rel) const {
  constexpr int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
  int fd = beneath(rel, flags, 0600);
  if (fd == -EEXIST) {
    auto p = open_parent(rel);
    clear_way(p, rel);
    fd = ::openat(p.fd, p.name.c_str(), flags | O_CLOEXEC, 0600);
    if (fd < 0) fd = -errno;
  }
  if (fd < 0) fail_errno(-fd, "cannot create '" + rel + "'");
  return fd;
}

// Best effort, after a failure already reported: a second error here
// would only hide the first.
void dest_tree::remove_created(const std::string& rel) const noexcept {
  try {
    auto p = open_parent(rel);
    ::unlinkat(p.fd, p.name.c_str(), 0);
  } catch (const std::exception&) {
  }
}

// Writes `data` at `offset`, leaving holes where whole 4 KiB blocks are
// zero, so sparse files stay sparse.
void dest_tree::write_sparse(int fd, byte_view data, std::uint64_t offset, const std::string& rel) {
  constexpr std::size_t block = 4096;
  std::size_t i = 0;
  while (i < data.size()) {
    std::size_t n = std::min(block, data.size() - i);
    bool zero = data[i] == 0 && std::memcmp(data.data() + i, data.data() + i + 1, n - 1) == 0;
    if (zero) {
      i += n;
      continue;
    }
    std::size_t j = i + n;  // extend the run of non-zero blocks
    while (j < data.size()) {
      std::size_t m = std::min(block, data.size() - j);
      if (data[j] == 0 && std::memcmp(data.data() + j, data.data() + j + 1, m - 1) == 0) break;
      j += m;
    }
    for (std::size_t done = i; done < j;) {
      ssize_t w = ::pwrite(fd, data.data() + done, j - done, static_cast<off_t>(offset + done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) fail_errno(errno, "cannot write '" + rel + "'");
      done += static_cast<std::size_t>(w);
    }
    i = j;
  }
}

// The finish_* and make_special calls return what could not be restored
// exactly but is there (an mtime the file system cannot hold), or "".
std::string dest_tree::finish_file(int fd, const entry& e, const std::string& rel) const {
  if (::ftruncate(fd, static_cast<off_t>(e.size)) != 0) fail_errno(errno, "cannot size '" + rel + "'");
  return apply_fd(fd, e, rel);
}

std::string dest_tree::apply_fd(int fd, const entry& e, const std::string& rel) const {
  if (owners_ && ::fchown(fd, e.uid, e.gid) != 0) fail_errno(errno, "cannot chown '" + rel + "'");
  if (::fchmod(fd, e.mode) != 0) fail_errno(errno, "cannot chmod '" + rel + "'");
  set_xattrs(fd, e.xattrs, rel);
  timespec ts[2] = {{e.mtime_sec, e.mtime_nsec}, {e.mtime_sec, e.mtime_nsec}};
  if (::futimens(fd, ts) != 0) fail_errno(errno, "cannot set the time of '" + rel + "'");
  if (within_32_bits(e)) return {};
  struct stat st;
  if (::fstat(fd, &st) != 0) fail_errno(errno, "cannot stat '" + rel + "'");
  return time_kept(e, st);
}

std::string dest_tree::finish_dir(const entry& e, const std::string& rel) const {
  int fd = beneath(rel, O_RDONLY | O_DIRECTORY);
  if (fd < 0) fail_errno(-fd, "cannot open directory '" + rel + "'");
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } c{fd};
  return apply_fd(fd, e, rel);
}

// Symlinks, FIFOs, devices and sockets.
std::string dest_tree::make_special(const entry& e, const std::string& rel) const {
  auto p = open_parent(rel);
  auto make = [&] {
    if (e.type == entry_type::symlink) return ::symlinkat(e.link_target.c_str(), p.fd, p.name.c_str());
    return ::mknodat(p.fd, p.name.c_str(), st_mode_type(e.type) | e.mode, static_cast<dev_t>(e.rdev));
  };
  int r = make();
  if (r != 0 && errno == EEXIST) {
    clear_way(p, rel);
    r = make();
  }
  if (r != 0) fail_errno(errno, "cannot create '" + rel + "'");
  if (owners_ && ::fchownat(p.fd, p.name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(errno, "cannot chown '" + rel + "'");
  if (e.type != entry_type::symlink && ::fchmodat(p.fd, p.name.c_str(), e.mode, 0) != 0) fail_errno(errno, "cannot chmod '" + rel + "'");
  timespec ts[2] = {{e.mtime_sec, e.mtime_nsec}, {e.mtime_sec, e.mtime_nsec}};
  if (::utimensat(p.fd, p.name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(errno, "cannot set the time of '" + rel + "'");
  if (within_32_bits(e)) return {};
  struct stat st;
  if (::fstatat(p.fd, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(errno, "cannot stat '" + rel + "'");
  return time_kept(e, st);
}

void dest_tree::link(const std::string& existing, const std::string& rel) const {
  auto from = open_parent(existing);
  auto to = open_parent(rel);
  int r = ::linkat(from.fd, from.name.c_str(), to.fd, to.name.c_str(), 0);
  if (r != 0 && errno == EEXIST) {
    clear_way(to, rel);
    r = ::linkat(from.fd, from.name.c_str(), to.fd, to.name.c_str(), 0);
  }
  if (r != 0) fail_errno(errno, "cannot hard-link '" + rel + "'");
}

int dest_tree::open_below(int dir, const std::string& rel, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
  long r = ::syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how);
  return r < 0 ? -errno : static_cast<int>(r);
}

// Something is at `p.name` where an entry goes (a destination restored into
// with --force). A regular file or an empty directory is removed so the
// entry can be created; anything else — a symlink (perhaps the user's, and
// never followed), a FIFO, a device, a non-empty directory — is left as
// it is, and the entry becomes a problem that says what to do.
void dest_tree::clear_way(const parent& p, const std::string& rel) const {
  struct stat st;
  if (::fstatat(p.fd, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(errno, "cannot look at the existing '" + rel + "'");
  if (S_ISREG(st.st_mode)) {
    if (::unlinkat(p.fd, p.name.c_str(), 0) != 0) fail_errno(errno, "cannot replace the existing file '" + rel + "'");
    return;
  }
  if (S_ISDIR(st.st_mode) && ::unlinkat(p.fd, p.name.c_str(), AT_REMOVEDIR) == 0) return;
  const char* what = S_ISDIR(st.st_mode) ? "a directory that is not empty" : S_ISLNK(st.st_mode) ? "a symlink" : "a special file";
  fail(errc::permanent, "'" + rel + "' already exists in the destination as " + what +
                            ", which restore does not replace (only regular files and empty directories); move it away and restore again");
}

// A file system may hold less than a catalog's 64-bit seconds (ext4 and
// XFS without bigtime: from -2^31) and clamps silently; what it kept is
// reported, not hidden. Every Linux file system with nanosecond times holds
// the 32-bit range, so only times outside it are read back (an fstat per
// file otherwise); coarser clocks (FAT's 2 s) are not reported, as before.
bool dest_tree::within_32_bits(const entry& e) { return e.mtime_sec >= INT32_MIN && e.mtime_sec <= INT32_MAX; }

std::string dest_tree::time_kept(const entry& e, const struct stat& st) {
  if (st.st_mtim.tv_sec == e.mtime_sec && st.st_mtim.tv_nsec == static_cast<long>(e.mtime_nsec)) return {};
  return "restored, but the destination's file system cannot hold its mtime " + seconds(e.mtime_sec, e.mtime_nsec) +
         " and keeps " + seconds(st.st_mtim.tv_sec, st.st_mtim.tv_nsec) +
         "; restore onto a file system with a wider time range (tmpfs, btrfs) for the exact value";
}

std::string dest_tree::seconds(std::int64_t sec, long nsec) {
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09ld s", nsec);
  return std::to_string(sec) + frac;
}

void set_xattrs(int fd, const xattr_list& xattrs, const std::string& rel) {
  for (auto& [k, v] : xattrs) {
    // Checked here too, not only when the catalog was read: an attribute
    // outside user.* can grant capabilities (security.capability), reach
    // the kernel's trusted.* or rewrite permissions (system.posix_acl_*).
    if (!allowed_xattr_name(k))
      fail(errc::corrupt, "'" + rel + "': extended attribute '" + k + "' is outside the user.* namespace and is never set");
    if (::fsetxattr(fd, k.c_str(), v.data(), v.size(), 0) != 0) fail_errno(errno, "cannot set attribute " + k + " on '" + rel + "'");
  }
}

}  // namespace stratum
