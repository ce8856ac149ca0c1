// libfuse3's low-level requests mapped onto mount_tree and object_cache
// (fuse_glue.hpp). The I/O thread reads each request from /dev/fuse
// (serve()); a handler answers in place what memory holds (attributes,
// links, xattrs, an opened listing) and starts a coroutine for what may
// need a fetch (lookup, opendir, read). Files fetched ahead go to the
// kernel's page cache through page_cache_push.
// Thread: the I/O thread; a read whose cache file is not in the page cache
// is answered from the blocking pool after its pread.
#define FUSE_USE_VERSION 314
#include "cmd/fuse_glue.hpp"

#include "async/error.hpp"
#include "catalog/read/prefetcher.hpp"
#include "cmd/mount_point.hpp"
#include "cmd/page_cache_push.hpp"

#include <fuse_lowlevel.h>

#include <atomic>
#include <sys/uio.h>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <boost/asio/redirect_error.hpp>
#include <sys/statvfs.h>
#include <unistd.h>

namespace stratum::cmd {

namespace {

// An open directory: its listing, taken at opendir and never changed, so
// readdir reads it from any thread.
struct open_dir {
  std::vector<dir_row> rows;
};

}  // namespace

struct fuse_glue::impl {
  asio::io_context& io;
  asio::thread_pool& blocking;
  mount_tree& tree;
  object_cache& cache;
  fuse_options o;
  fuse_session* se = nullptr;
  std::atomic<long> in_flight{0};
  bool mounted = false;
  bool no_open = false;  // the kernel opens files without asking (set in init)
  prefetcher ahead;
  page_cache_push push;  // stopped before the session goes
  std::uint64_t reads = 0;

  impl(asio::io_context& i, asio::thread_pool& b, mount_tree& t, object_cache& c, fuse_options opt)
      : io(i), blocking(b), tree(t), cache(c), o(std::move(opt)),
        ahead(t, c, o.prefetchers, o.prefetch_ahead, [this](awaitable<void> aw) { hand_over(std::move(aw)); }) {
    ahead.fetched = [this](std::uint64_t ino, std::shared_ptr<const cached_object> obj) { push.queue(ino, std::move(obj)); };
  }

  // Runs `aw` on the I/O thread; serve() waits for every one to end.
  void hand_over(awaitable<void> aw) {
    ++in_flight;
    asio::co_spawn(io, std::move(aw), [this](std::exception_ptr) { --in_flight; });
  }

  // The errno for what a request threw: a file system error as it is; damage,
  // a missing object and a store that does not answer are EIO, logged.
  int answer_for(const std::exception& e, std::uint64_t ino, const char* op) {
    if (auto* s = dynamic_cast<const std::system_error*>(&e); s && s->code().category() == std::generic_category())
      return s->code().value();
    if (o.log) o.log(std::string(op) + " " + tree.path(ino) + ": " + e.what());
    return EIO;
  }

  fuse_entry_param entry_for(const struct stat& st) const {
    fuse_entry_param e{};
    e.ino = st.st_ino;
    e.attr = st;
    e.attr_timeout = o.timeout;
    e.entry_timeout = o.timeout;
    return e;
  }

  awaitable<void> lookup(fuse_req_t req, fuse_ino_t parent, std::string name) {
    try {
      auto st = co_await tree.lookup(parent, name);
      // No such name: a negative entry, which the kernel keeps too.
      fuse_entry_param e{};
      e.entry_timeout = o.timeout;
      if (st) e = entry_for(*st);
      fuse_reply_entry(req, &e);
    } catch (const std::exception& x) {
      fuse_reply_err(req, answer_for(x, parent, "lookup in"));
    }
  }

  // Answered at once, from memory: no coroutine.
  void getattr(fuse_req_t req, fuse_ino_t ino) {
    try {
      const struct stat st = tree.attr(ino);
      fuse_reply_attr(req, &st, o.timeout);
    } catch (const std::exception& x) {
      fuse_reply_err(req, answer_for(x, ino, "stat"));
    }
  }

