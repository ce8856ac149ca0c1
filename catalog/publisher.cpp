#include "catalog/publisher.hpp"

#include "async/budget.hpp"
#include "async/error.hpp"
#include "async/group.hpp"
#include "catalog/history.hpp"
#include "catalog/repository.hpp"
#include "io/walker.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <cstring>
#include <ctime>
#include <future>
#include <map>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>

namespace stratum {
namespace {

// A node of the tree being published (the I/O thread owns them all).
struct node {
  std::string name;
  file_stat st;
  xattr_list xattrs;
  std::string link_target;
  std::optional<hash256> object;
  std::vector<chunk_ref> chunks;
  bool excluded = false;     // could not be read: left out of the catalog
  bool nested_root = false;  // holds a .stratumcatalog marker
  std::vector<std::unique_ptr<node>> children;
  std::string path;  // regular files: relative to the source root, for reading
};


constexpr const char* nested_marker = ".stratumcatalog";

// Reads of a file that changed while being read are repeated this often
// before the file is reported and left out.
constexpr int change_retries = 3;

using walk_channel = asio::experimental::concurrent_channel<void(boost::system::error_code, std::shared_ptr<walk_dir>)>;
// Jobs are plain node pointers: g++ 12 mis-copies aggregates holding a
// std::string that are passed by value into coroutines (see run_on).
using job_channel = asio::experimental::channel<void(boost::system::error_code, node*)>;

std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

}  // namespace

struct publisher::impl {
  impl(publisher& self, backend& store, asio::io_context& io, asio::thread_pool& cpu, asio::thread_pool& blocking,
       signing_key key, publish_options opt)
      : self(self), store(store), io(io), cpu(cpu), blocking(blocking), key(std::move(key)), opt(std::move(opt)),
        memory(io.get_executor(), this->opt.memory) {}

  publisher& self;
  backend& store;
  asio::io_context& io;
  asio::thread_pool& cpu;
  asio::thread_pool& blocking;
  signing_key key;
  publish_options opt;
  budget memory;
  std::unique_ptr<file_reader> reader;
  std::unique_ptr<node> root;
  std::map<std::string, node*> pending_dirs;  // listed by the parent, not yet by the walker
  // Content hashes stored (or being stored) by this run; shared with CPU threads.
  std::mutex known_mu;
  std::unordered_set<hash256, hash256_hasher> known;
  std::mutex problems_mu;
  std::vector<problem> problems;
  bool previous_exists = false;

  publish_stats& stats() { return self.stats_; }

  void report(const std::string& path, const std::string& message) {
    std::lock_guard g(problems_mu);
    problems.push_back({path.empty() ? "." : path, message});
  }

  std::string abs(const std::string& rel) const { return rel.empty() ? opt.source : opt.source + "/" + rel; }

  // ---- storing objects -------------------------------------------------------

  // Hashes `data`; if this run has not stored that content yet, claims it and
  // compresses it. Runs on a CPU thread.
  struct prepared {
    hash256 h;
    shared_bytes body;  // null: already stored or claimed by another file
  };
  prepared prepare(byte_view data) {
    prepared p{sha256(data), nullptr};
    {
      std::lock_guard g(known_mu);
      if (!known.insert(p.h).second) return p;
    }
    p.body = std::make_shared<const bytes>(deflate_object(data, opt.comp));
    return p;
  }

  awaitable<void> store_prepared(const prepared& p, object_kind kind) {
    if (!p.body) {
      ++stats().objects_deduplicated;
      co_return;
    }
    auto k = object_key(p.h, kind);
    // Without a journal of what older revisions stored, ask the store; for a
    // new repository everything is new.
    if (previous_exists && co_await store.stat(k)) {
      ++stats().objects_deduplicated;
      co_return;
    }
    co_await store.put(k, p.body);
    ++stats().objects_stored;
    stats().bytes_stored += p.body->size();
  }

