// The mount point outside the FUSE session (mount_point.hpp). Thread: any.
#include "cmd/mount_point.hpp"

#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace stratum::cmd {

std::string option_safe(std::string s) {
  for (char& c : s)
    if (c == ',' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
  return s;
}

void detach_mount(const std::string& mountpoint) {
  if (::geteuid() == 0) {
    ::umount2(mountpoint.c_str(), MNT_DETACH);
    return;
  }
  const char* argv[] = {"fusermount3", "-u", "-z", mountpoint.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawnp(&pid, "fusermount3", nullptr, nullptr, const_cast<char**>(argv), environ) == 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

}  // namespace stratum::cmd