  awaitable<void> opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info fi) {
    try {
      auto d = std::make_unique<open_dir>();
      d->rows = co_await tree.list(ino);
      ahead.listed(ino);
      fi.fh = reinterpret_cast<std::uint64_t>(d.get());
      fi.cache_readdir = 1;
      fi.keep_cache = 1;
      if (fuse_reply_open(req, &fi) == 0) d.release();
    } catch (const std::exception& x) {
      fuse_reply_err(req, answer_for(x, ino, "list"));
    }
  }

  // A listing with each entry's attributes: the kernel makes the names it
  // receives known (a reference each), so `ls -l`, tar or find need no
  // lookup a name. Rows that do not fit the kernel's buffer are not held.
  void readdirplus(fuse_req_t req, std::size_t size, off_t off, const open_dir* d) {
    std::vector<char> buf(size);
    std::size_t used = 0;
    std::vector<std::uint64_t> files;  // small files named in this reply
    try {
      for (auto i = static_cast<std::size_t>(std::max<off_t>(off, 0)); i < d->rows.size() + 2; ++i) {
        fuse_entry_param e{};
        const char* name = i == 0 ? "." : "..";
        bool held = false;
        if (i >= 2) {
          const auto& r = d->rows[i - 2];
          name = r.name.c_str();
          // Measured first: a name that does not fit must not be held.
          if (fuse_add_direntry_plus(req, nullptr, 0, name, &e, 0) > size - used) break;
          std::optional<struct stat> st;
          try {
            st = tree.hold(r.ino);
          } catch (const std::exception&) {
            // A nested catalog listed earlier and dropped since: looked up.
          }
          if (st) {
            e = entry_for(*st);
            held = true;
            if (S_ISREG(st->st_mode) && st->st_size > 0 && st->st_size <= (1 << 20)) files.push_back(r.ino);
          } else {
            e.attr.st_ino = r.ino;
            e.attr.st_mode = r.mode;
          }
        } else {
          e.attr.st_mode = S_IFDIR;
        }
        const std::size_t n = fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &e, static_cast<off_t>(i + 1));
        if (n > size - used) {
          if (held) tree.forget(e.ino, 1);
          break;
        }
        used += n;
      }
      fuse_reply_buf(req, buf.data(), used);
      // The kernel makes these inodes as the lister reads the reply: those
      // fetched ahead (as files below a directory listed earlier) go to its
      // page cache, tried again a few times until it has.
      // (The request is answered: nothing here may throw into the handler below.)
      try {
        for (const std::uint64_t ino : files) {
          const auto c = tree.content(ino);
          if (c->units.size() != 1) continue;
          if (auto obj = cache.ready_object(c->units[0].hash, c->units[0].size)) push.queue(ino, std::move(obj), 3);
        }
      } catch (const std::exception&) {
      }
    } catch (const std::exception& x) {
      fuse_reply_err(req, answer_for(x, 0, "list"));
    }
  }

  void readlink(fuse_req_t req, fuse_ino_t ino) {
    try {
      fuse_reply_readlink(req, tree.link(ino).c_str());
    } catch (const std::exception& x) {
      fuse_reply_err(req, answer_for(x, ino, "readlink"));
    }
  }

  // Files are read by inode: an inode names one revision's entry, so a
  // file open across a --follow switch keeps reading its revision.
  awaitable<void> read(fuse_req_t req, fuse_ino_t ino, std::size_t size, off_t off) {
    try {
      const auto content = tree.content(ino);
      const file_content& c = *content;
      const auto from = static_cast<std::uint64_t>(off);
      if (from >= c.size || size == 0) {
        fuse_reply_buf(req, nullptr, 0);
        co_return;
      }
      const std::uint64_t to = std::min<std::uint64_t>(c.size, from + size);
      struct part {
        std::shared_ptr<const cached_object> obj;
        std::uint64_t offset, length;
      };
      std::vector<part> parts;
      std::size_t u = c.unit_at(from);
      for (std::uint64_t at = from; at < to; ++u) {
        const auto& x = c.units[u];
        const std::uint64_t end = std::min(to, x.offset + x.size);
        auto obj = co_await cache.get(x.hash, x.kind, x.size);  // (g++ 12: not inside a braced initializer)
        parts.push_back({std::move(obj), at - x.offset, end - at});
        at = end;
      }
      if (u < c.units.size()) ahead.next_unit(content, u);
      std::vector<char> buf(to - from);
      // From the page cache without waiting, on this thread: what a read
      // usually finds; otherwise (the cache file's pages are on disk) on the
      // blocking pool.
      auto fill = [&](int flags) {
        std::size_t filled = 0;
        for (const auto& p : parts) {
          iovec v{buf.data() + filled, p.length};
          const ssize_t r = ::preadv2(p.obj->fd(), &v, 1, static_cast<off_t>(p.obj->offset + p.offset), flags);
          if (r != static_cast<ssize_t>(p.length)) return r < 0 ? errno : EIO;
          filled += p.length;
        }
        return 0;
      };
      int failed = fill(RWF_NOWAIT);
      if (failed) failed = co_await run_on(blocking, [&] { return fill(0); });
      if (failed) {
        if (o.log) o.log("read " + tree.path(ino) + ": the cache's copy cannot be read: " + std::strerror(failed));
        fuse_reply_err(req, EIO);
        co_return;
      }
      ++reads;
      fuse_reply_buf(req, buf.data(), buf.size());
    } catch (const std::exception& x) {
      fuse_reply_err(req, answer_for(x, ino, "read"));
    }
  }

  void getxattr(fuse_req_t req, fuse_ino_t ino, const std::string& name, std::size_t size) {
    try {
      auto v = tree.xattr(ino, name);
      if (!v) fuse_reply_err(req, ENODATA);
      else if (size == 0) fuse_reply_xattr(req, v->size());
      else if (size < v->size()) fuse_reply_err(req, ERANGE);
      else fuse_reply_buf(req, v->data(), v->size());
    } catch (const std::exception& x) {
      fuse_reply_err(req, answer_for(x, ino, "getxattr"));
    }
  }

  void listxattr(fuse_req_t req, fuse_ino_t ino, std::size_t size) {
    try {
      std::string all;
      for (const auto& n : tree.xattr_names(ino)) all.append(n).push_back('\0');
      if (size == 0) fuse_reply_xattr(req, all.size());
      else if (size < all.size()) fuse_reply_err(req, ERANGE);
      else fuse_reply_buf(req, all.data(), all.size());
    } catch (const std::exception& x) {
      fuse_reply_err(req, answer_for(x, ino, "listxattr"));
    }
  }

  void statfs(fuse_req_t req) {
    // A read-only file system as full as its revision: blocks of its file
    // contents, one inode an entry, none free.
    const catalog_stats& t = tree.totals();
    struct statvfs s{};
    s.f_bsize = 4096;
    s.f_frsize = 4096;
    s.f_blocks = (t.bytes + 4095) / 4096;
    s.f_files = t.regular + t.directories + t.symlinks + t.specials;
    s.f_namemax = 255;
    s.f_flag = ST_RDONLY;
    fuse_reply_statfs(req, &s);
  }
};