  // ---- reading files ---------------------------------------------------------

  awaitable<void> process(node& n) {
    ++stats().in_flight;
    struct done_guard {
      publish_stats& s;
      ~done_guard() { --s.in_flight; }
    } guard{stats()};
    for (int attempt = 0;; ++attempt) {
      // Two statements, not `?:` over two co_awaits: g++ 12 frees the
      // conditional's std::optional<std::string> temporary twice.
      std::optional<std::string> changed;
      if (n.st.size > opt.chunks.threshold()) changed = co_await process_large(n);
      else changed = co_await process_small(n);
      if (!changed) break;
      if (changed->empty() || attempt + 1 >= change_retries) {
        n.excluded = true;
        if (!changed->empty()) report(n.path, *changed);
        co_return;
      }
    }
    ++stats().files_done;
    stats().bytes_done += n.st.size;
  }

  // Returns nullopt on success, "" for a failure already reported, or the
  // message for a file that changed while being read (the caller retries).
  awaitable<std::optional<std::string>> process_small(node& n) {
    auto lease_ = co_await lease(memory, n.st.size);
    auto r = co_await reader->read_small(abs(n.path), n.st.size);
    if (r.error) {
      report(n.path, std::string("cannot read: ") + std::strerror(r.error) + "; not published");
      co_return "";
    }
    if (auto why = changed_while_read(n, r.after, r.data.size())) co_return why;
    auto p = co_await run_on(cpu, [&] { return prepare(r.data); });
    r.data = bytes();
    co_await store_prepared(p, object_kind::file);
    n.object = p.h;
    co_return std::nullopt;
  }

  awaitable<std::optional<std::string>> process_large(node& n) {
    const std::size_t max = opt.chunks.max;
    auto lease_ = co_await lease(memory, max + max / 8);
    int fd = co_await reader->open(abs(n.path));
    if (fd < 0) {
      report(n.path, std::string("cannot open: ") + std::strerror(-fd) + "; not published");
      co_return "";
    }
    // Closed through the reader on every normal path; the guard closes it
    // directly only when the coroutine unwinds (cancellation, store failure).
    struct fd_guard {
      int fd;
      bool closed = false;
      ~fd_guard() { if (!closed) ::close(fd); }
    } guard{fd};
    auto close_fd = [&]() -> awaitable<void> {
      guard.closed = true;
      co_await reader->close(fd);
    };
    n.chunks.clear();
    bytes buf(max);
    std::size_t have = 0;
    std::uint64_t pos = 0;
    bool eof = false;
    for (;;) {
      while (have < max && !eof) {
        long got = co_await reader->read_at(fd, pos + have, std::span(buf.data() + have, max - have));
        if (got < 0) {
          report(n.path, std::string("cannot read: ") + std::strerror(static_cast<int>(-got)) + "; not published");
          co_await close_fd();
          co_return "";
        }
        if (got == 0) eof = true;
        have += static_cast<std::size_t>(got);
      }
      if (have == 0) break;
      auto [cut, p] = co_await run_on(cpu, [&] {
        std::size_t c = find_cut(byte_view(buf.data(), have), opt.chunks);
        return std::pair{c, prepare(byte_view(buf.data(), c))};
      });
      co_await store_prepared(p, object_kind::chunk);
      n.chunks.push_back({cut, p.h});
      std::memmove(buf.data(), buf.data() + cut, have - cut);
      have -= cut;
      pos += cut;
    }
    co_await close_fd();
    file_stat after;
    bool have_after = co_await reader->stat(abs(n.path), after) == 0;
    co_return changed_while_read(n, have_after ? std::optional(after) : std::nullopt, pos);
  }

