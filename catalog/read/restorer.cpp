// `stratum restore` (restorer.hpp). Thread: the I/O thread; every write to
// the destination runs on the blocking pool.
#include "catalog/read/restorer.hpp"

#include "async/budget.hpp"
#include "async/error.hpp"
#include "async/group.hpp"
#include "catalog/read/validator.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace stratum {
namespace {

struct item {
  const entry* e;
  const catalog* cat;  // hardlink groups are per catalog
  std::string rel;  // below the destination; "" is the destination itself
};

std::string rel_of(const std::string& path, const std::string& subtree, bool subtree_is_file) {
  if (subtree_is_file) return path.substr(path.rfind('/') + 1);
  if (subtree.empty()) return path;
  if (path == subtree) return "";
  return path.substr(subtree.size() + 1);
}

// Everything below `top` (an entry of `cat`), pre-order, nested catalogs
// followed. A nested catalog's first entry is its mount point, already taken
// from the parent. A nested catalog that does not load or validate is a
// problem of its mount point: the directory is restored (its entry is the
// parent's), its contents are not, the rest is.
awaitable<void> collect(repository& repo, std::shared_ptr<const catalog> cat, const entry* top, const std::string& subtree,
                        bool is_file, std::vector<item>& out, std::vector<std::shared_ptr<const catalog>>& keep,
                        std::vector<problem>& problems, bool include_top = true) {
  keep.push_back(cat);
  auto first = cat->entries.begin() + (top - cat->entries.data());
  for (auto it = first; it != cat->entries.end() && path_within(it->path, top->path); ++it) {
    if (it == first && !include_top) continue;
    out.push_back({&*it, cat.get(), rel_of(it->path, subtree, is_file)});
    if (it->nested_root && it->path != cat->root_path) {
      std::shared_ptr<const catalog> sub;
      try {
        sub = co_await repo.load_nested(*cat, *it);
      } catch (const std::exception& e) {
        if (ends_run(e)) throw;
        problems.push_back({out.back().rel.empty() ? "." : out.back().rel, std::string(e.what()) + "; its contents are not restored"});
      }
      if (sub) co_await collect(repo, sub, &sub->entries.front(), subtree, is_file, out, keep, problems, false);
    }
  }
}

// Blocking file-system work below one destination directory. Every path is
// resolved beneath it without following symlinks, and nothing that was
// there before is followed, truncated or removed unless it is a regular file
// or an empty directory in the way of an entry (clear_way).
class dest_tree {
 public:
  dest_tree(const std::string& dest, bool owners) : dest_(dest), owners_(owners) {
    fd_ = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) fail_errno(errno, "cannot open destination '" + dest + "'");
  }
  ~dest_tree() { ::close(fd_); }

  struct parent {
    int fd;
    bool owned;
    std::string name;
    ~parent() { if (owned) ::close(fd); }
  };

  parent open_parent(const std::string& rel) const {
    auto slash = rel.rfind('/');
    if (slash == std::string::npos) return {fd_, false, rel};
    int p = beneath(rel.substr(0, slash), O_PATH | O_DIRECTORY);
    if (p < 0) fail_errno(-p, "cannot open the directory of '" + rel + "'");
    return {p, true, rel.substr(slash + 1)};
  }

