// `stratum mount`: a revision of a repository as a read-only file system,
// fetched lazily and verified (catalog/read/mount_tree, object_cache; the
// kernel side is cmd/fuse_glue). Without -f the command starts itself again
// in the background (a new session, -f) and returns once that one has
// mounted, with its exit code if it could not. --follow re-reads the
// manifest and switches to a newer revision.
// Thread: the main thread, which runs the io_context; libfuse's threads hand
// requests to it (fuse_glue).
#include "async/error.hpp"
#include "catalog/read/differ.hpp"
#include "cmd/command.hpp"
#include "cmd/fuse_glue.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace stratum::cmd {
namespace {

namespace fs = std::filesystem;

const char* mount_synopsis =
    "mount STORE MOUNTPOINT [--tag NAME | --revision N] [--cache DIR] [--cache-size SIZE] [--follow SECONDS] [-f]";

std::vector<option_spec> mount_options() {
  return with_read_options({opt_tag,
                            {"revision", 0, true},
                            {"cache", 0, true},
                            {"cache-size", 0, true},
                            {"follow", 0, true},
                            {"foreground", 'f'},
                            {"log", 0, true},
                            {"ready-fd", 0, true},
                            opt_help});
}

// "4G", "500MiB", "1048576": bytes (K, M, G, T are powers of 1024).
std::uint64_t size_arg(const std::string& text, const char* option) {
  std::size_t end = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(text, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  std::string unit = text.substr(end);
  if (unit.size() == 3 && unit.compare(1, 2, "iB") == 0) unit.resize(1);
  const std::string units = "KMGT";
  const auto at = unit.empty() ? std::string::npos : units.find(unit[0]);
  if (end == 0 || text[0] == '-' || (!unit.empty() && (unit.size() != 1 || at == std::string::npos)) || n == 0)
    fail(errc::usage, std::string(option) + " takes a size such as 500M, 4G or 1048576, not '" + text + "'");
  const unsigned shift = unit.empty() ? 0 : 10 * static_cast<unsigned>(at + 1);
  if (shift && n > (UINT64_MAX >> shift)) fail(errc::usage, std::string(option) + " " + text + " is too large");
  return std::uint64_t(n) << shift;
}

void check_mountpoint(const std::string& mp) {
  struct stat st{};
  if (::stat(mp.c_str(), &st) != 0)
    fail(errc::usage, "mount point '" + mp + "': " + std::strerror(errno) + (errno == ENOENT ? "; create it first (mkdir)" : ""));
  if (!S_ISDIR(st.st_mode)) fail(errc::usage, "mount point '" + mp + "' is not a directory");
  std::error_code ec;
  if (fs::directory_iterator(mp, ec) != fs::directory_iterator())
    fail(errc::usage, "mount point '" + mp + "' is not empty (or is mounted already): give an empty directory");
  if (ec) fail(errc::usage, "mount point '" + mp + "': " + ec.message());
}

std::string default_cache(const std::string& repository_name) {
  std::string root;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) root = x;
  else if (const char* h = std::getenv("HOME"); h && *h) root = std::string(h) + "/.cache";
  if (root.empty()) fail(errc::usage, "neither XDG_CACHE_HOME nor HOME is set: give the cache directory with --cache DIR");
  // One directory a repository, named by it: later mounts of it share it.
  return root + "/stratum/" + sha256(as_bytes(repository_name)).hex().substr(0, 20);
}

void log_line(const std::string& m) {
  std::fprintf(stderr, "%s UTC stratum mount: %s\n", time_string(std::time(nullptr)).c_str(), escape_name(m).c_str());
  std::fflush(stderr);
}

// Starts `stratum mount ... -f --ready-fd 3` in a new session and waits until
// it has mounted (it writes to the pipe) or ended (its exit code).
int start_in_background(const parsed_args& a) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail(errc::permanent, std::string("pipe: ") + std::strerror(errno));
  std::vector<std::string> argv = {"stratum", "mount"};
  for (const auto& p : a.positional) argv.push_back(p);
  for (const auto& o : mount_options())
    if (auto v = a.values.find(o.name); v != a.values.end() && o.name != "foreground" && o.name != "ready-fd") {
      argv.push_back("--" + o.name);
      if (o.takes_value) argv.push_back(v->second);
    }
  for (const char* extra : {"--foreground", "--ready-fd", "3"}) argv.push_back(extra);
  std::vector<char*> ptrs;
  for (auto& s : argv) ptrs.push_back(s.data());
  ptrs.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 3);  // dup2 clears close-on-exec
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  // Nothing else the caller left open (a pipe its caller reads to the end,
  // as $(...) does) stays open for as long as the mount lives.
  posix_spawn_file_actions_addclosefrom_np(&fa, 4);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);  // no SIGHUP when the SSH session ends
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &fa, &attr, ptrs.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    fail(errc::permanent, std::string("cannot start the mount in the background: ") + std::strerror(rc));
  }
  char c = 0;
  ssize_t r;
  while ((r = ::read(fds[0], &c, 1)) < 0 && errno == EINTR) {
  }
  ::close(fds[0]);
  if (r == 1) {
    std::fprintf(stderr, "stratum mount: %s mounted at %s (process %d; unmount with 'fusermount3 -u %s')\n",
                 escape_name(a.positional[0]).c_str(), escape_name(a.positional[1]).c_str(), static_cast<int>(pid),
                 escape_name(a.positional[1]).c_str());
    return ok;
  }
  // It ended before mounting: its message is on our stderr already.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : fatal;
}

