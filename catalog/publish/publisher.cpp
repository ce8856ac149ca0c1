#include "catalog/publish/publisher.hpp"

#include "async/budget.hpp"
#include "async/crash_point.hpp"
#include "async/error.hpp"
#include "async/group.hpp"
#include "catalog/format/history.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/read/repository.hpp"
#include "io/walker.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <future>
#include <map>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

namespace stratum {
namespace {

constexpr const char* nested_marker = ".stratumcatalog";

// Reads of a file that changed while being read are repeated this often,
// `retry_pause` apart, before the file is reported and left out.
constexpr int change_retries = 3;
constexpr auto retry_pause = std::chrono::milliseconds(30);
// A file whose ctime is this close to the start of its read may have been
// written in the same timestamp tick (file system clocks advance a tick of
// up to 10 ms at a time), so identical stats before and after the read do
// not prove the read whole; such a file is read again after the pause.
constexpr std::int64_t racy_window_ns = 20'000'000;

// One regular file to read and store. Passed between coroutines as a plain
// pointer: g++ 12 mis-copies aggregates holding a std::string that are
// passed by value into coroutines (see run_on).
struct job {
  std::string path;  // relative to the source root
  pj::entry_record rec;
  std::int64_t read_started_ns = 0;  // CLOCK_REALTIME when the current read began
  journal::batch records;            // written with the file's record
  std::string release_key;           // an object claim to end after that write
};

// What the walker thread hands the I/O thread for one directory.
struct scan_batch {
  std::vector<job*> jobs;  // owned until received
  std::uint64_t dirs = 0, files = 0, bytes = 0, unchanged = 0, unchanged_bytes = 0;
  ~scan_batch() {
    for (job* j : jobs) delete j;
  }
};

using walk_channel = asio::experimental::concurrent_channel<void(boost::system::error_code, std::shared_ptr<scan_batch>)>;
using job_channel = asio::experimental::channel<void(boost::system::error_code, job*)>;

std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

// How the journal names a repository state: revision, root and history.
std::string manifest_id(const manifest& m) { return std::to_string(m.revision) + " " + m.root.hex() + " " + m.history.hex(); }

// This boot of the machine (STRATUM_BOOT_ID stands in for it in tests).
std::string boot_id() {
  if (const char* fake = std::getenv("STRATUM_BOOT_ID")) return fake;
  std::string id;
  if (FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r")) {
    char buf[64] = {};
    if (std::fgets(buf, sizeof buf, f)) id = buf;
    std::fclose(f);
  }
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

std::string describe_id(const std::string& id) {
  if (id.empty()) return "no repository";
  return "revision " + id.substr(0, id.find(' '));
}

}  // namespace

struct publisher::impl {
  impl(publisher& self, backend& store, journal& j, asio::io_context& io, asio::thread_pool& cpu,
       asio::thread_pool& blocking, signing_key key, publish_options opt)
      : self(self), store(store), j(j), io(io), cpu(cpu), blocking(blocking), key(std::move(key)), opt(std::move(opt)),
        memory(io.get_executor(), this->opt.memory) {}

  publisher& self;
  backend& store;
  journal& j;
  asio::io_context& io;
  asio::thread_pool& cpu;
  asio::thread_pool& blocking;
  signing_key key;
  publish_options opt;
  budget memory;
  std::unique_ptr<file_reader> reader;
  std::uint64_t run_number = 0;
  // The journal was started on a repository it did not write: objects it
  // does not know may still be in the store, so the store is asked first.
  bool verify_with_store = false;
  std::atomic<bool> dirty{false};  // this run changed the recorded tree
  // Set before any file is read (so CPU threads may read them):
  bool resumed = false;     // continuing an interrupted run
  bool store_here = false;  // stores_here(), fixed for the run
  // Objects about to be sent to a remote store (open_intents()), and those
  // an interrupted attempt sent without seeing them confirmed.
  std::unique_ptr<append_log> intents;
  std::unordered_set<std::string> unconfirmed;  // journal object keys
  // Objects being compressed or sent by one file; another file with the same
  // content waits for that one instead of sending it again.
  std::mutex claims_mu;
  std::unordered_set<std::string> claims;                                       // journal object keys
  std::unordered_map<std::string, std::shared_ptr<asio::steady_timer>> waiters;  // I/O thread only
  // Walker thread only.
  struct walk_state {
    std::unique_ptr<journal::cursor> cursor;  // the journal as the walk began
    std::vector<std::pair<std::string, pj::entry_record>> children;  // recorded children of the directory being listed
    // Current records of directories taken from their parent's listing and
    // not yet walked (saves a lookup per directory).
    std::unordered_map<std::string, pj::entry_record> dirs;
    // Listings not yet written: they are written together, before any file
    // they hold is handed to a worker, or every `pending_limit` records.
    journal::batch pending;
  } ws;
  static constexpr std::size_t pending_limit = 4096;

  publish_stats& stats() { return self.stats_; }

  // The value of an object's confirmation record: its stored size and the
  // run that stored it (what a check after a machine restart compares).
  std::string confirmation(std::size_t size) const { return std::to_string(size) + " " + std::to_string(run_number); }

  // Thread-safe: problems are journal records, so a resumed run still lists
  // those of the attempts before it.
  void report(const std::string& path, const std::string& message) { j.put(pj::problem_key(path), message); }

  std::string abs(const std::string& rel) const { return rel.empty() ? opt.source : opt.source + "/" + rel; }

  std::optional<std::string> meta(const char* name) const { return j.get(pj::meta_key(name)); }
  std::string meta_or(const char* name, const char* fallback) const { return meta(name).value_or(fallback); }

  // ---- storing objects -------------------------------------------------------