  // Compares the scan's stat with the one taken after reading. On a change,
  // adopts the new stat (so a retry reads the new size) and says why.
  std::optional<std::string> changed_while_read(node& n, const std::optional<file_stat>& after, std::uint64_t read) {
    if (!after) return "vanished while being read; not published";
    if (after->unchanged_since(n.st) && read == n.st.size) return std::nullopt;
    n.st = *after;
    if (!S_ISREG(after->mode)) return "was replaced while being read; not published";
    return "changed while being read (" + std::to_string(change_retries) + " attempts); not published: publish again when it is quiet";
  }

  // ---- the scan --------------------------------------------------------------

  // Turns one walker listing into nodes and queues its regular files.
  awaitable<void> take_listing(walk_dir& d, job_channel& jobs) {
    node* dir;
    if (d.path.empty()) {
      root = std::make_unique<node>();
      dir = root.get();
      dir->st = d.st;
      dir->xattrs = std::move(d.xattrs);
    } else {
      auto it = pending_dirs.find(d.path);
      if (it == pending_dirs.end()) co_return;  // parent was left out
      dir = it->second;
      pending_dirs.erase(it);
    }
    ++stats().dirs;
    for (auto& e : d.entries) {
      auto type = entry_type_of(e.st.mode);
      std::string rel = join(d.path, e.name);
      if (!type) {
        report(rel, "unknown file type; not published");
        continue;
      }
      auto child = std::make_unique<node>();
      child->name = std::move(e.name);
      child->st = e.st;
      child->xattrs = std::move(e.xattrs);
      child->link_target = std::move(e.link_target);
      node* c = child.get();
      dir->children.push_back(std::move(child));
      if (*type == entry_type::directory) {
        pending_dirs[rel] = c;
      } else if (*type == entry_type::regular) {
        if (!d.path.empty() && c->name == nested_marker) dir->nested_root = true;
        ++stats().files;
        stats().bytes += c->st.size;
        if (c->st.size > 0) {
          c->path = rel;
          co_await jobs.async_send({}, c, use_awaitable);
        }
        else ++stats().files_done;
      }
    }
  }

  awaitable<void> scan(walk_channel& walked, job_channel& jobs) {
    for (;;) {
      auto d = co_await walked.async_receive(use_awaitable);
      if (!d) break;
      co_await take_listing(*d, jobs);
    }
    stats().scan_done = true;
    // One end marker per worker (closing an Asio 1.81 channel drops what is
    // still buffered, so the end is a message).
    for (unsigned i = 0; i < opt.max_files; ++i) co_await jobs.async_send({}, nullptr, use_awaitable);
  }

  awaitable<void> worker(job_channel& jobs) {
    for (;;) {
      node* n = co_await jobs.async_receive(use_awaitable);
      if (!n) co_return;
      co_await process(*n);
    }
  }

  // ---- catalogs --------------------------------------------------------------

  struct built {
    hash256 h;
    catalog_stats stats;
  };

  entry to_entry(const node& n, const std::string& path) {
    entry e;
    e.path = path;
    e.type = *entry_type_of(n.st.mode);
    e.mode = n.st.mode & 07777;
    e.uid = n.st.uid;
    e.gid = n.st.gid;
    e.mtime_sec = n.st.mtime_sec;
    e.mtime_nsec = n.st.mtime_nsec;
    e.xattrs = n.xattrs;
    switch (e.type) {
      case entry_type::regular:
        e.size = n.st.size;
        e.object = n.object;
        e.chunks = n.chunks;
        break;
      case entry_type::symlink:
        e.link_target = n.link_target;
        e.size = n.link_target.size();
        break;
      case entry_type::char_device:
      case entry_type::block_device: e.rdev = n.st.rdev; break;
      default: break;
    }
    return e;
  }

