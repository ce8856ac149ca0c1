// What the mount does with its mount point outside the FUSE session: the
// fsname made safe for the mount options, and a lazy unmount (the kernel
// call as root, fusermount3 otherwise). Thread: any (blocking calls).
#pragma once

#include <string>

namespace stratum::cmd {

// `s` with commas, backslashes and control characters replaced: fsname=...
// ends at a comma.
std::string option_safe(std::string s);

// Detaches the file system at `mountpoint` lazily: a shell inside it does not
// keep it mounted, nor the mount's own process.
void detach_mount(const std::string& mountpoint);

}  // namespace stratum::cmd
