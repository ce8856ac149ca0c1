// The child runner and the six-command check of a crafted store (runner.hpp).
// Thread: the test's main thread.
#include "runner.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <string_view>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace stratum::test::hostile {
namespace {

constexpr std::size_t output_cap = std::size_t(1) << 20;

// What a tree looks like from lstat alone: path -> type, mode, size, mtime,
// ctime, inode, links. Content is not read (a store may hold FIFOs and a
// 3 GiB sparse file); any write, chmod, chown or xattr change moves ctime.
using tree_state = std::map<std::string, std::string>;

void snapshot(const std::string& dir, const std::string& rel, tree_state& out) {
  struct stat st;
  const std::string path = rel.empty() ? dir : dir + "/" + rel;
  if (::lstat(path.c_str(), &st) != 0) return;
  std::ostringstream s;
  s << std::oct << st.st_mode << std::dec << " size " << st.st_size << " mtime " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec
    << " ctime " << st.st_ctim.tv_sec << "." << st.st_ctim.tv_nsec << " ino " << st.st_ino << " nlink " << st.st_nlink;
  out[rel.empty() ? "." : rel] = s.str();
  if (!S_ISDIR(st.st_mode)) return;
  DIR* d = ::opendir(path.c_str());
  if (!d) return;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") snapshot(dir, rel.empty() ? n : rel + "/" + n, out);
  }
  ::closedir(d);
}

tree_state snapshot(const std::string& dir) {
  tree_state s;
  snapshot(dir, "", s);
  return s;
}

// The store as the runner compares it. Opening a local store links and
// unlinks a probe file in .stratum-tmp/ (storage/local_backend.cpp), which
// moves that directory's times and nothing else: they are left out here, and
// "reading writes nothing to the store" is its own case (objects_test.cpp).
// Anything that stays in .stratum-tmp/ still shows.
tree_state store_snapshot(const std::string& store) {
  tree_state s = snapshot(store);
  if (auto it = s.find(".stratum-tmp"); it != s.end()) it->second = it->second.substr(0, it->second.find(" mtime "));
  return s;
}

std::string differences(const tree_state& before, const tree_state& after) {
  std::string out;
  for (auto& [p, v] : before) {
    auto it = after.find(p);
    if (it == after.end()) out += "  removed: " + p + "\n";
    else if (it->second != v) out += "  changed: " + p + " (" + v + " -> " + it->second + ")\n";
  }
  for (auto& [p, v] : after)
    if (!before.count(p)) out += "  new: " + p + "\n";
  return out;
}

// Every extended attribute under `dir` whose name is not user.* ("path: name").
std::vector<std::string> foreign_xattrs(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  std::vector<std::string> paths{dir};
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec))
    paths.push_back(it->path().string());
  for (auto& p : paths) {
    char names[65536];
    ssize_t n = ::llistxattr(p.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < n;) {
      std::string name(names + i);
      if (name.rfind("user.", 0) != 0) out.push_back(p + ": " + name);
      i += static_cast<ssize_t>(name.size()) + 1;
    }
  }
  return out;
}

std::string codes_of(unsigned mask) {
  std::string s;
  for (int c = 0; c < 32; ++c)
    if (mask & code(c)) s += (s.empty() ? "" : " or ") + std::to_string(c);
  return s;
}

std::string shorten(const std::string& s, std::size_t n = 3000) { return s.size() <= n ? s : s.substr(0, n) + "\n[...]"; }

}  // namespace