  // Builds and stores the catalog of the subtree at `top` (nested ones first).
  awaitable<built> build_catalog(const node& top, const std::string& top_path) {
    catalog c;
    c.root_path = top_path;
    std::vector<std::pair<const node*, std::string>> nested;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> inodes;  // (dev, ino) per entry, for hardlinks
    // Pre-order walk; children are already sorted by name.
    std::vector<std::pair<const node*, std::string>> stack{{&top, top_path}};
    while (!stack.empty()) {
      auto [n, path] = std::move(stack.back());
      stack.pop_back();
      if (n->excluded) continue;
      c.entries.push_back(to_entry(*n, path));
      inodes.emplace_back(n->st.dev, n->st.ino);
      auto& e = c.entries.back();
      if (e.type != entry_type::directory) continue;
      if (n != &top && n->nested_root) {
        e.nested_root = true;
        nested.emplace_back(n, path);
        continue;
      }
      for (auto it = n->children.rbegin(); it != n->children.rend(); ++it) stack.emplace_back(it->get(), join(path, (*it)->name));
    }
    assign_hardlinks(c, inodes);

    catalog_stats s;
    for (std::size_t i = 0; i < c.entries.size(); ++i) {
      const auto& e = c.entries[i];
      if (e.nested_root && i != 0) continue;  // counted by the nested catalog
      switch (e.type) {
        case entry_type::regular:
          ++s.regular;
          s.bytes += e.size;
          if (!e.chunks.empty()) { ++s.chunked; s.chunks += e.chunks.size(); }
          break;
        case entry_type::directory: ++s.directories; break;
        case entry_type::symlink: ++s.symlinks; break;
        default: ++s.specials; break;
      }
    }
    for (auto& [n, path] : nested) {
      auto b = co_await build_catalog(*n, path);
      c.nested.push_back({path, b.h});
      s += b.stats;
      ++s.nested;
    }
    c.stats = s;
    auto p = co_await run_on(cpu, [&] { return prepare(encode_catalog(c)); });
    co_await store_prepared(p, object_kind::catalog);
    ++stats().catalogs;
    co_return built{p.h, s};
  }

  // Entries of one catalog that are the same inode share a group number,
  // numbered in catalog order so the encoding stays deterministic. Groups do
  // not cross catalogs (as in CernVM-FS): each catalog restores on its own.
  static void assign_hardlinks(catalog& c, const std::vector<std::pair<std::uint64_t, std::uint64_t>>& inodes) {
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint32_t> count;
    for (std::size_t i = 0; i < c.entries.size(); ++i)
      if (c.entries[i].type != entry_type::directory) ++count[inodes[i]];
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint32_t> group;
    std::uint32_t next = 1;
    for (std::size_t i = 0; i < c.entries.size(); ++i) {
      if (c.entries[i].type == entry_type::directory || count[inodes[i]] < 2) continue;
      auto [it, fresh] = group.emplace(inodes[i], next);
      if (fresh) ++next;
      c.entries[i].hardlink_group = it->second;
    }
  }

  // ---- the whole run ---------------------------------------------------------