namespace {

void se_fd_nonblocking(fuse_session* se) {
  const int fd = fuse_session_fd(se);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

fuse_glue::impl& self(fuse_req_t req) { return *static_cast<fuse_glue::impl*>(fuse_req_userdata(req)); }

void op_init(void* userdata, fuse_conn_info* conn) {
  // Contents never change under a name: no reason to drop cached pages when
  // an attribute is fetched again. Symlink targets may be cached too.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  // Opening a file asks nothing of this process (the kernel keeps the
  // page cache, as FOPEN_KEEP_CACHE): a warm read is the kernel's alone.
  if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) {
    conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
    static_cast<fuse_glue::impl*>(userdata)->no_open = true;
  }
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto& g = self(req);
  g.hand_over(g.lookup(req, parent, name));
}

// The handlers run on the I/O thread (serve() reads the requests there):
// what needs no fetch is answered in place.
void op_forget(fuse_req_t req, fuse_ino_t ino, std::uint64_t n) {
  self(req).tree.forget(ino, n);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, std::size_t count, fuse_forget_data* list) {
  auto& g = self(req);
  for (std::size_t i = 0; i < count; ++i) g.tree.forget(list[i].ino, list[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) { self(req).getattr(req, ino); }

void op_readlink(fuse_req_t req, fuse_ino_t ino) { self(req).readlink(req, ino); }

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto& g = self(req);
  g.hand_over(g.opendir(req, ino, *fi));
}

void op_readdir(fuse_req_t req, fuse_ino_t, std::size_t size, off_t off, fuse_file_info* fi) {
  const auto& d = *reinterpret_cast<const open_dir*>(fi->fh);
  std::vector<char> buf(size);
  std::size_t used = 0;
  // Offsets: 1 and 2 after "." and "..", 3 + i after row i.
  for (auto i = static_cast<std::size_t>(std::max<off_t>(off, 0)); i < d.rows.size() + 2; ++i) {
    struct stat st{};
    const char* name = i == 0 ? "." : "..";
    if (i >= 2) {
      st.st_ino = d.rows[i - 2].ino;
      st.st_mode = d.rows[i - 2].mode;
      name = d.rows[i - 2].name.c_str();
    } else {
      st.st_mode = S_IFDIR;
    }
    const std::size_t n = fuse_add_direntry(req, buf.data() + used, size - used, name, &st, static_cast<off_t>(i + 1));
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t, std::size_t size, off_t off, fuse_file_info* fi) {
  auto& g = self(req);
  g.readdirplus(req, size, off, reinterpret_cast<const open_dir*>(fi->fh));
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<open_dir*>(fi->fh);
  fuse_reply_err(req, 0);
}

void op_open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EROFS);
    return;
  }
  auto& g = self(req);
  // ENOSYS once: the kernel opens every file itself from then on.
  if (g.no_open) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  fi->keep_cache = 1;  // immutable: pages read once stay valid
  fuse_reply_open(req, fi);
}

