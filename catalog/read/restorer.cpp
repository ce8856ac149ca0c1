// `stratum restore` (restorer.hpp): which entries, in which order, with
// which problems. Thread: the I/O thread; every write to the destination
// runs on the blocking pool, through dest_tree.
#include "catalog/read/restorer.hpp"

#include "async/budget.hpp"
#include "async/error.hpp"
#include "async/group.hpp"
#include "catalog/read/dest_tree.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