  // openat2(dest, rel, flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). A path
  // of PATH_MAX bytes or more (refused by every call that takes a path with
  // ENAMETOOLONG) is opened a part at a time, each part beneath the last.
  int beneath(const std::string& rel, int flags, mode_t mode = 0) const {
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

  void mkdir(const std::string& rel) const {
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
  int create_file(const std::string& rel) const {
    auto p = open_parent(rel);
    auto create = [&] { return ::openat(p.fd, p.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600); };
    int fd = create();
    if (fd < 0 && errno == EEXIST) {
      clear_way(p, rel);
      fd = create();
    }
    if (fd < 0) fail_errno(errno, "cannot create '" + rel + "'");
    return fd;
  }

  // Best effort, after a failure already reported: a second error here
  // would only hide the first.
  void remove_created(const std::string& rel) const noexcept {
    try {
      auto p = open_parent(rel);
      ::unlinkat(p.fd, p.name.c_str(), 0);
    } catch (const std::exception&) {
    }
  }

  // Writes `data` at `offset`, leaving holes where whole 4 KiB blocks are
  // zero, so sparse files stay sparse.
  static void write_sparse(int fd, byte_view data, std::uint64_t offset, const std::string& rel) {
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
  std::string finish_file(int fd, const entry& e, const std::string& rel) const {
    if (::ftruncate(fd, static_cast<off_t>(e.size)) != 0) fail_errno(errno, "cannot size '" + rel + "'");
    return apply_fd(fd, e, rel);
  }

  std::string apply_fd(int fd, const entry& e, const std::string& rel) const {
    if (owners_ && ::fchown(fd, e.uid, e.gid) != 0) fail_errno(errno, "cannot chown '" + rel + "'");
    if (::fchmod(fd, e.mode) != 0) fail_errno(errno, "cannot chmod '" + rel + "'");
    set_xattrs(fd, e.xattrs, rel);
    timespec ts[2] = {{e.mtime_sec, e.mtime_nsec}, {e.mtime_sec, e.mtime_nsec}};
    if (::futimens(fd, ts) != 0) fail_errno(errno, "cannot set the time of '" + rel + "'");
    struct stat st;
    if (::fstat(fd, &st) != 0) fail_errno(errno, "cannot stat '" + rel + "'");
    return time_kept(e, st);
  }

  std::string finish_dir(const entry& e, const std::string& rel) const {
    int fd = beneath(rel, O_RDONLY | O_DIRECTORY);
    if (fd < 0) fail_errno(-fd, "cannot open directory '" + rel + "'");
    struct closer {
      int fd;
      ~closer() { ::close(fd); }
    } c{fd};
    return apply_fd(fd, e, rel);
  }

  // Symlinks, FIFOs, devices and sockets.
  std::string make_special(const entry& e, const std::string& rel) const {
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
    struct stat st;
    if (::fstatat(p.fd, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(errno, "cannot stat '" + rel + "'");
    return time_kept(e, st);
  }

  void link(const std::string& existing, const std::string& rel) const {
    auto from = open_parent(existing);
    auto to = open_parent(rel);
    int r = ::linkat(from.fd, from.name.c_str(), to.fd, to.name.c_str(), 0);
    if (r != 0 && errno == EEXIST) {
      clear_way(to, rel);
      r = ::linkat(from.fd, from.name.c_str(), to.fd, to.name.c_str(), 0);
    }
    if (r != 0) fail_errno(errno, "cannot hard-link '" + rel + "'");
  }

 private:
  // Under PATH_MAX (4096 with the terminating NUL), with room to spare.
  static constexpr std::size_t path_part_max = 4000;

  static int open_below(int dir, const std::string& rel, int flags, mode_t mode) {
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
  void clear_way(const parent& p, const std::string& rel) const {
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

  // The file system may hold less than a catalog's 64-bit seconds (ext4:
  // from -2^31) and clamps silently; what it kept is reported, not hidden.
  static std::string time_kept(const entry& e, const struct stat& st) {
    if (st.st_mtim.tv_sec == e.mtime_sec && st.st_mtim.tv_nsec == static_cast<long>(e.mtime_nsec)) return {};
    return "restored, but the destination's file system cannot hold its mtime " + seconds(e.mtime_sec, e.mtime_nsec) +
           " and keeps " + seconds(st.st_mtim.tv_sec, st.st_mtim.tv_nsec) +
           "; restore onto a file system with a wider time range (tmpfs, btrfs) for the exact value";
  }

  static std::string seconds(std::int64_t sec, long nsec) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ld s", nsec);
    return std::to_string(sec) + frac;
  }

  std::string dest_;
  bool owners_;
  int fd_;
};

bool dir_is_empty(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return true;
  char buf[4096];
  long n;
  bool empty = true;
  while (empty && (n = ::syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
    for (long off = 0; off < n;) {
      auto reclen = *reinterpret_cast<unsigned short*>(buf + off + 16);
      const char* name = buf + off + 19;
      if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) empty = false;
      off += reclen;
    }
  ::close(fd);
  return empty;
}

}  // namespace

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

awaitable<restore_result> restore(repository& repo, asio::thread_pool& blocking, const restore_options& opt) {
  restore_result res;
  auto root = repo.root_for(opt.tag);
  auto top = co_await repo.find(root, opt.subtree);
  if (!top.e) fail(errc::usage, "no '" + opt.subtree + "' in the repository at " + repo.store().describe());
  const bool is_file = top.e->type != entry_type::directory;

  struct stat ds;
  if (::stat(opt.dest.c_str(), &ds) == 0) {
    if (!S_ISDIR(ds.st_mode)) fail(errc::usage, "destination '" + opt.dest + "' exists and is not a directory");
    if (!opt.force && !dir_is_empty(opt.dest))
      fail(errc::usage, "destination '" + opt.dest + "' is not empty: restore into an empty or new directory, or pass --force");
  } else if (::mkdir(opt.dest.c_str(), 0700) != 0) {
    fail_errno(errno, "cannot create destination '" + opt.dest + "'");
  }
  dest_tree dest(opt.dest, opt.owners);

  std::vector<item> items;
  std::vector<std::shared_ptr<const catalog>> keep;
  co_await collect(repo, top.cat, top.e, opt.subtree, is_file, items, keep, res.problems);

  // A store outage or a cancellation ends the restore (ends_run); anything
  // else is this path's problem and the rest is restored.
  auto problem_of = [&](const item& it, const std::exception& e, const char* outcome = "not restored") {
    if (ends_run(e)) throw;
    res.problems.push_back({it.rel.empty() ? "." : it.rel, std::string(e.what()) + "; " + outcome});
  };
  auto note = [&](const item& it, const std::string& what) {
    if (!what.empty()) res.problems.push_back({it.rel.empty() ? "." : it.rel, what});
  };

  // Directories and everything but file contents, in pre-order. A directory
  // that cannot be made takes its subtree with it (items are in pre-order,
  // so the subtree is the run of items below it): one problem, not one per
  // entry below.
  std::vector<bool> skipped(items.size());
  std::vector<std::size_t> files, dirs;
  std::map<std::pair<const catalog*, std::uint32_t>, std::size_t> first_of_group;
  std::vector<std::pair<std::size_t, std::size_t>> links;  // (item, first item of its group)
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (skipped[i]) continue;
    const entry& e = *items[i].e;
    if (e.hardlink_group) {
      auto [it, fresh] = first_of_group.emplace(std::pair{items[i].cat, e.hardlink_group}, i);
      if (!fresh) {
        links.emplace_back(i, it->second);
        continue;
      }
    }
    if (e.type == entry_type::directory) {
      try {
        co_await run_on(blocking, [&] { dest.mkdir(items[i].rel); });
        dirs.push_back(i);
      } catch (const std::exception& ex) {
        problem_of(items[i], ex, "not restored, nor anything below it");
        for (std::size_t j = i + 1; j < items.size() && path_within(items[j].rel, items[i].rel); ++j) skipped[j] = true;
      }
    } else if (e.type == entry_type::regular) {
      files.push_back(i);
    }
  }

  // File contents, `parallel` at a time, with a memory budget for objects.
  budget memory(co_await asio::this_coro::executor, std::size_t(256) << 20);
  std::size_t next = 0;
  auto worker = [&]() -> awaitable<void> {
    while (next < files.size()) {
      const item& it = items[files[next++]];
      const entry& e = *it.e;
      bool created = false, failed = false;
      try {
        int fd = co_await run_on(blocking, [&] { return dest.create_file(it.rel); });
        created = true;
        struct closer {
          int fd;
          ~closer() { ::close(fd); }
        } c{fd};
        std::uint64_t offset = 0;
        auto put_part = [&](const hash256& h, object_kind k, std::uint64_t size) -> awaitable<void> {
          auto l = co_await lease(memory, size);
          auto data = co_await repo.read_object(h, k, size);
          co_await run_on(blocking, [&] { dest_tree::write_sparse(fd, data, offset, it.rel); });
          offset += size;
        };
        if (e.object) co_await put_part(*e.object, object_kind::file, e.size);
        for (auto& ch : e.chunks) co_await put_part(ch.hash, object_kind::chunk, ch.size);
        note(it, co_await run_on(blocking, [&] { return dest.finish_file(fd, e, it.rel); }));
        ++res.files;
        res.bytes += e.size;
      } catch (const std::exception& ex) {
        problem_of(it, ex);
        failed = true;
      }
      // Leave no partial file behind under the name — only one this restore
      // made: what was there before (a user's symlink) is not touched.
      if (failed && created) co_await run_on(blocking, [&] { dest.remove_created(it.rel); });
    }
  };
  std::vector<awaitable<void>> workers;
  for (unsigned i = 0; i < std::max(1u, opt.parallel); ++i) workers.push_back(worker());
  co_await run_all(std::move(workers));

  std::vector<bool> is_link(items.size());
  for (auto& l : links) is_link[l.first] = true;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const item& it = items[i];
    const entry& e = *it.e;
    if (skipped[i] || e.type == entry_type::directory || e.type == entry_type::regular || is_link[i]) continue;
    try {
      note(it, co_await run_on(blocking, [&] { return dest.make_special(e, it.rel); }));
      ++res.others;
    } catch (const std::exception& ex) {
      problem_of(it, ex);
    }
  }
  for (auto [i, first] : links) {
    if (skipped[i]) continue;
    try {
      co_await run_on(blocking, [&] { dest.link(items[first].rel, items[i].rel); });
      if (items[i].e->type == entry_type::regular) ++res.files;
      else ++res.others;
    } catch (const std::exception& ex) {
      problem_of(items[i], ex);
    }
  }
  // Directory metadata last and deepest first, so writing into a directory
  // does not change its mtime afterwards and read-only ones can be filled.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    try {
      note(items[*it], co_await run_on(blocking, [&] { return dest.finish_dir(*items[*it].e, items[*it].rel); }));
      ++res.directories;
    } catch (const std::exception& ex) {
      problem_of(items[*it], ex);
    }
  }
  co_return res;
}

}  // namespace stratum