  struct prepared {
    hash256 h;
    object_kind kind = object_kind::file;
    shared_bytes body;   // null when known, or when another file is storing it
    bool known = false;   // the store confirmed it (journal)
    bool resent = false;  // a crashed attempt had been sending it (intent found, or stored here again)
    std::shared_ptr<const put_ahead> ahead;  // a remote store's work for the put, done here
  };

  // Hashes `data`; unless the journal knows the object or another file is
  // storing it, claims it and compresses it. Then a store that writes from
  // the calling thread (local directory, memory) gets it right here, so a
  // small file costs one hand-off to the CPU pool and back instead of two;
  // for a remote store, unless the store must be asked first, the intent is
  // recorded here and the store does the part of the put that needs only
  // the body (backend::prepare_put). Runs on a CPU thread.
  prepared prepare(byte_view data, object_kind kind) {
    prepared p{sha256(data), kind, nullptr, false};
    std::string jk = pj::object_key(p.h, kind);
    if (j.contains(jk)) {
      p.known = true;
      return p;
    }
    {
      std::lock_guard g(claims_mu);
      if (!claims.insert(jk).second) return p;
    }
    // Another file may have stored it and let its claim go between the
    // lookup above and this claim (its confirmation is written before the
    // claim is released): then it is known, not to be stored twice.
    if (j.contains(jk)) {
      std::lock_guard g(claims_mu);
      claims.erase(jk);
      p.known = true;
      return p;
    }
    try {
      p.body = std::make_shared<const bytes>(deflate_object(data, opt.comp));
      if (store_here) {
        // No intent record: a put from this thread leaves the object whole
        // or absent, so what an interrupted run was storing is what the
        // store has and the journal never confirmed. (An intent written
        // here, one RocksDB write per object from the CPU pool, was 30% of
        // a Linux-tree publish's wall time.)
        p.resent = store.put_here(object_key(p.h, kind), p.body) && resumed;
      } else if (!verify_with_store) {
        p.resent = begin_sending(jk);
        p.ahead = store.prepare_put(object_key(p.h, kind), *p.body);
      }
    } catch (...) {
      // No waiter can be woken from here; the run is failing, and waiters
      // end with its cancellation.
      std::lock_guard g(claims_mu);
      claims.erase(jk);
      throw;
    }
    return p;
  }

  // Whether prepare() stores objects itself, without intents: the
  // store writes from the calling thread and nothing is to be verified first.
  bool stores_here() const { return store.can_put_here() && !verify_with_store; }

  // Records that the object with journal key `jk` is about to be sent;
  // returns whether an interrupted attempt had been sending it too. An
  // intent without a confirmation is an object in flight at a stop. The
  // intents go to their own append-only file (STATE/intents), one write(2)
  // each, not to RocksDB: a RocksDB write per object from the CPU pool was
  // ~10% of an S3 publish's CPU time (bench/README.md, S3 session 6).
  bool begin_sending(const std::string& jk) {
    intents->append(jk);
    return resumed && unconfirmed.count(jk) > 0;
  }

  // Opens STATE/intents for a store that is sent to; a new run empties it, a
  // resumed one reads what the interrupted attempts sent without a
  // confirmation. Returns how many those are.
  std::size_t open_intents(bool resuming) {
    if (stores_here()) return 0;
    intents = std::make_unique<append_log>(j.where() + "/intents");
    if (!resuming) {
      intents->clear();
      return 0;
    }
    for (auto& jk : intents->read_all())
      if (!j.contains(jk)) unconfirmed.insert(std::move(jk));
    return unconfirmed.size();
  }

  // ---- journal writes of the I/O thread -------------------------------------

  // Records written by the I/O thread's coroutines go to the journal in
  // groups, one RocksDB write each, done on the blocking pool (for a remote
  // store): a RocksDB
  // write costs ~15 us of locking, log append and wake-ups whatever its
  // size, and the memtable inserts of a file's records had been a seventh
  // of the I/O thread, the thread that bounds a publish to a remote store.
  // The first writer of a group leads: it yields once, so the others queued
  // in the same turn join, waits for the group before it to be written (one
  // write in flight; what arrives meanwhile joins this group), then writes.
  struct write_group {
    journal::batch b;
    asio::steady_timer written;  // cancelled when done
    bool done = false;
    std::exception_ptr error;
    explicit write_group(asio::io_context& io) : written(io, asio::steady_timer::time_point::max()) {}
  };
  std::shared_ptr<write_group> open_group;  // accepting records; I/O thread only
  std::shared_ptr<write_group> last_group;  // the latest group led

  // Returns once `g` is written (or failed, or the caller is cancelled).
  awaitable<void> wait_written(write_group& g) {
    while (!g.done) {
      boost::system::error_code ec;
      co_await g.written.async_wait(asio::redirect_error(use_awaitable, ec));
      auto cs = co_await asio::this_coro::cancellation_state;
      if (!g.done && cs.cancelled() != asio::cancellation_type::none)
        throw boost::system::system_error(asio::error::operation_aborted);
    }
  }

  // Writes `b` (and clears it); returns once it is in the journal.
  awaitable<void> group_write(journal::batch& b) {
    if (auto g = open_group) {
      g->b.append(b);
      co_await wait_written(*g);
      if (g->error) std::rethrow_exception(g->error);
      co_return;
    }
    auto g = open_group = std::make_shared<write_group>(io);
    g->b.append(b);
    auto before = std::exchange(last_group, g);
    try {
      co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
      if (before) co_await wait_written(*before);  // its error is its writers'
    } catch (...) {
      g->error = std::current_exception();
    }
    open_group.reset();  // g: only its leader closes a group
    if (!g->error) {
      try {
        // A publish to a local store is bound by its CPU pool, not by this
        // thread: there the hand-off would only add two thread wake-ups a
        // write (twice the context switches on the Linux tree).
        if (store_here) j.write(g->b);
        else co_await run_on(blocking, [&] { j.write(g->b); });
      } catch (...) {
        g->error = std::current_exception();
      }
    }
    g->done = true;
    g->written.cancel();
    if (g->error) std::rethrow_exception(g->error);
  }