void op_read(fuse_req_t req, fuse_ino_t ino, std::size_t size, off_t off, fuse_file_info*) {
  auto& g = self(req);
  g.hand_over(g.read(req, ino, size, off));
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, std::size_t size) { self(req).getxattr(req, ino, name, size); }

void op_listxattr(fuse_req_t req, fuse_ino_t ino, std::size_t size) { self(req).listxattr(req, ino, size); }

void op_statfs(fuse_req_t req, fuse_ino_t) { self(req).statfs(req); }

const fuse_lowlevel_ops& operations() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = op_init;
    o.lookup = op_lookup;
    o.forget = op_forget;
    o.forget_multi = op_forget_multi;
    o.getattr = op_getattr;
    o.readlink = op_readlink;
    o.opendir = op_opendir;
    o.readdir = op_readdir;
    o.readdirplus = op_readdirplus;
    o.releasedir = op_releasedir;
    o.open = op_open;
    o.read = op_read;
    o.getxattr = op_getxattr;
    o.listxattr = op_listxattr;
    o.statfs = op_statfs;
    return o;
  }();
  return ops;
}


}  // namespace

fuse_glue::fuse_glue(asio::io_context& io, asio::thread_pool& blocking, mount_tree& tree, object_cache& cache, fuse_options o)
    : p_(std::make_unique<impl>(io, blocking, tree, cache, std::move(o))) {}