// --follow: every `every`, the manifest is read again (verified and trusted
// as any read's); a newer revision is shown to new lookups.
awaitable<void> follow(asio::steady_timer& timer, std::chrono::seconds every, const std::string& spec, const parsed_args& a,
                       backend& store, const store_options& so, mount_tree& tree, object_cache& cache, fuse_glue& glue,
                       std::vector<std::unique_ptr<repository>>& repos) {
  for (;;) {
    timer.expires_after(every);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;  // unmounted
    try {
      auto next = co_await repository::open(store, ctx->p.cpu, reader_trust(spec, a, store, so), nullptr, limits(a));
      if (next->head().revision == tree.revision()) continue;
      const auto revision = next->head().revision;
      auto names = co_await tree.show(*next, next->head().root, revision);
      cache.use(*next);
      repos.push_back(std::move(next));
      // Requests under way may still use the last few; older ones go.
      if (repos.size() > 4) repos.erase(repos.begin());
      glue.forget_root_names(std::move(names));
      log_line("now showing revision " + std::to_string(revision));
    } catch (const std::exception& e) {
      log_line(std::string("--follow: the manifest could not be read again (the mount keeps revision ") +
               std::to_string(tree.revision()) + "): " + e.what());
    }
  }
}

awaitable<int> do_mount(parsed_args& a) {
  const std::string spec = a.positional[0], mp = a.positional[1];
  std::chrono::seconds every{0};
  if (auto f = a.get("follow")) {
    if (a.has("tag") || a.has("revision")) fail(errc::usage, "--follow shows the newest revision: not with --tag or --revision");
    every = std::chrono::seconds(a.number("follow", 0));
    if (every.count() == 0) fail(errc::usage, "--follow takes seconds (at least 1), not '" + *f + "'");
  }
  const std::uint64_t cache_size = size_arg(a.get_or("cache-size", "4G"), "--cache-size");
  check_mountpoint(mp);
  if (!a.has("foreground")) co_return start_in_background(a);
  // The object cache keeps hundreds of objects open: the soft limit on
  // descriptors (often 1024) is raised to the hard one.
  if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }

  // A reader on a mount gives up sooner than a publish: a request waits 10 s
  // for an answer and is sent 3 times at most, 2 s apart at most.
  store_options so = remote(a);
  if (!a.has("request-timeout")) so.request_timeout = std::chrono::seconds(10);
  if (!a.has("retries")) so.max_attempts = 3;
  so.max_backoff = std::chrono::seconds(2);
  auto store = open_store(spec, store_use::read, ctx->io, ctx->p.blocking, so);
  const trust_options trust = reader_trust(spec, a, *store, so);
  std::vector<std::unique_ptr<repository>> repos;
  repos.push_back(co_await repository::open(*store, ctx->p.cpu, trust, nullptr, limits(a)));
  repository& repo = *repos.back();
  const auto [root, revision] = chosen_revision(repo, a);

  object_cache cache(repo, ctx->p.blocking, a.get_or("cache", default_cache(trust.repository)), cache_size);
  cache.open();
  mount_tree tree(repo, ctx->p.cpu);
  co_await tree.show(repo, root, revision);

  fuse_options fo;
  fo.mountpoint = fs::absolute(mp).string();
  fo.fsname = "stratum:" + store->describe();
  fo.allow_other = ::geteuid() == 0;
  fo.log = log_line;
  // A local store is read as fast as two cores verify (64 prefetchers were
  // no faster than 32); a remote one answers after a round trip, which many
  // under way hide (bench/README.md, mount).
  fo.prefetchers = store->stats() ? 256 : 32;
  fuse_glue glue(ctx->io, ctx->p.blocking, tree, cache, fo);
  glue.mount();

  if (auto fd = a.get("ready-fd")) {
    // Mounted: the command that started this one returns now. What follows
    // is logged to --log FILE (default: the cache directory's mount.log).
    const int ready = static_cast<int>(a.number("ready-fd", 3));
    const std::string log = a.get_or("log", cache.dir() + "/mount.log");
    const int lfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    // Never the starter's stderr: it waits for that pipe to close.
    const int to = lfd >= 0 ? lfd : ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (to >= 0) {
      ::dup2(to, 2);
      ::close(to);
    }
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, 1);
      ::close(null);
    }
    (void)!::write(ready, "1", 1);
    ::close(ready);
  }
  log_line("mounted " + store->describe() + " revision " + std::to_string(revision) + " at " + fo.mountpoint + " (cache " +
           cache.dir() + ")");

  asio::signal_set signals(ctx->io, SIGTERM, SIGINT, SIGHUP);
  signals.async_wait([&](const boost::system::error_code& ec, int n) {
    if (ec) return;
    log_line(std::string("unmounting on ") + strsignal(n));
    glue.unmount();
  });
  asio::steady_timer timer(ctx->io);
  if (every.count())
    asio::co_spawn(ctx->io, follow(timer, every, spec, a, *store, so, tree, cache, glue, repos), asio::detached);
  co_await glue.serve();
  signals.cancel();
  timer.cancel();
  const auto& cs = cache.stats();
  log_line("unmounted; " + std::to_string(cs.fetched) + " objects fetched (" + human_bytes(static_cast<double>(cs.fetched_bytes)) +
           "), " + std::to_string(cs.hits) + " read from the cache, " + std::to_string(tree.stats().catalogs_loaded) +
           " catalogs loaded");
  const auto gs = glue.stats();
  log_line(std::to_string(gs.reads) + " reads answered; " + std::to_string(gs.pushed) +
           " small files put into the kernel's page cache before they were read (" + std::to_string(gs.push_refused) +
           " refused: inode not yet known" +
           (gs.push_failed ? "; " + std::to_string(gs.push_failed) + " failed, the first: " + std::strerror(gs.push_error) : "") + ")");
  if (const retry_stats* rs = store->stats()) {
    // What the store saw: requests at once at most, and on average while two
    // or more were under way.
    const double mean = rs->overlap_seconds > 0 ? rs->overlap_in_flight_seconds / rs->overlap_seconds : 0;
    char line[160];
    std::snprintf(line, sizeof line, "requests in flight: peak %u, mean %.1f while busy; %llu retried", rs->peak_in_flight, mean,
                  static_cast<unsigned long long>(rs->retries));
    log_line(line);
  }
  co_return ok;
}

}  // namespace

