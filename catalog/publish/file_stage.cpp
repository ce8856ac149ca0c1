// Reading and storing each file (file_stage.hpp). Thread: the I/O thread;
// the lambdas given to run_on(cpu_, ...) run on the CPU pool.
#include "catalog/publish/file_stage.hpp"

#include "async/crash_point.hpp"
#include "async/error.hpp"
#include "async/group.hpp"
#include "catalog/publish/run_state.hpp"
#include "io/walker.hpp"

#include <boost/asio/steady_timer.hpp>

#include <cstring>
#include <ctime>
#include <climits>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace stratum {
namespace {

// Reads of a file that changed while being read are repeated this often,
// `retry_pause` apart, before the file is reported and left out.
constexpr int change_retries = 3;
constexpr auto retry_pause = std::chrono::milliseconds(30);
// A file whose ctime is this close to the start of its read may have been
// written in the same timestamp tick (file system clocks advance a tick of up
// to 10 ms at a time), so identical stats before and after the read do not
// prove the read whole; such a file is read again after the pause.
constexpr std::int64_t racy_window_ns = 20'000'000;

}  // namespace

std::size_t large_file_lease(const chunk_params& p) {
  // Stored blocks cost 5 bytes per 64 KiB and 6 bytes of zlib framing.
  const std::size_t compressed_bound = p.max + 5 * (p.max / 65535 + 1) + 6;
  return p.max + compressed_bound;
}

file_stage::file_stage(run_state& run, object_sink& sink, group_writer& writes, file_reader& reader, budget& memory,
                       asio::io_context& io, asio::thread_pool& cpu, const publish_options& opt, publish_stats& stats)
    : run_(run), sink_(sink), writes_(writes), reader_(reader), memory_(memory), io_(io), cpu_(cpu), opt_(opt), stats_(stats) {}

std::string file_stage::abs(const std::string& rel) const { return rel.empty() ? opt_.source : opt_.source + "/" + rel; }

source_file::~source_file() {
  if (dir >= 0) ::close(dir);
}

