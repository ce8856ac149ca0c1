// The progress line (progress.hpp). Thread: the I/O thread, from a timer.
#include "cmd/progress.hpp"

#include "cmd/cmd.hpp"

#include <cstdio>
#include <unistd.h>

namespace stratum::cmd {

progress::progress(asio::io_context& io, const publish_stats& s, bool quiet)
    : timer_(io), s_(s), quiet_(quiet), tty_(::isatty(2)), period_(tty_ ? 250 : 10000) {}

void progress::start() {
  if (quiet_) return;
  running_ = true;
  start_ = std::chrono::steady_clock::now();
  tick();
}

void progress::tick() {
  timer_.expires_after(period_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running_) return;
    print(false);
    tick();
  });
}

void progress::stop() {
  if (!running_) return;
  running_ = false;
  timer_.cancel();
  print(true);
}

void progress::print(bool final) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (secs <= 0) secs = 1e-9;
  char eta[32] = "";
  if (s_.scan_done && s_.bytes_done > 0 && s_.bytes > s_.bytes_done && !final) {
    double left = (s_.bytes - s_.bytes_done) / (s_.bytes_done / secs);
    std::snprintf(eta, sizeof eta, "  ETA %.0fs", left);
  }
  char line[512];
  std::snprintf(line, sizeof line, "%s: %llu/%llu%s files, %s/%s, %.0f files/s, %s/s, %llu objects stored, %llu in flight%s",
                s_.phase, static_cast<unsigned long long>(s_.files_done), static_cast<unsigned long long>(s_.files),
                s_.scan_done ? "" : "+", human_bytes(static_cast<double>(s_.bytes_done)).c_str(),
                human_bytes(static_cast<double>(s_.bytes)).c_str(), s_.files_done / secs,
                human_bytes(s_.bytes_done / secs).c_str(), static_cast<unsigned long long>(s_.objects_stored),
                static_cast<unsigned long long>(s_.in_flight), eta);
  std::string extra = store_status_ ? store_status_() : std::string();
  if (!extra.empty()) extra = ", " + extra;
  if (tty_) std::fprintf(stderr, "\r\033[K%s%s%s", line, extra.c_str(), final ? "\n" : "");
  else std::fprintf(stderr, "%s%s\n", line, extra.c_str());
  std::fflush(stderr);
}

}  // namespace stratum::cmd
