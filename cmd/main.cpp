#include "cmd/cmd.hpp"

#include <csignal>
#include <malloc.h>
#include <sys/resource.h>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // `stratum cat ... | head` ends with EPIPE, not a signal
  // Thousands of connections and files in flight need more than the usual
  // soft limit of 1024 descriptors; the hard limit is ours to take.
  rlimit r;
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
  // File data lives in buffers of 128 KiB to 16 MiB that are freed and
  // allocated again all the time. glibc would map each from the kernel and
  // unmap it on free, then fault every page in again, zeroed. Kept in the
  // heap instead: page faults of a Linux-tree publish 85k -> 51k. The memory
  // budget (--memory) still bounds how much of it is in use.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 64 << 20);
  return stratum::cmd::run(argc, argv);
}
