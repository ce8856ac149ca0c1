// `stratum mount` as the tests run it: started in the background as a user
// would (the command returns once the file system is mounted), unmounted with
// fusermount3 when the test is done with it, and never left mounted: a mount
// whose process does not end is killed and lazily unmounted.
#pragma once

#include "support.hpp"

#include <sys/types.h>

namespace stratum::test {

// True when `path` is a mount point (/proc/self/mountinfo).
bool is_mounted(const std::string& path);

class mount_run {
 public:
  // Runs `stratum mount STORE MOUNTPOINT ARGS...` (args after the mount
  // point) and REQUIREs that it mounted.
  mount_run(const std::string& store, const std::string& mountpoint, std::vector<std::string> args = {}, run_options o = {});
  ~mount_run();
  mount_run(const mount_run&) = delete;
  mount_run& operator=(const mount_run&) = delete;

  // fusermount3 -u, then waits up to `seconds` for the process to end.
  // Returns whether it ended by itself (with status 0).
  bool unmount(int seconds = 20);
  // SIGTERM to the process; returns whether it ended with status 0 and the
  // mount is gone within `seconds`.
  bool terminate(int seconds = 20);

  pid_t pid = -1;
  std::string mountpoint;
  run_result started;
};

}  // namespace stratum::test
