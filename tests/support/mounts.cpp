// mount_run (mounts.hpp). Thread: the test's.
#include "mounts.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace stratum::test {

namespace {

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// The background mount is not our child (its starter is): wait by polling.
bool wait_gone(pid_t pid, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (alive(pid)) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace

bool is_mounted(const std::string& path) {
  const std::string want = std::filesystem::absolute(path).lexically_normal().string();
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    // Field 5 is the mount point.
    std::size_t at = 0;
    for (int i = 0; i < 4 && at != std::string::npos; ++i) at = line.find(' ', at + 1);
    if (at == std::string::npos) continue;
    const std::size_t end = line.find(' ', at + 1);
    if (line.substr(at + 1, end - at - 1) == want) return true;
  }
  return false;
}

mount_run::mount_run(const std::string& store, const std::string& mp, std::vector<std::string> args, run_options o) : mountpoint(mp) {
  std::vector<std::string> a = {"mount", store, mp};
  a.insert(a.end(), args.begin(), args.end());
  started = run_stratum(a, o);
  REQUIRE_MESSAGE(started.code == 0, started.err);
  const auto at = started.err.find("(process ");
  REQUIRE_MESSAGE(at != std::string::npos, started.err);
  pid = std::stoi(started.err.substr(at + 9));
  REQUIRE(is_mounted(mp));
}

bool mount_run::unmount(int seconds) {
  if (pid <= 0) return false;
  shell("fusermount3 -u '" + mountpoint + "' 2>&1");
  const bool ended = wait_gone(pid, seconds);
  if (ended) pid = -1;
  return ended && !is_mounted(mountpoint);
}

bool mount_run::terminate(int seconds) {
  if (pid <= 0) return false;
  ::kill(pid, SIGTERM);
  const bool ended = wait_gone(pid, seconds);
  if (ended) pid = -1;
  return ended && !is_mounted(mountpoint);
}

mount_run::~mount_run() {
  if (pid > 0 && !unmount(20)) {
    ::kill(pid, SIGKILL);
    wait_gone(pid, 5);
  }
  if (is_mounted(mountpoint)) shell("fusermount3 -u -z '" + mountpoint + "' 2>&1");
}

}  // namespace stratum::test
