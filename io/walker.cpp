// The getdents64 walk (walker.hpp). Thread: the calling thread (the
// publish's walker thread).
#include "io/walker.hpp"

#include "async/error.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace stratum {
namespace {

struct fd_guard {
  int fd;
  ~fd_guard() { if (fd >= 0) ::close(fd); }
};

std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

struct linux_dirent64 {
  std::uint64_t d_ino;
  std::int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Lists every name in the directory open at fd, except "." and "..".
int list_names(int fd, std::vector<std::string>& names) {
  // 64 KiB: a few hundred entries per system call.
  alignas(linux_dirent64) char buf[64 * 1024];
  for (;;) {
    long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0) return -errno;
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<linux_dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] == '.' && (d->d_name[1] == 0 || (d->d_name[1] == '.' && d->d_name[2] == 0))) continue;
      names.emplace_back(d->d_name);
    }
  }
}

class walker {
 public:
  explicit walker(const walk_callbacks& cb) : cb_(cb) {}

  void dir(int fd, std::string path, file_stat st, xattr_list xattrs) {
    if (cb_.stopped()) return;
    if (cb_.recorded) {
      if (auto subdirs = cb_.recorded(path)) {
        for (auto& name : *subdirs) descend(fd, path, name, {}, {});
        return;
      }
    }
    std::vector<std::string> names;
    if (int r = list_names(fd, names); r < 0) {
      // Not handed over: a directory that cannot be listed is not taken as empty.
      cb_.on_problem(path.empty() ? "." : path, std::string("cannot list directory: ") + std::strerror(-r) +
                                                    " (its entries are not published; fix the permissions and publish again)");
      return;
    }
    std::sort(names.begin(), names.end());

    walk_dir d{path, st, std::move(xattrs), {}};
    d.entries.reserve(names.size());
    for (auto& name : names) {
      walk_entry e{std::move(name), {}, {}, {}};
      if (int r = stat_at(fd, e.name.c_str(), e.st); r < 0) {
        cb_.on_problem(join(path, e.name), r == -ENOENT ? "vanished during the scan" : std::string("cannot stat: ") + std::strerror(-r));
        continue;
      }
      d.entries.push_back(std::move(e));
    }
    if (cb_.prefill) cb_.prefill(path, d.entries);

    std::erase_if(d.entries, [&](walk_entry& e) {
      if (e.meta_known) return false;
      if (S_ISLNK(e.st.mode)) {
        std::string target(std::max<std::uint64_t>(e.st.size, 255) + 1, '\0');
        ssize_t n = ::readlinkat(fd, e.name.c_str(), target.data(), target.size());
        if (n < 0) {
          cb_.on_problem(join(path, e.name), std::string("cannot read symlink: ") + std::strerror(errno));
          return true;
        }
        target.resize(n);
        e.link_target = std::move(target);
      } else if (S_ISREG(e.st.mode) || S_ISDIR(e.st.mode)) {
        if (int r = read_user_xattrs_at(fd, e.name, e.xattrs); r < 0 && r != -ENOTSUP)
          cb_.on_problem(join(path, e.name), std::string("cannot read extended attributes: ") + std::strerror(-r));
      }
      return false;
    });

    // Subdirectories to descend into, taken before the listing is handed over.
    std::vector<std::pair<std::string, std::pair<file_stat, xattr_list>>> subdirs;
    for (auto& e : d.entries)
      if (S_ISDIR(e.st.mode)) subdirs.push_back({e.name, {e.st, e.xattrs}});
    cb_.on_dir(std::move(d));
    // Nothing of the listing is needed below this point: kept, a directory
    // of 100,000 subdirectories held its 100,000 entries through its whole
    // descent (part of a 75 MB step in a 1M-file publish's RSS).
    d = walk_dir{};
    std::vector<std::string>().swap(names);

    for (auto& [name, meta] : subdirs) descend(fd, path, name, meta.first, std::move(meta.second));
  }