  // Ends a claim: the object is confirmed (or its put failed) and files
  // waiting for it look again.
  void release(const std::string& jk) {
    {
      std::lock_guard g(claims_mu);
      claims.erase(jk);
    }
    if (auto it = waiters.find(jk); it != waiters.end()) {
      it->second->cancel();
      waiters.erase(it);
    }
  }

  // Makes sure the object `p` is in the store; returns once the store has
  // confirmed it and the journal says so — or, with `owner`, once the
  // confirmation is in owner->records, which the caller writes together with
  // the file's own record (one journal write instead of two) and then calls
  // release(owner->release_key).
  awaitable<void> store_prepared(const prepared& p, job* owner = nullptr) {
    if (p.known) {
      ++stats().objects_deduplicated;
      co_return;
    }
    std::string jk = pj::object_key(p.h, p.kind);
    if (!p.body) {
      // Another file is storing the same content; this file is done only
      // when that object is confirmed.
      while (!j.contains(jk)) {
        auto& slot = waiters[jk];
        if (!slot) slot = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
        auto t = slot;
        boost::system::error_code ec;
        co_await t->async_wait(asio::redirect_error(use_awaitable, ec));
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) throw boost::system::system_error(asio::error::operation_aborted);
      }
      ++stats().objects_deduplicated;
      co_return;
    }
    struct claim_guard {
      impl& self;
      const std::string& jk;
      bool keep = false;
      ~claim_guard() { if (!keep) self.release(jk); }
    } guard{*this, jk};
    auto k = object_key(p.h, p.kind);
    journal::batch confirm;
    journal::batch& b = owner ? owner->records : confirm;
    // Verifying is the one case where prepare() neither wrote the intent nor
    // stored the object (store_here is off then).
    if (verify_with_store && co_await store.stat(k)) {
      b.put(jk, confirmation(p.body->size()));
      ++stats().objects_deduplicated;
    } else {
      // The intent is what lets a resumed run count what it sends again;
      // only a resumed run can find one.
      bool resent = p.resent;
      if (verify_with_store) resent = begin_sending(jk);
      if (!store_here) co_await store.put_with(k, p.body, p.ahead);
      if (resent) ++stats().objects_resent;
      if (resent && store_here) ++stats().in_flight_at_stop;  // found, not counted from intents
      b.put(jk, confirmation(p.body->size()));
      ++stats().objects_stored;
      stats().bytes_stored += p.body->size();
      crash_point("upload");
    }
    if (owner) {
      guard.keep = true;
      owner->release_key = jk;
    } else {
      co_await group_write(confirm);
    }
  }

  // ---- reading files ---------------------------------------------------------

  awaitable<void> process(job& n) {
    ++stats().in_flight;
    struct done_guard {
      publish_stats& s;
      ~done_guard() { --s.in_flight; }
    } guard{stats()};
    bool stored = false;
    const bool was_excluded = n.rec.state == pj::file_state::excluded;
    for (int attempt = 0;; ++attempt) {
      if (attempt > 0) {
        asio::steady_timer pause(io, retry_pause);
        co_await pause.async_wait(use_awaitable);
      }
      timespec now;
      ::clock_gettime(CLOCK_REALTIME, &now);
      n.read_started_ns = now.tv_sec * 1'000'000'000 + now.tv_nsec;
      // Two statements, not `?:` over two co_awaits: g++ 12 frees the
      // conditional's std::optional<std::string> temporary twice.
      std::optional<std::string> changed;
      if (n.rec.st.size > opt.chunks.threshold()) changed = co_await process_large(n);
      else changed = co_await process_small(n);
      if (!changed) {
        stored = true;
        break;
      }
      if (changed->empty() || attempt + 1 >= change_retries) {
        if (!changed->empty()) report(n.path, *changed);
        break;
      }
    }
    // The file's record says done only after all its objects are confirmed.
    journal::batch& b = n.records;
    if (stored) {
      n.rec.state = pj::file_state::done;
      // A problem can be recorded only for a file left out before or in an
      // earlier attempt: otherwise there is nothing to erase (and a
      // tombstone per file costs the memtable).
      if (was_excluded || stats().resumed) b.erase(pj::problem_key(n.path));
      // A file left out last time is in this revision: the tree changed.
      if (was_excluded && !dirty.exchange(true)) b.put(pj::meta_key("dirty"), "1");
    } else {
      n.rec.state = pj::file_state::excluded;
      n.rec.object.reset();
      n.rec.chunks.clear();
    }
    b.put(pj::entry_key(n.path), pj::encode_entry(n.rec));
    co_await group_write(b);
    if (!n.release_key.empty()) release(std::exchange(n.release_key, {}));
    if (stored) {
      ++stats().files_done;
      ++stats().files_read;
      stats().bytes_done += n.rec.st.size;
    }
    crash_point("file");
  }

  // Returns nullopt on success, "" for a failure already reported, or the
  // message for a file that changed while being read (the caller retries).
  awaitable<std::optional<std::string>> process_small(job& n) {
    auto lease_ = co_await lease(memory, n.rec.st.size);
    const std::string path = abs(n.path);
    auto r = co_await reader->read_small(path, n.rec.st.size);
    if (r.error) {
      report(n.path, std::string("cannot read: ") + std::strerror(r.error) + "; not published");
      co_return "";
    }
    // The stat after the read runs on the CPU thread, right before the
    // hash: through io_uring it would wake an io-wq worker for every file
    // (io_uring always hands statx to one), which cost a Linux-tree publish
    // ~15% of its CPU time in context switches. On a local file system the
    // inode was just opened, so the call does not wait for a device.
    std::optional<std::string> changed;
    auto p = co_await run_on(cpu, [&] {
      file_stat st;
      changed = changed_while_read(n, stat_at(AT_FDCWD, path.c_str(), st) == 0 ? std::optional(st) : std::nullopt, r.data.size());
      return changed ? prepared{} : prepare(r.data, object_kind::file);
    });
    if (changed) co_return changed;
    r.data = {};
    co_await store_prepared(p, &n);
    n.rec.object = p.h;
    co_return std::nullopt;
  }

