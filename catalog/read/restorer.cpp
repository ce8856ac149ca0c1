// `stratum restore` (restorer.hpp). Thread: the I/O thread; every write to
// the destination runs on the blocking pool.
#include "catalog/read/restorer.hpp"

#include "async/budget.hpp"
#include "async/error.hpp"
#include "async/group.hpp"

#include <cerrno>
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
// from the parent.
awaitable<void> collect(repository& repo, std::shared_ptr<const catalog> cat, const entry* top, const std::string& subtree,
                        bool is_file, std::vector<item>& out, std::vector<std::shared_ptr<const catalog>>& keep,
                        bool include_top = true) {
  keep.push_back(cat);
  auto first = cat->entries.begin() + (top - cat->entries.data());
  for (auto it = first; it != cat->entries.end() && path_within(it->path, top->path); ++it) {
    if (it == first && !include_top) continue;
    out.push_back({&*it, cat.get(), rel_of(it->path, subtree, is_file)});
    if (it->nested_root && it->path != cat->root_path) {
      auto* n = nested_for(*cat, it->path);
      auto sub = co_await repo.load_catalog(n->hash);
      if (sub->root_path != it->path)
        fail(errc::corrupt, "catalog " + repo.format().object_key(n->hash, object_kind::catalog) + " is mounted at '" + it->path + "' but says '" + sub->root_path + "'");
      co_await collect(repo, sub, &sub->entries.front(), subtree, is_file, out, keep, false);
    }
  }
}

// Blocking file-system work below one destination directory. Every path is
// resolved beneath it without following symlinks.
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

  // openat2(dest, rel, flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).
  int beneath(const std::string& rel, int flags, mode_t mode = 0) const {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    long r = ::syscall(SYS_openat2, fd_, rel.empty() ? "." : rel.c_str(), &how, sizeof how);
    return r < 0 ? -errno : static_cast<int>(r);
  }

  void mkdir(const std::string& rel) const {
    if (rel.empty()) return;
    auto p = open_parent(rel);
    if (::mkdirat(p.fd, p.name.c_str(), 0700) != 0 && errno != EEXIST) fail_errno(errno, "cannot create directory '" + rel + "'");
  }

  int create_file(const std::string& rel) const {
    int fd = beneath(rel, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    if (fd < 0) fail_errno(-fd, "cannot create '" + rel + "'");
    return fd;
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

  void finish_file(int fd, const entry& e, const std::string& rel) const {
    if (::ftruncate(fd, static_cast<off_t>(e.size)) != 0) fail_errno(errno, "cannot size '" + rel + "'");
    apply_fd(fd, e, rel);
  }

  void apply_fd(int fd, const entry& e, const std::string& rel) const {
    if (owners_ && ::fchown(fd, e.uid, e.gid) != 0) fail_errno(errno, "cannot chown '" + rel + "'");
    if (::fchmod(fd, e.mode) != 0) fail_errno(errno, "cannot chmod '" + rel + "'");
    for (auto& [k, v] : e.xattrs)
      if (::fsetxattr(fd, k.c_str(), v.data(), v.size(), 0) != 0) fail_errno(errno, "cannot set attribute " + k + " on '" + rel + "'");
    timespec ts[2] = {{e.mtime_sec, e.mtime_nsec}, {e.mtime_sec, e.mtime_nsec}};
    if (::futimens(fd, ts) != 0) fail_errno(errno, "cannot set the time of '" + rel + "'");
  }

  void finish_dir(const entry& e, const std::string& rel) const {
    int fd = beneath(rel, O_RDONLY | O_DIRECTORY);
    if (fd < 0) fail_errno(-fd, "cannot open directory '" + rel + "'");
    try {
      apply_fd(fd, e, rel);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  }

  // Symlinks, FIFOs, devices and sockets.
  void make_special(const entry& e, const std::string& rel) const {
    auto p = open_parent(rel);
    int r;
    if (e.type == entry_type::symlink) r = ::symlinkat(e.link_target.c_str(), p.fd, p.name.c_str());
    else r = ::mknodat(p.fd, p.name.c_str(), st_mode_type(e.type) | e.mode, static_cast<dev_t>(e.rdev));
    if (r != 0) fail_errno(errno, "cannot create '" + rel + "'");
    if (owners_ && ::fchownat(p.fd, p.name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(errno, "cannot chown '" + rel + "'");
    if (e.type != entry_type::symlink && ::fchmodat(p.fd, p.name.c_str(), e.mode, 0) != 0) fail_errno(errno, "cannot chmod '" + rel + "'");
    timespec ts[2] = {{e.mtime_sec, e.mtime_nsec}, {e.mtime_sec, e.mtime_nsec}};
    if (::utimensat(p.fd, p.name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(errno, "cannot set the time of '" + rel + "'");
  }

  void link(const std::string& existing, const std::string& rel) const {
    auto from = open_parent(existing);
    auto to = open_parent(rel);
    if (::linkat(from.fd, from.name.c_str(), to.fd, to.name.c_str(), 0) != 0) fail_errno(errno, "cannot hard-link '" + rel + "'");
  }

 private:
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
  co_await collect(repo, top.cat, top.e, opt.subtree, is_file, items, keep);

  // A store outage or a cancellation ends the restore (ends_run); anything
  // else is this path's problem and the rest is restored.
  auto problem_of = [&](const item& it, const std::exception& e) {
    if (ends_run(e)) throw;
    res.problems.push_back({it.rel.empty() ? "." : it.rel, std::string(e.what()) + "; not restored"});
  };

  // Directories and everything but file contents, in pre-order.
  std::vector<std::size_t> files, dirs;
  std::map<std::pair<const catalog*, std::uint32_t>, std::size_t> first_of_group;
  std::vector<std::pair<std::size_t, std::size_t>> links;  // (item, first item of its group)
  for (std::size_t i = 0; i < items.size(); ++i) {
    const entry& e = *items[i].e;
    if (e.hardlink_group) {
      auto [it, fresh] = first_of_group.emplace(std::pair{items[i].cat, e.hardlink_group}, i);
      if (!fresh) {
        links.emplace_back(i, it->second);
        continue;
      }
    }
    if (e.type == entry_type::directory) {
      dirs.push_back(i);
      try {
        co_await run_on(blocking, [&] { dest.mkdir(items[i].rel); });
      } catch (const std::exception& ex) {
        problem_of(items[i], ex);
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
      bool failed = false;
      try {
        int fd = co_await run_on(blocking, [&] { return dest.create_file(it.rel); });
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
        co_await run_on(blocking, [&] { dest.finish_file(fd, e, it.rel); });
        ++res.files;
        res.bytes += e.size;
      } catch (const std::exception& ex) {
        problem_of(it, ex);
        failed = true;
      }
      if (failed) {  // leave no partial file behind under the name
        co_await run_on(blocking, [&] {
          auto p = dest.open_parent(it.rel);
          ::unlinkat(p.fd, p.name.c_str(), 0);
        });
      }
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
    if (e.type == entry_type::directory || e.type == entry_type::regular || is_link[i]) continue;
    try {
      co_await run_on(blocking, [&] { dest.make_special(e, it.rel); });
      ++res.others;
    } catch (const std::exception& ex) {
      problem_of(it, ex);
    }
  }
  for (auto [i, first] : links) {
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
      co_await run_on(blocking, [&] { dest.finish_dir(*items[*it].e, items[*it].rel); });
      ++res.directories;
    } catch (const std::exception& ex) {
      problem_of(items[*it], ex);
    }
  }
  co_return res;
}

}  // namespace stratum
