// A plain-HTTP proxy in front of a real server that fails chosen requests in
// ways a real server will not on demand: a 503 SlowDown (or any status)
// answer, a connection reset in the middle of the request body, or no answer
// at all. Requests are numbered from 1 in the order they arrive.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stratum::test {

enum class fault { none, status, reset_mid_body, no_answer };

struct fault_plan {
  fault kind = fault::none;
  int status = 503;                 // fault::status: the answer
  std::string code = "SlowDown";    // its S3 error code
  std::string retry_after;          // its Retry-After header ("" for none)
};

class fault_proxy {
 public:
  // `plan(n, method)` decides what happens to request n.
  fault_proxy(int upstream_port, std::function<fault_plan(int, const std::string&)> plan);
  ~fault_proxy();
  std::string endpoint() const;  // http://127.0.0.1:PORT
  int requests() const { return count_.load(); }
  // Every request read whole (head and body, as sent), in arrival order.
  std::vector<std::string> seen() const;

 private:
  void accept_loop();
  void serve(int client);

  int upstream_;
  int listener_ = -1;
  int port_ = 0;
  std::function<fault_plan(int, const std::string&)> plan_;
  std::atomic<int> count_{0};
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::string> seen_;
  std::vector<int> clients_;
  std::vector<std::thread> workers_;
};

}  // namespace stratum::test