  awaitable<std::optional<std::string>> process_large(job& n) {
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
    n.rec.chunks.clear();
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
        return std::pair{c, prepare(byte_view(buf.data(), c), object_kind::chunk)};
      });
      co_await store_prepared(p);
      n.rec.chunks.push_back({cut, p.h});
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
  std::optional<std::string> changed_while_read(job& n, const std::optional<file_stat>& after, std::uint64_t read) {
    if (!after) return "vanished while being read; not published";
    if (after->unchanged_since(n.rec.st) && read == n.rec.st.size) {
      const std::int64_t changed_ns = after->ctime_sec * 1'000'000'000 + after->ctime_nsec;
      if (changed_ns < n.read_started_ns - racy_window_ns) return std::nullopt;
      // Changed within a timestamp tick of the read: the same stat before
      // and after proves nothing yet. Read it again after a pause.
    }
    n.rec.st = *after;
    if (!S_ISREG(after->mode)) return "was replaced while being read; not published";
    return "kept changing while being read (" + std::to_string(change_retries) +
           " attempts); not published: publish again when it is quiet";
  }


  // ---- the scan (walker thread) ------------------------------------------------

  // Calls fn(name, record) for each recorded child of directory `path`, in
  // name order, skipping the deeper descendants.
  // The seeks are bounded: the walk's cursor is older than the records the
  // walk writes, and an unbounded seek would step over all of them.
  template <class Fn>
  static void for_each_recorded_child(journal::cursor& c, const std::string& path, Fn&& fn) {
    const std::string prefix = pj::child_prefix(path), end = pj::children_end(path);
    c.seek(pj::children_begin(path), end);
    while (c.valid()) {
      auto rest = c.key().substr(prefix.size());
      if (auto z = rest.find('\0'); z != std::string_view::npos) {
        std::string skip(c.key().substr(0, prefix.size() + z));
        skip.push_back('\x01');
        // A few steps are cheaper than a seek when the subtree is small.
        int steps = 0;
        do c.next();
        while (++steps < 8 && c.valid() && c.key() < skip);
        if (c.valid() && c.key() < skip) c.seek(skip, end);
        continue;
      }
      fn(std::string(rest), pj::decode_entry(c.value(), c.key()));
      c.next();
    }
  }

  void flush_pending() { j.write(ws.pending); }

  // The record of a directory about to be walked.
  std::optional<pj::entry_record> dir_record(const std::string& path) {
    if (auto node = ws.dirs.extract(path)) return std::move(node.mapped());
    auto key = pj::entry_key(path);
    auto v = j.get(key);
    if (!v) return std::nullopt;
    return pj::decode_entry(*v, key);
  }

  pj::entry_record record_of(const std::string& path) const {
    auto key = pj::entry_key(path);
    auto v = j.get(key);
    if (!v) fail(errc::corrupt, "journal in STATE '" + j.where() + "' has no record of '" + path + "'");
    return pj::decode_entry(*v, key);
  }

  static bool is_regular(const pj::entry_record& r) { return S_ISREG(r.st.mode); }

  // Walker callback: a directory this run already took in full (before a
  // crash) is not listed again; its unfinished files are queued from the
  // journal and the walk descends into its subdirectories.
  std::optional<std::vector<std::string>> recorded(const std::string& path, const std::function<void(std::shared_ptr<scan_batch>)>& send) {
    auto self = dir_record(path);
    if (!self) return std::nullopt;
    if (self->listed_run != run_number) {
      ws.dirs.emplace(path, std::move(*self));  // for take_listing
      return std::nullopt;
    }
    std::vector<std::string> subdirs;
    auto out = std::make_shared<scan_batch>();
    out->dirs = 1;
    for_each_recorded_child(*ws.cursor, path, [&](std::string name, pj::entry_record r) {
      if (S_ISDIR(r.st.mode)) {
        subdirs.push_back(name);
        ws.dirs.emplace(join(path, name), std::move(r));
        return;
      }
      if (!is_regular(r)) return;
      ++out->files;
      out->bytes += r.st.size;
      if (r.state == pj::file_state::pending || r.state == pj::file_state::excluded)
        out->jobs.push_back(new job{join(path, name), std::move(r)});
      else {
        ++out->unchanged;
        out->unchanged_bytes += r.st.size;
      }
    });
    send(std::move(out));
    return subdirs;
  }

  // Walker callback: entries whose inode is as recorded take their symlink
  // target and xattrs from the record (a change to either moves ctime).
  void prefill(const std::string& path, std::vector<walk_entry>& entries) {
    auto& old = ws.children;
    old.clear();
    for_each_recorded_child(*ws.cursor, path, [&](std::string name, pj::entry_record r) { old.emplace_back(std::move(name), std::move(r)); });
    std::size_t i = 0;
    for (auto& e : entries) {
      while (i < old.size() && old[i].first < e.name) ++i;
      if (i == old.size()) break;
      if (old[i].first != e.name) continue;
      auto& r = old[i].second;
      pj::entry_record now{e.st, r.xattrs, r.link_target};
      if (!now.same_source(r)) continue;
      e.xattrs = r.xattrs;
      e.link_target = r.link_target;
      e.meta_known = true;
    }
  }