  void descend(int fd, const std::string& path, const std::string& name, file_stat st, xattr_list xattrs) {
    std::string sub = join(path, name);
    int cfd = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cfd < 0) {
      cb_.on_problem(sub, std::string("cannot open directory: ") + std::strerror(errno) +
                              " (its entries are not published; fix the permissions and publish again)");
      return;
    }
    fd_guard g{cfd};
    this->dir(cfd, std::move(sub), st, std::move(xattrs));
  }

 private:
  const walk_callbacks& cb_;
};

}  // namespace

namespace {

// Reads the values of the user.* names in `names` (NUL-separated, as the
// list calls return them) through `path` into `out` (empty on entry).
int read_user_values(const std::string& names, const std::string& path, xattr_list& out) {
  for (std::size_t pos = 0; pos < names.size();) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (name.rfind("user.", 0) != 0) continue;  // system/security/trusted need privilege and are not content
    std::string value(256, '\0');
    for (;;) {
      ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (v >= 0) { value.resize(v); break; }
      if (errno != ERANGE) return -errno;
      value.resize(value.size() * 4);
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  std::sort(out.begin(), out.end());
  return 0;
}

// Lists attribute names into `names` with `list` (returns a length or -1
// with errno, like llistxattr). Returns 0 or -errno.
template <class List>
int list_names_with(List&& list, std::string& names) {
  names.assign(1024, '\0');
  for (;;) {
    ssize_t n = list(names.data(), names.size());
    if (n >= 0) {
      names.resize(n);
      return 0;
    }
    if (errno != ERANGE) return -errno;
    names.resize(names.size() * 4);
  }
}

// listxattrat(2) (Linux 6.13; 465 in the unified syscall table of x86-64 and
// arm64): names relative to a directory descriptor. The path form,
// /proc/self/fd/N/NAME, walks procfs and checks ptrace access for every
// file: 3.4% of a Linux-tree publish's CPU time went there. -ENOSYS when the
// kernel (or a seccomp filter, which may say EPERM) does not have it.
long listxattrat(int dirfd, const char* name, char* list, std::size_t size) {
#if defined(__x86_64__) || defined(__aarch64__)
  static std::atomic<bool> unavailable{false};
  if (!unavailable.load(std::memory_order_relaxed)) {
    long n = ::syscall(465, dirfd, name, AT_SYMLINK_NOFOLLOW, list, size);
    if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
    unavailable.store(true, std::memory_order_relaxed);
  }
#endif
  (void)dirfd, (void)name, (void)list, (void)size;
  errno = ENOSYS;
  return -1;
}

}  // namespace

int read_user_xattrs(const std::string& path, xattr_list& out) {
  out.clear();
  std::string names;
  if (int r = list_names_with([&](char* b, std::size_t n) { return ::llistxattr(path.c_str(), b, n); }, names); r < 0) return r;
  return read_user_values(names, path, out);
}

int read_user_xattrs_at(int dirfd, const std::string& name, xattr_list& out) {
  out.clear();
  std::string names;
  auto proc = [&] { return "/proc/self/fd/" + std::to_string(dirfd) + "/" + name; };
  int r = list_names_with([&](char* b, std::size_t n) { return listxattrat(dirfd, name.c_str(), b, n); }, names);
  if (r == -ENOSYS) return read_user_xattrs(proc(), out);
  if (r < 0) return r;
  if (names.empty()) return 0;  // the common case: no attributes at all
  return read_user_values(names, proc(), out);
}

void walk_tree(const std::string& root, const walk_callbacks& cb) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOTDIR) fail(errc::usage, "source '" + root + "' is not a directory: give the directory to publish");
    if (err == ENOENT) fail(errc::usage, "source '" + root + "' does not exist");
    fail(errc::usage, "cannot open source '" + root + "': " + std::strerror(err));
  }
  fd_guard g{fd};
  struct statx s;
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &s) != 0) fail_errno(errno, "cannot stat source '" + root + "'");
  file_stat st = file_stat::from(s);
  xattr_list xattrs;
  read_user_xattrs(root, xattrs);
  walker(cb).dir(fd, "", st, std::move(xattrs));
}

}  // namespace stratum
