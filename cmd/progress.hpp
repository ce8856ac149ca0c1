// The live progress of a publish: a line redrawn on a terminal, or a plain
// line every 10 seconds when stderr is not a terminal (logs, CI, nohup).
// Thread: the I/O thread.
#pragma once

#include "catalog/publish/publisher.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace stratum::cmd {

class progress {
 public:
  progress(asio::io_context& io, const publish_stats& s, bool quiet);
  void start();
  void stop();  // prints the last state and ends the line
  // Appended to the line when not empty (the store's requests and retries).
  void set_store_status(std::function<std::string()> f) { store_status_ = std::move(f); }

 private:
  void tick();
  void print(bool final);

  asio::steady_timer timer_;
  const publish_stats& s_;
  bool quiet_, tty_, running_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::milliseconds period_;
  std::function<std::string()> store_status_;
};

}  // namespace stratum::cmd