fuse_glue_stats fuse_glue::stats() const { return {p_->reads, p_->push.pushed(), p_->push.refused(), p_->push.failed(), p_->push.first_error()}; }

fuse_glue::~fuse_glue() {
  p_->push.stop();
  if (p_->se) {
    if (p_->mounted) fuse_session_unmount(p_->se);
    fuse_session_destroy(p_->se);
  }
}

void fuse_glue::mount() {
  std::string opts = "ro,default_permissions,subtype=stratum,fsname=" + option_safe(p_->o.fsname);
  if (p_->o.allow_other) opts += ",allow_other";
  std::vector<std::string> argv = {"stratum", "-o", opts};
  std::vector<char*> ptrs;
  for (auto& a : argv) ptrs.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(ptrs.size()), ptrs.data());
  p_->se = fuse_session_new(&args, &operations(), sizeof(fuse_lowlevel_ops), p_.get());
  p_->push.use(p_->se);
  if (!p_->se) fail(errc::permanent, "libfuse could not start a session (see its message above)");
  if (fuse_session_mount(p_->se, p_->o.mountpoint.c_str()) != 0)
    fail(errc::permanent, "cannot mount on '" + p_->o.mountpoint +
                              "' (see libfuse's message above): is /dev/fuse there and may this user open it? "
                              "(fuse3 installed; as another user than root, fusermount3 must be setuid)");
  p_->mounted = true;
}

awaitable<void> fuse_glue::serve() {
  auto ex = co_await asio::this_coro::executor;
  se_fd_nonblocking(p_->se);
  // The I/O thread reads the requests itself when /dev/fuse is readable and
  // hands each to its handler, which answers at once from memory or starts a
  // coroutine: no request crosses a thread unless it must wait for a fetch.
  // (libfuse's multi-threaded loop cost two thread switches a request, half
  // the mount's CPU time in a cold tar of the Linux tree: bench/README.md.)
  asio::posix::stream_descriptor dev(ex, ::dup(fuse_session_fd(p_->se)));
  fuse_buf buf{};
  boost::system::error_code ec;
  bool done = false;
  while (!done && !fuse_session_exited(p_->se)) {
    co_await dev.async_wait(asio::posix::descriptor_base::wait_read, asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    // A batch, then the coroutines the batch started get their turn.
    for (int i = 0; i < 64; ++i) {
      const int r = fuse_session_receive_buf(p_->se, &buf);
      if (r == -EAGAIN) break;
      if (r == -EINTR) continue;
      if (r <= 0) {  // unmounted (ENODEV), or the device failed
        done = true;
        break;
      }
      fuse_session_process_buf(p_->se, &buf);
    }
  }
  std::free(buf.mem);
  dev.close();
  // Requests under way are answered (or fail to be: the kernel is gone)
  // before the session they belong to is destroyed.
  asio::steady_timer tick(ex);
  while (p_->in_flight.load() > 0) {
    tick.expires_after(std::chrono::milliseconds(5));
    co_await tick.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  fuse_session_unmount(p_->se);
  p_->mounted = false;
}

void fuse_glue::unmount() { detach_mount(p_->o.mountpoint); }

void fuse_glue::forget_root_names(std::vector<std::string> names) {
  // Not on the I/O thread: the kernel may wait, for the directory's lock,
  // on a lookup the I/O thread is to answer.
  ++p_->in_flight;  // serve() destroys the session after it
  asio::post(p_->blocking, [g = p_.get(), names = std::move(names)] {
    for (const auto& n : names) fuse_lowlevel_notify_inval_entry(g->se, FUSE_ROOT_ID, n.c_str(), n.size());
    fuse_lowlevel_notify_inval_inode(g->se, FUSE_ROOT_ID, 0, 0);
    --g->in_flight;
  });
}

}  // namespace stratum::cmd