awaitable<bool> file_stage::locate(const std::string& rel, source_file& f) {
  // Rare (the Linux tree's longest path is ~100 bytes): the opens run on the
  // CPU pool, as the other blocking calls of a file do.
  auto r = co_await run_on(cpu_, [&] {
    // Parts well under PATH_MAX, cut at a '/'; a name is at most NAME_MAX.
    constexpr std::size_t part_max = 4000;
    int dir = ::open(opt_.source.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -errno;
    const auto slash = rel.rfind('/');
    std::string_view rest(rel.data(), slash == std::string::npos ? 0 : slash);
    while (!rest.empty()) {
      std::size_t cut = rest.size() < part_max ? rest.size() : rest.rfind('/', part_max);
      if (cut == std::string_view::npos || cut == 0) {
        ::close(dir);
        return -ENAMETOOLONG;
      }
      // The walk never follows a symlink; one here was put in since.
      open_how how{};
      how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
      how.resolve = RESOLVE_NO_SYMLINKS;
      long next = ::syscall(SYS_openat2, dir, std::string(rest.substr(0, cut)).c_str(), &how, sizeof how);
      int err = errno;
      ::close(dir);
      if (next < 0) return -err;
      dir = static_cast<int>(next);
      rest = cut == rest.size() ? std::string_view() : rest.substr(cut + 1);
    }
    f.dir = dir;
    f.path = rel.substr(slash == std::string::npos ? 0 : slash + 1);
    return 0;
  });
  if (r < 0) run_.report(rel, std::string("cannot open its directory: ") + std::strerror(-r) + "; not published");
  co_return r == 0;
}

awaitable<void> file_stage::run(walk_channel& walked) {
  job_channel jobs(io_, 4 * opt_.max_files);
  // A channel drops what it still buffers: when the run fails, the jobs no
  // worker took are freed here (LeakSanitizer found up to 4 * max_files lost).
  struct free_queued {
    job_channel& ch;
    ~free_queued() {
      while (ch.try_receive([](boost::system::error_code, file_job* j) { delete j; })) {
      }
    }
  } free_jobs{jobs};
  std::vector<awaitable<void>> tasks;
  tasks.push_back(feed(walked, jobs));
  for (unsigned i = 0; i < opt_.max_files; ++i) tasks.push_back(worker(jobs));
  co_await run_all(std::move(tasks));
}

awaitable<void> file_stage::feed(walk_channel& walked, job_channel& jobs) {
  for (;;) {
    auto d = co_await walked.async_receive(use_awaitable);
    if (!d) break;
    stats_.dirs += d->dirs;
    stats_.files += d->files;
    stats_.bytes += d->bytes;
    stats_.files_unchanged += d->unchanged;
    stats_.files_done += d->unchanged;
    stats_.bytes_done += d->unchanged_bytes;
    // Hand the jobs over one by one; whatever is not handed over when the run
    // is cancelled is freed with the batch.
    while (!d->jobs.empty()) {
      file_job* jb = d->jobs.back();
      co_await jobs.async_send({}, jb, use_awaitable);
      d->jobs.pop_back();
    }
  }
  stats_.scan_done = true;
  // One end marker per worker (closing an Asio 1.81 channel drops what is
  // still buffered, so the end is a message).
  for (unsigned i = 0; i < opt_.max_files; ++i) co_await jobs.async_send({}, nullptr, use_awaitable);
}

awaitable<void> file_stage::worker(job_channel& jobs) {
  for (;;) {
    file_job* raw = co_await jobs.async_receive(use_awaitable);
    if (!raw) co_return;
    std::unique_ptr<file_job> n(raw);
    co_await process(*n);
  }
}

awaitable<void> file_stage::process(file_job& n) {
  ++stats_.in_flight;
  struct done_guard {
    publish_stats& s;
    ~done_guard() { --s.in_flight; }
  } guard{stats_};
  bool stored = false;
  const bool was_excluded = n.rec.state == pj::file_state::excluded;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      asio::steady_timer pause(io_, retry_pause);
      co_await pause.async_wait(use_awaitable);
    }
    timespec now;
    ::clock_gettime(CLOCK_REALTIME, &now);
    n.read_started_ns = now.tv_sec * 1'000'000'000 + now.tv_nsec;
    // Two statements, not `?:` over two co_awaits: g++ 12 frees the
    // conditional's std::optional<std::string> temporary twice.
    std::optional<std::string> changed;
    if (n.rec.st.size > opt_.chunks.threshold()) changed = co_await process_large(n);
    else changed = co_await process_small(n);
    if (!changed) {
      stored = true;
      break;
    }
    if (changed->empty() || attempt + 1 >= change_retries) {
      if (!changed->empty()) run_.report(n.path, *changed);
      break;
    }
  }
  // The file's record says done only after all its objects are confirmed.
  journal::batch& b = n.records;
  if (stored) {
    n.rec.state = pj::file_state::done;
    // A problem can be recorded only for a file left out before or in an
    // earlier attempt: otherwise there is nothing to erase (and a tombstone
    // per file costs the memtable).
    if (was_excluded || stats_.resumed) b.erase(pj::problem_key(n.path));
    // A file left out last time is in this revision: the tree changed.
    if (was_excluded) run_.mark_dirty(b);
  } else {
    n.rec.state = pj::file_state::excluded;
    n.rec.object.reset();
    n.rec.chunks.clear();
  }
  b.put(pj::entry_key(n.path), pj::encode_entry(n.rec));
  co_await writes_.write(b);
  n.claim.release();
  if (stored) {
    ++stats_.files_done;
    ++stats_.files_read;
    stats_.bytes_done += n.rec.st.size;
  }
  crash_point("file");
}