std::vector<command> mount_commands() {
  return {{"mount", mount_synopsis,
           "Shows a revision of the repository in STORE (the current one, a tag's, or a revision number\n"
           "the history lists) as a read-only file system at MOUNTPOINT, an empty directory. Catalogs are\n"
           "fetched when a lookup reaches them, file contents on first read, each verified against its\n"
           "name before a byte is shown: a damaged object gives EIO for that file and a log line, never\n"
           "wrong bytes. Contents are kept in an on-disk cache, least recently used out. The command\n"
           "returns once the file system is mounted; `fusermount3 -u MOUNTPOINT` (or umount, or SIGTERM\n"
           "to the process it names) unmounts it.\n\n"
           "  --tag NAME, --revision N   mount that revision instead of the current one\n"
           "  --cache DIR         the content cache (default $XDG_CACHE_HOME/stratum/ID, ID naming the\n"
           "                      repository; later mounts of the same repository share it)\n"
           "  --cache-size SIZE   the cache's bound, e.g. 500M, 4G (default 4G)\n"
           "  --follow SECONDS    read the manifest again this often and show a newer revision to new\n"
           "                      lookups; files open across the switch keep reading their revision\n"
           "  -f, --foreground    stay in the foreground, logging to standard error\n"
           "  --log FILE          where the background mount logs (default DIR/mount.log)\n"
           "Every entry has, besides its own extended attributes, user.stratum.revision,\n"
           "user.stratum.catalog and (files) user.stratum.hash or user.stratum.chunks, readable by name\n"
           "and not listed. A store that does not answer: each request waits --request-timeout (default\n"
           "10 here) and is sent --retries + 1 times (default 3), then the read fails with EIO.\n",
           mount_options(), 2, 2, do_mount,
           "nothing was mounted; run the command again once the cause is fixed"}};
}

}  // namespace stratum::cmd