  // Walker callback: merges a listing into the journal (one batch per
  // directory, written with the ones before it) and returns the files to read.
  std::shared_ptr<scan_batch> take_listing(walk_dir& d) {
    auto out = std::make_shared<scan_batch>();
    out->dirs = 1;
    journal::batch& b = ws.pending;
    bool changed = false;

    // The directory's own record: written by its parent's listing, except the root's.
    pj::entry_record self;
    if (d.path.empty()) {
      pj::entry_record now{d.st, std::move(d.xattrs), {}};
      auto prev = dir_record("");
      if (!prev || !prev->same_source(now)) {
        changed = true;
        self = std::move(now);
      } else {
        self = std::move(*prev);
      }
    } else if (auto r = dir_record(d.path)) {
      self = std::move(*r);
    } else {
      fail(errc::corrupt, "journal in STATE '" + j.where() + "' has no record of '" + d.path + "'");
    }
    self.listed_run = run_number;
    b.put(pj::entry_key(d.path), pj::encode_entry(self));
    b.erase(pj::problem_key(d.path));

    auto remove = [&](const std::string& name, const pj::entry_record& r) {
      std::string rel = join(d.path, name);
      b.erase(pj::entry_key(rel));
      if (S_ISDIR(r.st.mode)) b.erase_range(pj::children_begin(rel), pj::children_end(rel));
      changed = true;
    };
    auto& old = ws.children;  // filled by prefill for this directory
    std::size_t i = 0;
    for (auto& e : d.entries) {
      while (i < old.size() && old[i].first < e.name) {
        remove(old[i].first, old[i].second);
        ++i;
      }
      const pj::entry_record* prev = i < old.size() && old[i].first == e.name ? &old[i++].second : nullptr;
      std::string rel = join(d.path, e.name);
      auto type = entry_type_of(e.st.mode);
      if (!type) {
        report(rel, "unknown file type; not published");
        if (prev) remove(e.name, *prev);
        continue;
      }
      const bool regular = *type == entry_type::regular;
      pj::entry_record r{e.st, std::move(e.xattrs), std::move(e.link_target)};
      if (regular) {
        ++out->files;
        out->bytes += r.st.size;
      }
      if (prev && prev->same_source(r)) {
        if (*type == entry_type::directory) ws.dirs.emplace(rel, *prev);
        else if (regular && (prev->state == pj::file_state::pending || prev->state == pj::file_state::excluded)) {
          out->jobs.push_back(new job{rel, *prev});
        } else if (regular) {
          ++out->unchanged;
          out->unchanged_bytes += r.st.size;
        }
        continue;
      }
      changed = true;
      if (prev && S_ISDIR(prev->st.mode)) {
        if (*type == entry_type::directory) r.listed_run = prev->listed_run;  // its contents are merged when it is listed
        else b.erase_range(pj::children_begin(rel), pj::children_end(rel));
      }
      r.state = regular && r.st.size > 0 ? pj::file_state::pending : pj::file_state::none;
      b.put(pj::entry_key(rel), pj::encode_entry(r));
      if (*type == entry_type::directory) ws.dirs.emplace(rel, r);
      if (r.state == pj::file_state::pending) out->jobs.push_back(new job{rel, std::move(r)});
      else if (regular) ++out->unchanged;  // empty: nothing to read
    }
    while (i < old.size()) {
      remove(old[i].first, old[i].second);
      ++i;
    }
    old.clear();
    if (changed && !dirty.exchange(true)) b.put(pj::meta_key("dirty"), "1");
    // Files go to the workers only once their records are written.
    if (!out->jobs.empty() || b.size() >= pending_limit) flush_pending();
    crash_point("scan");
    return out;
  }

  // ---- the scan (I/O thread) ---------------------------------------------------

  awaitable<void> scan(walk_channel& walked, job_channel& jobs) {
    auto& st = stats();
    for (;;) {
      auto d = co_await walked.async_receive(use_awaitable);
      if (!d) break;
      st.dirs += d->dirs;
      st.files += d->files;
      st.bytes += d->bytes;
      st.files_unchanged += d->unchanged;
      st.files_done += d->unchanged;
      st.bytes_done += d->unchanged_bytes;
      // Hand the jobs over one by one; whatever is not handed over when the
      // run is cancelled is freed with the batch.
      while (!d->jobs.empty()) {
        job* jb = d->jobs.back();
        co_await jobs.async_send({}, jb, use_awaitable);
        d->jobs.pop_back();
      }
    }
    st.scan_done = true;
    // One end marker per worker (closing an Asio 1.81 channel drops what is
    // still buffered, so the end is a message).
    for (unsigned i = 0; i < opt.max_files; ++i) co_await jobs.async_send({}, nullptr, use_awaitable);
  }

  awaitable<void> worker(job_channel& jobs) {
    for (;;) {
      job* raw = co_await jobs.async_receive(use_awaitable);
      if (!raw) co_return;
      std::unique_ptr<job> n(raw);
      co_await process(*n);
    }
  }