namespace {

// Starts STRATUM_BIN with `args` and `env`, stdout and stderr on `out` and
// `err`. posix_spawn (a vfork inside glibc) unless the child must drop
// capabilities first: fork() of this process copies its page tables, which
// under ASan (shadow memory, the quarantine of freed blocks) cost 28 ms per
// child against 4 ms for posix_spawn, measured on a 200 MB process.
pid_t start_child(const std::vector<std::string>& args, const std::vector<std::string>& env, bool drop_dac, int out, int err) {
  std::vector<char*> argv{const_cast<char*>(STRATUM_BIN)};
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // This process's environment with `env` in place of the same names.
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    bool replaced = false;
    for (auto& o : env) replaced = replaced || v.substr(0, v.find('=') + 1) == std::string_view(o).substr(0, o.find('=') + 1);
    if (!replaced) envp.push_back(*e);
  }
  for (auto& o : env) envp.push_back(const_cast<char*>(o.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  if (drop_dac) {
    pid = ::fork();
    if (pid == 0) {
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0);
      ::prctl(PR_CAPBSET_DROP, CAP_DAC_READ_SEARCH, 0, 0, 0);
      ::execve(STRATUM_BIN, argv.data(), envp.data());
      _exit(127);
    }
  } else {
    posix_spawn_file_actions_t fa;
    ::posix_spawn_file_actions_init(&fa);
    ::posix_spawn_file_actions_adddup2(&fa, out, 1);
    ::posix_spawn_file_actions_adddup2(&fa, err, 2);
    if (::posix_spawn(&pid, STRATUM_BIN, &fa, nullptr, argv.data(), envp.data()) != 0) pid = -1;
    ::posix_spawn_file_actions_destroy(&fa);
  }
  REQUIRE(pid > 0);
#ifndef __SANITIZE_ADDRESS__
  // A guard for the shared machine, not an assertion: a reader that
  // inflates a bomb whole reaches ~4 GB (issue 16) and two test processes
  // run at once. The cap sits far above the 256 MiB the case asserts, so a
  // child that hits it has already failed that assertion. posix_spawn
  // returns once the child has exec'd, before the reader allocates much.
  // (ASan reserves terabytes of address space and cannot run under a cap.)
  rlimit as{std::uint64_t(4) << 30, std::uint64_t(4) << 30};
  ::prlimit(pid, RLIMIT_AS, &as, nullptr);
#endif
  return pid;
}

}  // namespace

child_result run_child(const std::vector<std::string>& args, const std::vector<std::string>& env,
                       std::chrono::milliseconds timeout, bool drop_dac) {
  int out[2], err[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = start_child(args, env, drop_dac, out[1], err[1]);
  ::close(out[1]);
  ::close(err[1]);
  child_result r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* dest[2] = {&r.out, &r.err};
  int open = 2;
  bool killed = false;
  while (open > 0) {
    int wait_ms = -1;
    if (!killed) {
      auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      wait_ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
    }
    int n = ::poll(fds, 2, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n >= 0);
    if (n == 0) {  // the deadline: a hang
      ::kill(pid, SIGKILL);
      r.timed_out = killed = true;
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      char buf[65536];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
        continue;
      }
      if (dest[i]->size() < output_cap) dest[i]->append(buf, std::min<std::size_t>(got, output_cap - dest[i]->size()));
    }
  }
  int status = 0;
  rusage ru{};
  REQUIRE(::wait4(pid, &status, 0, &ru) == pid);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.peak_rss_kib = ru.ru_maxrss;
  return r;
}

std::chrono::seconds command_timeout() {
  const char* s = std::getenv("STRATUM_HOSTILE_TIMEOUT");
  return std::chrono::seconds(s ? std::max(1, std::atoi(s)) : 30);
}

namespace {
expectation with_list_catalogs(expectation x, unsigned list_catalogs) {
  x.list_catalogs = list_catalogs;
  return x;
}
}  // namespace

expectation genuine() { return with_list_catalogs({code(0), code(0), code(0), code(0), code(0), code(0)}, code(0)); }
expectation untrusted() { return with_list_catalogs({code(3), code(3), code(3), code(3), code(3), code(3)}, code(3)); }
expectation root_damaged() { return with_list_catalogs({code(3), code(3), code(3), code(1), code(1), code(3)}, code(3)); }
expectation history_damaged() {
  expectation x{code(3), code(0), code(0), code(1), code(1), code(3)};
  x.ls_tag = "trunk-previous";
  return with_list_catalogs(x, code(0));
}
expectation nested_damaged(const std::string& mount, const std::string& file) {
  return with_list_catalogs({code(3), code(3), code(1), code(1), code(1), code(0), mount, file}, code(3));
}
expectation file_damaged() { return with_list_catalogs({code(0), code(3), code(1), code(0), code(1), code(0)}, code(0)); }
expectation file_not_regular() { return with_list_catalogs({code(0), code(3), code(1), code(1), code(1), code(0)}, code(0)); }

std::vector<std::string> reader_env(const crafted_store& s) {
  return {"XDG_CONFIG_HOME=" + s.xdg, "HOME=" + s.home};
}

void seed_trust(const crafted_store& s) {
  auto r = run_child({"info", s.store}, reader_env(s), command_timeout());
  INFO("the genuine store before crafting '" << s.name << "': " << r.err);
  REQUIRE(r.code == 0);
}