  awaitable<publish_result> run() {
    auto& st = stats();
    st.phase = "checking the store";
    std::unique_ptr<repository> previous;
    if (opt.fresh) {
      auto any = co_await store.list("", 1);
      if (!any.empty())
        fail(errc::usage, "store '" + store.describe() + "' is not empty (it holds '" + any.front().key +
                              "'): --new needs an empty store; to publish the next revision, run without --new");
    } else {
      try {
        previous = co_await repository::open(store, cpu, key.public_raw());
      } catch (const std::exception& e) {
        if (is(e, errc::not_found))
          fail(errc::usage, "store '" + store.describe() + "' holds no repository yet: run with --new to create one");
        throw;
      }
      previous_exists = true;
    }

    reader = make_file_reader(io, blocking, opt.reader, opt.max_files, opt.log);
    st.reader = reader->name();

    // The public key, so readers can verify the manifest.
    auto pub = key.public_raw();
    co_await store_prepared(co_await run_on(cpu, [&] { return prepare(pub); }), object_kind::public_key);

    // Check the source before starting the walker thread, so a bad SOURCE is
    // a usage error with nothing written.
    {
      struct stat s;
      if (::stat(opt.source.c_str(), &s) != 0)
        fail(errc::usage, "source '" + opt.source + "': " + std::strerror(errno));
      if (!S_ISDIR(s.st_mode)) fail(errc::usage, "source '" + opt.source + "' is not a directory: give the directory to publish");
    }

    st.phase = "publishing files";
    // 64 listings in the channel bound the scan's lead over the readers
    // (and its memory) while leaving the workers always something to do.
    walk_channel walked(io, 64);
    job_channel jobs(io, 4 * opt.max_files);
    std::atomic<bool> stop_walk{false};
    std::exception_ptr walk_error;
    std::thread walker([&] {
      auto send = [&](std::shared_ptr<walk_dir> d) {
        std::promise<void> sent;
        // Completes on the blocking pool: when the run unwinds, the I/O
        // thread is busy joining this thread and could not run the handler.
        walked.async_send({}, std::move(d), asio::bind_executor(blocking, [&](boost::system::error_code) { sent.set_value(); }));
        sent.get_future().wait();
      };
      try {
        walk_tree(opt.source, {[&](walk_dir&& d) { send(std::make_shared<walk_dir>(std::move(d))); },
                               [&](const std::string& p, const std::string& m) { report(p, m); },
                               [&] { return stop_walk.load(); }});
      } catch (...) {
        walk_error = std::current_exception();
      }
      send(nullptr);
    });
    struct joiner {
      std::thread& t;
      std::atomic<bool>& stop;
      walk_channel& ch;
      ~joiner() {
        stop = true;
        ch.close();  // a send blocked on a full channel completes with an error
        t.join();
      }
    } join_walker{walker, stop_walk, walked};

    std::vector<awaitable<void>> tasks;
    tasks.push_back(scan(walked, jobs));
    for (unsigned i = 0; i < opt.max_files; ++i) tasks.push_back(worker(jobs));
    co_await run_all(std::move(tasks));
    if (walk_error) std::rethrow_exception(walk_error);

    st.phase = "building catalogs";
    auto top = co_await build_catalog(*root, "");

    st.phase = "writing history";
    history h;
    std::uint64_t revision = 1;
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    if (previous) {
      h = previous->history();
      revision = previous->head().revision + 1;
      if (auto* t = h.find("trunk")) {
        tag prev = *t;
        prev.name = "trunk-previous";
        h.set(prev);
      }
    }
    h.revisions.push_back({revision, top.h, now});
    h.set({"trunk", top.h, revision, now, "current revision"});
    if (opt.tag) h.set({*opt.tag, top.h, revision, now, opt.tag_message});
    auto hp = co_await run_on(cpu, [&] { return prepare(encode_history(h)); });
    co_await store_prepared(hp, object_kind::history);

    st.phase = "writing the manifest";
    // Everything the manifest refers to must be durable before it appears.
    co_await store.sync();
    manifest m{revision, now, top.h, hp.h, key.fingerprint()};
    co_await store.put(manifest_key, std::make_shared<const bytes>(encode_manifest(m, key)));
    co_await store.sync();
    st.phase = "done";

    publish_result r;
    r.m = m;
    r.totals = top.stats;
    {
      std::lock_guard g(problems_mu);
      r.problems = problems;
    }
    std::sort(r.problems.begin(), r.problems.end(), [](auto& a, auto& b) { return a.path < b.path; });
    co_return r;
  }
};

publisher::publisher(backend& store, asio::io_context& io, asio::thread_pool& cpu, asio::thread_pool& blocking,
                     signing_key key, publish_options opt)
    : impl_(std::make_unique<impl>(*this, store, io, cpu, blocking, std::move(key), std::move(opt))) {}

publisher::~publisher() = default;

awaitable<publish_result> publisher::run() { return impl_->run(); }

}  // namespace stratum
