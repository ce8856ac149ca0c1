// The stratum binary's entry point: process-wide settings (SIGPIPE ignored,
// the descriptor limit raised), then cmd::run on the main thread.
#include "cmd/cmd.hpp"

#include <csignal>
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
  return stratum::cmd::run(argc, argv);
}
