#include "cmd/cmd.hpp"

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // `stratum cat ... | head` ends with EPIPE, not a signal
  return stratum::cmd::run(argc, argv);
}
