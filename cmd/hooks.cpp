// Runs the site hooks of STATE/hooks (cmd/hooks.hpp): checks the file,
// spawns it with its output on a pipe, copies that output to stderr line by
// line, and says how it ended. Thread: the main thread (blocking).
#include "cmd/hooks.hpp"

#include "async/error.hpp"
#include "cmd/cmd.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace stratum::cmd {
namespace {

namespace fs = std::filesystem;

// Closes a descriptor when it goes out of scope.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

// Copies the hook's output to stderr, a line at a time with its name in
// front, so it reads like the rest of stratum's log and cannot carry terminal
// control sequences. A last line without '\n' is shown too.
void copy_output(int fd, const std::string& name) {
  std::string pending;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
      std::fprintf(stderr, "stratum: %s: %s\n", name.c_str(), escape_name(std::string_view(pending).substr(start, nl - start)).c_str());
    pending.erase(0, start);
  }
  if (!pending.empty()) std::fprintf(stderr, "stratum: %s: %s\n", name.c_str(), escape_name(pending).c_str());
}

// stratum's environment with `vars` set (replacing any of the same name).
std::vector<std::string> hook_environment(const hook_vars& vars) {
  std::map<std::string, std::string> set(vars.begin(), vars.end());
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (!set.count(std::string(kv.substr(0, kv.find('='))))) out.emplace_back(kv);
  }
  for (auto& [k, v] : set) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

std::string hook_path(const std::string& state, const std::string& name) { return state + "/hooks/" + name; }

std::string run_hook(const std::string& state, const std::string& name, const std::vector<std::string>& args, const hook_vars& env) {
  const std::string path = hook_path(state, name);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return "";  // no hook
    return std::string("cannot be read: ") + std::strerror(errno);
  }
  // A symbolic link is followed: a site may keep its scripts elsewhere.
  if (::stat(path.c_str(), &st) != 0) return std::string("cannot be used: ") + std::strerror(errno) + " (a dangling link?)";
  if (!S_ISREG(st.st_mode)) return "is not a regular file (make it an executable file, or remove it)";
  if (::access(path.c_str(), X_OK) != 0) return "is not executable (chmod +x it, or remove it)";

  std::error_code ec;
  hook_vars vars{{"STRATUM_HOOK", name}, {"STRATUM_STATE", fs::absolute(state, ec).lexically_normal().string()}};
  vars.insert(vars.end(), env.begin(), env.end());
  std::vector<std::string> envs = hook_environment(vars);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_s{path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return std::string("could not be started: pipe: ") + std::strerror(errno);
  fd_guard rd{p[0]}, wr{p[1]};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, wr.fd, 1);  // dup2 clears FD_CLOEXEC on the copy
  posix_spawn_file_actions_adddup2(&fa, wr.fd, 2);
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, path.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) {
    return std::string("could not be started: ") + std::strerror(err) + (err == ENOEXEC ? " (a script needs a #! line)" : "");
  }
  ::close(wr.fd);  // the hook (and what it starts) holds the only write end now: EOF when it is done
  wr.fd = -1;
  copy_output(rd.fd, name);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return std::string("could not be waited for: ") + std::strerror(errno);
  if (WIFEXITED(status)) return WEXITSTATUS(status) == 0 ? "" : "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended abnormally";
}

void run_before_hook(const std::string& state, const std::string& name, const std::vector<std::string>& args, const hook_vars& env) {
  const std::string what = run_hook(state, name, args, env);
  if (!what.empty())
    fail(errc::permanent, "the " + name + " hook '" + hook_path(state, name) + "' " + what +
                              "; nothing was changed (fix the hook, or remove it, and run the command again)");
}

bool run_after_hook(const std::string& state, const std::string& name, const std::vector<std::string>& args, const hook_vars& env) {
  const std::string what = run_hook(state, name, args, env);
  if (what.empty()) return true;
  std::fprintf(stderr, "stratum: the %s hook '%s' %s\n", name.c_str(), escape_name(hook_path(state, name)).c_str(), what.c_str());
  return false;
}

}  // namespace stratum::cmd