// Returns nullopt on success, "" for a failure already reported, or the
// message for a file that changed while being read (the caller retries).
awaitable<std::optional<std::string>> file_stage::process_small(file_job& n) {
  auto held = co_await lease(memory_, n.rec.st.size);
  source_file src;
  src.path = abs(n.path);
  if (src.path.size() >= PATH_MAX)
    if (!co_await locate(n.path, src)) co_return "";
  auto r = co_await reader_.read_small(src.dir, src.path, n.rec.st.size);
  if (r.error) {
    run_.report(n.path, std::string("cannot read: ") + std::strerror(-r.error) + "; not published");
    co_return "";
  }
  // The stat after the read runs on the CPU thread, right before the hash:
  // through io_uring it would wake an io-wq worker for every file (io_uring
  // always hands statx to one), which cost a Linux-tree publish ~15% of its
  // CPU time in context switches. On a local file system the inode was just
  // opened, so the call does not wait for a device.
  std::optional<std::string> changed;
  auto p = co_await run_on(cpu_, [&] {
    file_stat st;
    changed = changed_while_read(n, src, stat_at(src.dir, src.path.c_str(), st) == 0 ? std::optional(st) : std::nullopt, r.data.size());
    return changed ? prepared_object{} : sink_.prepare(r.data, object_kind::file);
  });
  if (changed) co_return changed;
  r.data = {};
  co_await sink_.store(p, n.records);
  n.rec.object = p.h;
  n.claim = std::move(p.claim);
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> file_stage::process_large(file_job& n) {
  const std::size_t max = opt_.chunks.max;
  auto held = co_await lease(memory_, large_file_lease(opt_.chunks));
  source_file src;
  src.path = abs(n.path);
  if (src.path.size() >= PATH_MAX)
    if (!co_await locate(n.path, src)) co_return "";
  int fd = co_await reader_.open(src.dir, src.path);
  if (fd < 0) {
    run_.report(n.path, std::string("cannot open: ") + std::strerror(-fd) + "; not published");
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
    co_await reader_.close(fd);
  };
  n.rec.chunks.clear();
  bytes buf(max);
  std::size_t have = 0;
  std::uint64_t pos = 0;
  bool eof = false;
  for (;;) {
    while (have < max && !eof) {
      long got = co_await reader_.read_at(fd, pos + have, std::span(buf.data() + have, max - have));
      if (got < 0) {
        run_.report(n.path, std::string("cannot read: ") + std::strerror(static_cast<int>(-got)) + "; not published");
        co_await close_fd();
        co_return "";
      }
      if (got == 0) eof = true;
      have += static_cast<std::size_t>(got);
    }
    if (have == 0) break;
    std::size_t cut = 0;
    auto p = co_await run_on(cpu_, [&] {
      cut = find_cut(byte_view(buf.data(), have), opt_.chunks);
      return sink_.prepare(byte_view(buf.data(), cut), object_kind::chunk);
    });
    co_await sink_.store(p);
    n.rec.chunks.push_back({cut, p.h});
    std::memmove(buf.data(), buf.data() + cut, have - cut);
    have -= cut;
    pos += cut;
  }
  co_await close_fd();
  file_stat after;
  bool have_after = co_await reader_.stat(src.dir, src.path, after) == 0;
  co_return changed_while_read(n, src, have_after ? std::optional(after) : std::nullopt, pos);
}

// Compares the scan's stat with the one taken after reading. On a change,
// adopts the new stat and the file's xattrs as they are now (so a retry
// reads the new size and publishes the new attributes) and says why.
// Thread: a CPU thread for small files, the I/O thread for large ones (the
// xattr read is a rare path there: only after a change).
std::optional<std::string> file_stage::changed_while_read(file_job& n, const source_file& f, const std::optional<file_stat>& after,
                                                          std::uint64_t read) {
  if (!after) return "vanished while being read; not published";
  if (after->unchanged_since(n.rec.st) && read == n.rec.st.size) {
    const std::int64_t changed_ns = after->ctime_sec * 1'000'000'000 + after->ctime_nsec;
    if (changed_ns < n.read_started_ns - racy_window_ns) return std::nullopt;
    // Changed within a timestamp tick of the read: the same stat before and
    // after proves nothing yet. Read it again after a pause.
  }
  n.rec.st = *after;
  if (!S_ISREG(after->mode)) return "was replaced while being read; not published";
  xattr_list now;
  if ((f.dir == AT_FDCWD ? read_user_xattrs(f.path, now) : read_user_xattrs_at(f.dir, f.path, now)) == 0) n.rec.xattrs = std::move(now);
  return "kept changing while being read (" + std::to_string(change_retries) +
         " attempts); not published: publish again when it is quiet";
}

}  // namespace stratum