  awaitable<void> publish_files() {
    auto& st = stats();
    st.phase = "publishing files";
    // 64 listings in the channel bound the scan's lead over the readers
    // (and its memory) while leaving the workers always something to do.
    walk_channel walked(io, 64);
    job_channel jobs(io, 4 * opt.max_files);
    // A channel drops what it still buffers: when the run fails, free the
    // jobs no worker took (LeakSanitizer found up to 4 * max_files lost).
    struct free_queued {
      job_channel& ch;
      ~free_queued() {
        while (ch.try_receive([](boost::system::error_code, job* j) { delete j; })) {
        }
      }
    } free_jobs{jobs};
    std::atomic<bool> stop_walk{false};
    std::exception_ptr walk_error;
    std::thread walker([&] {
      std::function<void(std::shared_ptr<scan_batch>)> send = [&](std::shared_ptr<scan_batch> d) {
        // Usually the channel has room; waiting for a completion handler
        // instead would cost two thread wake-ups per directory.
        if (walked.try_send(boost::system::error_code{}, d)) return;
        std::promise<void> sent;
        // Completes on the blocking pool: when the run unwinds, the I/O
        // thread is busy joining this thread and could not run the handler.
        walked.async_send({}, std::move(d), asio::bind_executor(blocking, [&](boost::system::error_code) { sent.set_value(); }));
        sent.get_future().wait();
      };
      try {
        ws.cursor = j.scan();
        walk_callbacks cb;
        cb.on_dir = [&](walk_dir&& d) { send(take_listing(d)); };
        cb.on_problem = [&](const std::string& p, const std::string& m) { report(p, m); };
        cb.stopped = [&] { return stop_walk.load(); };
        cb.recorded = [&](const std::string& p) { return recorded(p, send); };
        cb.prefill = [&](const std::string& p, std::vector<walk_entry>& es) { prefill(p, es); };
        walk_tree(opt.source, cb);
        flush_pending();
      } catch (...) {
        walk_error = std::current_exception();
      }
      ws.cursor.reset();
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
  }

  // ---- catalogs --------------------------------------------------------------

  struct built {
    hash256 h;
    catalog_stats stats;
  };

  static entry to_entry(const pj::entry_record& n, const std::string& path) {
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

  bool holds_marker(const std::string& dir) const {
    auto key = pj::entry_key(join(dir, nested_marker));
    auto v = j.get(key);
    return v && is_regular(pj::decode_entry(*v, key));
  }

  // Reads the entries of the catalog rooted at `top` from the journal, in
  // pre-order; nested catalog roots are noted and their subtrees skipped. A
  // directory this run could not list is published empty. Runs on a CPU thread.
  void collect(const std::string& top, catalog& c, std::vector<std::string>& nested,
               std::vector<std::pair<std::uint64_t, std::uint64_t>>& inodes) const {
    auto top_rec = record_of(top);
    c.entries.push_back(to_entry(top_rec, top));
    inodes.emplace_back(top_rec.st.dev, top_rec.st.ino);
    if (top_rec.listed_run != run_number) return;
    const std::string end = pj::children_end(top);
    auto cur = j.scan();
    cur->seek(pj::children_begin(top), end);
    while (cur->valid() && cur->key() < end) {
      std::string path = pj::key_path(cur->key().substr(1));
      auto r = pj::decode_entry(cur->value(), cur->key());
      if (is_regular(r)) {
        if (r.state == pj::file_state::excluded) {
          cur->next();
          continue;
        }
        if (r.state == pj::file_state::pending)
          fail(errc::permanent, "journal in STATE '" + j.where() + "': '" + path + "' was never read; publish again");
      }
      c.entries.push_back(to_entry(r, path));
      inodes.emplace_back(r.st.dev, r.st.ino);
      if (S_ISDIR(r.st.mode)) {
        bool unlisted = r.listed_run != run_number;
        if (!unlisted && holds_marker(path)) {
          c.entries.back().nested_root = true;
          nested.push_back(path);
          unlisted = true;
        }
        if (unlisted) {
          cur->seek(pj::children_end(path), end);
          continue;
        }
      }
      cur->next();
    }
  }

  // Builds and stores the catalog of the subtree at `top` (nested ones
  // first), or takes it from the journal if this run built it already.
  awaitable<built> build_catalog(const std::string& top) {
    if (auto v = j.get(pj::catalog_key(top))) {
      auto r = pj::decode_catalog_record(*v, pj::catalog_key(top));
      if (r.run == run_number) {
        ++stats().catalogs;
        co_return built{r.hash, r.stats};
      }
    }
    catalog c;
    c.root_path = top;
    std::vector<std::string> nested;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> inodes;  // (dev, ino) per entry, for hardlinks
    co_await run_on(cpu, [&] {
      collect(top, c, nested, inodes);
      assign_hardlinks(c, inodes);
    });

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
    for (const auto& path : nested) {
      auto b = co_await build_catalog(path);
      c.nested.push_back({path, b.h});
      s += b.stats;
      ++s.nested;
    }
    c.stats = s;
    auto p = co_await run_on(cpu, [&] { return prepare(encode_catalog(c), object_kind::catalog); });
    co_await store_prepared(p);
    j.put(pj::catalog_key(top), pj::encode_catalog_record({run_number, p.h, s}));
    ++stats().catalogs;
    crash_point("catalog");
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


  // ---- the journal's run -------------------------------------------------------

  // Starts run `n` on top of the repository state `base` ("" for none).
  void start_run(std::uint64_t n, const std::string& base, bool verify, bool wipe) {
    journal::batch b;
    if (wipe) b.erase_range("a", "z");  // every record kind
    else
      for (char kind : {'p', 'c', 'i'}) b.erase_range(pj::prefix_begin(kind), pj::prefix_end(kind));
    b.put(pj::meta_key("source"), opt.source);
    b.put(pj::meta_key("store"), store.describe());
    b.put(pj::meta_key("key"), key.fingerprint().hex());
    b.put(pj::meta_key("run"), std::to_string(n));
    b.put(pj::meta_key("state"), "running");
    b.put(pj::meta_key("phase"), "files");
    b.put(pj::meta_key("base"), base);
    b.put(pj::meta_key("verify"), verify ? "1" : "0");
    b.put(pj::meta_key("boot"), boot_id());
    b.erase(pj::meta_key("dirty"));
    b.erase(pj::meta_key("intent"));
    j.write(b);
    j.sync();
    run_number = n;
    verify_with_store = verify;
    dirty = false;
  }

  // Records that the run ended with the store at `published`.
  void finish_run(const std::string& published) {
    journal::batch b;
    b.put(pj::meta_key("published"), published);
    b.put(pj::meta_key("state"), "finished");
    b.erase(pj::meta_key("intent"));
    b.erase(pj::meta_key("phase"));
    b.erase_range(pj::prefix_begin('i'), pj::prefix_end('i'));
    j.write(b);
    j.sync();
    if (intents) intents->clear();
    j.checkpoint(true);
  }

  [[noreturn]] void moved_on(const std::string& current, const std::string& expected) {
    fail(errc::usage, "store '" + store.describe() + "' holds " + describe_id(current) + ", but STATE '" + j.where() +
                          "' expects " + describe_id(expected) +
                          " there: something else has published to it since. Nothing was changed. To publish from here, "
                          "give a new STATE directory (every file is read again; objects already in the store are not sent again)");
  }

  std::vector<problem> problems() const {
    std::vector<problem> out;
    auto c = j.scan();
    const std::string end = pj::prefix_end('p');
    for (c->seek(pj::prefix_begin('p')); c->valid() && c->key() < end; c->next()) {
      std::string path = pj::key_path(c->key().substr(1));
      out.push_back({path.empty() ? "." : path, std::string(c->value())});
    }
    return out;
  }

  // Objects the interrupted attempts began sending and never saw confirmed,
  // as RocksDB `i` records: how versions before STATE/intents kept them.
  std::uint64_t count_intents() const {
    std::uint64_t n = 0;
    auto c = j.scan();
    const std::string end = pj::prefix_end('i');
    for (c->seek(pj::prefix_begin('i'), end); c->valid(); c->next()) {
      std::string ok(c->key());
      ok[0] = 'o';
      if (!j.contains(ok)) ++n;
    }
    return n;
  }

  // The machine restarted since the interrupted attempt. A store confirms a
  // put before it is durable (backend.hpp: durable after sync()), so objects
  // this run stored since its last sync may be gone or cut short (a power
  // loss leaves zero-length files behind a rename). Each object this run
  // recorded is looked up; the lost ones are forgotten, the files that name
  // them are read again, and the run's catalogs are built again.
  awaitable<void> recheck_after_restart() {
    auto& st = stats();
    st.phase = "checking objects after a restart";
    struct confirmed {
      std::string jkey;
      std::string key;
      std::uint64_t size;
    };
    std::vector<confirmed> mine;
    {
      auto c = j.scan();
      const std::string end = pj::prefix_end('o');
      for (c->seek(pj::prefix_begin('o'), end); c->valid(); c->next()) {
        auto k = c->key();
        auto v = std::string(c->value());
        auto space = v.find(' ');
        if (k.size() != 34 || space == std::string::npos || std::stoull(v.substr(space + 1)) != run_number) continue;
        hash256 h;
        std::memcpy(h.v.data(), k.data() + 1, 32);
        mine.push_back({std::string(k), stratum::object_key(h, static_cast<object_kind>(k[33])), std::stoull(v.substr(0, space))});
      }
    }
    if (opt.log)
      opt.log("the machine restarted since the interrupted run: checking the " + std::to_string(mine.size()) +
              " object(s) it stored");
    std::unordered_set<std::string> lost;  // journal object keys
    std::size_t next = 0;
    auto checker = [&]() -> awaitable<void> {
      while (next < mine.size()) {
        const confirmed& o = mine[next++];
        auto info = co_await store.stat(o.key);
        if (!info || info->size != o.size) lost.insert(o.jkey);
      }
    };
    std::vector<awaitable<void>> checkers;
    for (int i = 0; i < 64; ++i) checkers.push_back(checker());
    co_await run_all(std::move(checkers));
    st.objects_lost_in_restart = lost.size();
    if (lost.empty()) co_return;
    if (opt.log) opt.log(std::to_string(lost.size()) + " object(s) did not survive the restart; the files naming them are read again");
    journal::batch b;
    for (auto& k : lost) b.erase(k);
    auto names_lost = [&](const pj::entry_record& r) {
      if (r.object && lost.count(pj::object_key(*r.object, object_kind::file))) return true;
      for (auto& ch : r.chunks)
        if (lost.count(pj::object_key(ch.hash, object_kind::chunk))) return true;
      return false;
    };
    {
      auto c = j.scan();
      const std::string end = pj::prefix_end('e');
      for (c->seek(pj::prefix_begin('e'), end); c->valid(); c->next()) {
        auto r = pj::decode_entry(c->value(), c->key());
        if (r.state != pj::file_state::done || !names_lost(r)) continue;
        r.state = pj::file_state::pending;
        r.object.reset();
        r.chunks.clear();
        b.put(c->key(), pj::encode_entry(r));
      }
    }
    b.erase_range(pj::prefix_begin('c'), pj::prefix_end('c'));
    b.put(pj::meta_key("phase"), "files");
    j.write(b);
    j.sync();
  }

  // ---- the whole run ---------------------------------------------------------

  awaitable<publish_result> run() {
    auto& st = stats();
    st.phase = "checking the store";
    std::unique_ptr<repository> previous;
    const auto jstore = meta("store"), jsource = meta("source");
    const bool running = meta_or("state", "") == "running";
    const bool ours = jstore && *jstore == store.describe() && jsource && *jsource == opt.source;
    if (jstore && !ours && (running || !opt.fresh))
      fail(errc::usage, "STATE '" + j.where() + "' belongs to the publish of '" + jsource.value_or("?") + "' to '" + *jstore +
                            "', not of '" + opt.source + "' to '" + store.describe() +
                            "'. Nothing was changed. Give the STATE directory of this source and store, or a new one");

    if (opt.fresh) {
      if (ours && running)
        fail(errc::usage, "STATE '" + j.where() + "' holds an interrupted publish of '" + opt.source + "' to '" +
                              store.describe() + "': run the same command without --new to resume it");
      auto any = co_await store.list("", 1);
      if (!any.empty())
        fail(errc::usage, "store '" + store.describe() + "' is not empty (it holds '" + any.front().key +
                              "'): --new needs an empty store; to publish the next revision, run without --new");
      start_run(1, "", false, true);
    } else {
      try {
        previous = co_await repository::open(store, cpu, key.public_raw());
      } catch (const std::exception& e) {
        if (!is(e, errc::not_found)) throw;
      }
      const std::string current = previous ? manifest_id(previous->head()) : "";
      if (!jstore) {
        if (!previous)
          fail(errc::usage, "store '" + store.describe() + "' holds no repository yet: run with --new to create one");
        if (opt.log)
          opt.log("STATE '" + j.where() + "' has no journal of this store: every file is read once, and objects "
                  "already in the store are found there and not sent again");
        start_run(1, current, true, true);
      } else if (running) {
        auto intent = meta("intent");
        if (intent && !current.empty() && *intent == current) {
          // The interrupted run wrote its manifest; only its bookkeeping is left.
          finish_run(current);
          publish_result r;
          r.m = previous->head();
          r.already_published = true;
          if (auto v = j.get(pj::catalog_key(""))) r.totals = pj::decode_catalog_record(*v, pj::catalog_key("")).stats;
          r.problems = problems();
          st.phase = "done";
          co_return r;
        }
        if (current != meta_or("base", "")) moved_on(current, meta_or("base", ""));
        run_number = std::stoull(meta_or("run", "1"));
        verify_with_store = meta_or("verify", "0") == "1";
        dirty = meta_or("dirty", "") == "1";
        st.resumed = true;
        // Objects a store writing from the calling thread had in flight are
        // found as they are stored again (prepare()); other stores' are
        // their unconfirmed intents.
        st.in_flight_at_stop = count_intents() + open_intents(true);
        if (opt.log)
          opt.log("resuming the interrupted publish of '" + opt.source + "'" +
                  (stores_here() ? std::string()
                                 : " (" + std::to_string(st.in_flight_at_stop) + " object(s) were being sent when it stopped)"));
        if (meta_or("boot", "") != boot_id()) {
          co_await recheck_after_restart();
          j.put(pj::meta_key("boot"), boot_id());
        }
      } else {
        if (current != meta_or("published", "")) moved_on(current, meta_or("published", ""));
        start_run(std::stoull(meta_or("run", "0")) + 1, current, false, false);
      }
    }

    reader = make_file_reader(io, blocking, opt.reader, opt.max_files, opt.log);
    st.reader = reader->name();
    resumed = st.resumed;
    store_here = stores_here();
    if (!resumed) open_intents(false);

    // The public key, so readers can verify the manifest.
    auto pub = key.public_raw();
    co_await store_prepared(co_await run_on(cpu, [&] { return prepare(pub, object_kind::public_key); }));

    // Check the source before starting the walker thread, so a bad SOURCE is
    // a usage error with nothing written.
    {
      struct stat s;
      if (::stat(opt.source.c_str(), &s) != 0)
        fail(errc::usage, "source '" + opt.source + "': " + std::strerror(errno));
      if (!S_ISDIR(s.st_mode)) fail(errc::usage, "source '" + opt.source + "' is not a directory: give the directory to publish");
    }

    if (meta_or("phase", "files") == "files") {
      co_await publish_files();
      j.put(pj::meta_key("phase"), "catalogs");
      // The files' records (tens of MB for a large tree) start moving into
      // a table file while the catalogs are built; finish_run() flushes the
      // rest. In series the two took ~0.2 s each at the end of a
      // Linux-tree publish, one core idle.
      j.checkpoint(false);
    }

    const bool want_tag = opt.tag.has_value();
    if (previous && !dirty && !want_tag) {
      // Nothing changed since the last revision: publish nothing.
      finish_run(manifest_id(previous->head()));
      publish_result r;
      r.m = previous->head();
      r.unchanged = true;
      auto root = co_await previous->load_catalog(r.m.root);
      r.totals = root->stats;
      r.problems = problems();
      st.phase = "done";
      co_return r;
    }

    st.phase = "building catalogs";
    auto top = co_await build_catalog("");
    if (previous && top.h == previous->head().root && !want_tag) {
      finish_run(manifest_id(previous->head()));
      publish_result r;
      r.m = previous->head();
      r.unchanged = true;
      r.totals = top.stats;
      r.problems = problems();
      st.phase = "done";
      co_return r;
    }

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
    auto hp = co_await run_on(cpu, [&] { return prepare(encode_history(h), object_kind::history); });
    co_await store_prepared(hp);

    st.phase = "writing the manifest";
    manifest m{revision, now, top.h, hp.h, key.fingerprint()};
    // The intent tells a resumed run that a manifest it finds is its own.
    j.put(pj::meta_key("intent"), manifest_id(m));
    j.sync();
    // Everything the manifest refers to must be durable before it appears.
    co_await store.sync();
    crash_point("before-manifest");
    co_await store.put(manifest_key, std::make_shared<const bytes>(encode_manifest(m, key)));
    crash_point("after-manifest");
    co_await store.sync();
    finish_run(manifest_id(m));
    st.phase = "done";

    publish_result r;
    r.m = m;
    r.totals = top.stats;
    r.problems = problems();
    co_return r;
  }
};

publisher::publisher(backend& store, journal& j, asio::io_context& io, asio::thread_pool& cpu, asio::thread_pool& blocking,
                     signing_key key, publish_options opt)
    : impl_(std::make_unique<impl>(*this, store, j, io, cpu, blocking, std::move(key), std::move(opt))) {}

publisher::~publisher() = default;

awaitable<publish_result> publisher::run() { return impl_->run(); }

}  // namespace stratum