std::map<std::string, std::string> tree_snapshot(const std::string& dir) { return snapshot(dir); }

std::vector<std::pair<std::string, std::vector<std::string>>> read_commands(const crafted_store& s, const expectation& x,
                                                                            const std::string& dest) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out = {
      {"ls", {"ls", s.store}},
      {"cat", {"cat", s.store, x.cat_path}},
      {"restore", {"restore", "-q", s.store, dest}},
      {"check", {"check", s.store}},
      {"check -i", {"check", "-i", s.store}},
      {"info", {"info", s.store}},
      {"list-catalogs", {"list-catalogs", "-e", "-s", "-x", s.store}},
  };
  if (!x.ls_path.empty()) out[0].second.push_back(x.ls_path);
  if (!x.ls_tag.empty()) out[0].second.insert(out[0].second.end(), {"--tag", x.ls_tag});
  return out;
}

void run_commands(const crafted_store& s, const run_spec& spec) {
  const auto& x = spec.expect;
  struct one {
    std::string name;
    std::vector<std::string> args;
    unsigned allowed;
  };
  const std::string dest = s.dir / "dest";
  const unsigned allowed[] = {x.ls, x.cat, x.restore, x.check, x.check_i, x.info, x.list_catalogs};
  std::vector<one> commands;
  for (auto& [name, args] : read_commands(s, x, dest)) commands.push_back({name, args, allowed[commands.size()]});
  long peak_kib = 0;
  double slowest = 0;
  for (auto& c : commands) {
    c.args.insert(c.args.end(), spec.extra_args.begin(), spec.extra_args.end());
    std::string line = "stratum";
    for (auto& a : c.args) line += " " + a;
    const auto store_before = store_snapshot(s.store), canary_before = snapshot(s.canary), outside_before = snapshot(s.outside);

    auto r = run_child(c.args, reader_env(s), command_timeout());
    peak_kib = std::max(peak_kib, r.peak_rss_kib);
    slowest = std::max(slowest, r.seconds);

    const std::string what = "[" + s.name + "] " + line;
    INFO(what << "\n  exit " << r.code << " in " << r.seconds << " s, peak RSS " << r.peak_rss_kib / 1024 << " MiB\n  stderr: "
              << shorten(r.err));
    CHECK_MESSAGE(!r.timed_out, what << ": still running after " << command_timeout().count() << " s (a hang); killed");
    CHECK_MESSAGE((r.code >= 0 && r.code < 32 && (c.allowed & code(r.code))), what << ": exit " << r.code << ", expected "
                                                                                  << codes_of(c.allowed));
    if (r.code != 0)
      for (const auto& n : spec.names) {
        bool found = false;
        for (const auto& alt : n) found = found || r.err.find(alt) != std::string::npos;
        std::string alts;
        for (const auto& alt : n) alts += (alts.empty() ? "'" : " or '") + alt + "'";
        CHECK_MESSAGE(found, what << ": the message does not name " << alts);
      }
#ifndef __SANITIZE_ADDRESS__
    // Release builds only: ASan's shadow memory and quarantine inflate RSS
    // several times over, so the sanitizer build does not assert it.
    CHECK_MESSAGE(r.peak_rss_kib < peak_rss_limit_kib, what << ": peak RSS " << r.peak_rss_kib / 1024 << " MiB, limit "
                                                           << peak_rss_limit_kib / 1024 << " MiB");
#endif
    auto store_diff = differences(store_before, store_snapshot(s.store));
    CHECK_MESSAGE(store_diff.empty(), what << ": the store changed:\n" << store_diff);
    auto canary_diff = differences(canary_before, snapshot(s.canary));
    CHECK_MESSAGE(canary_diff.empty(), what << ": written outside the destination (canary/):\n" << canary_diff);
    auto outside_diff = differences(outside_before, snapshot(s.outside));
    CHECK_MESSAGE(outside_diff.empty(), what << ": a file outside the store changed:\n" << outside_diff);
    if (c.args[0] == "restore") {
      for (auto& f : foreign_xattrs(dest)) CHECK_MESSAGE(false, what << ": restored an attribute outside user.*: " << f);
      std::error_code ec;
      std::filesystem::remove_all(dest, ec);
    }
  }
  // The figures of the case, for reading a run (ctest -V or the binary).
  MESSAGE("[" << s.name << "] highest peak RSS " << peak_kib / 1024 << " MiB, slowest command " << slowest << " s");
}

}  // namespace stratum::test::hostile
