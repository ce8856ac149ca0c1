// A small HTTP/1.1 server for the HTTP client's tests, plain or TLS (OpenSSL,
// blocking, a thread per connection), answering every request with 200 and a
// body (short unless asked). It misbehaves on demand as real stores do and s3rver or Azurite
// will not when asked: it closes connections that sat idle (S3 after ~20 s,
// Node's servers after 5 s), closes a kept-alive connection just as the next
// request arrives (the race a client meets when it reuses one at that moment),
// and drops new connections. Its closes never send TLS close_notify: the
// client sees the stream truncated, as it does with the real services.
#pragma once

#include "servers.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stratum::test {

struct http_server_options {
  tls_files tls;  // empty cert: plain HTTP
  // Close a connection idle this long (0: never).
  std::chrono::milliseconds close_idle_after{0};
  // Requests answered on a connection; the next one is read whole and the
  // connection closed without an answer (-1: no limit).
  int answers_per_connection = -1;
  // Connections served; later ones are accepted and closed at once (-1: no limit).
  int connections_served = -1;
  std::string extra_headers;  // added to every answer, each ending in \r\n
  std::string body = "ok";    // of every answer
};

class http_server {
 public:
  explicit http_server(http_server_options o);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  std::string endpoint() const;  // https://127.0.0.1:PORT (or http://)
  int accepted() const { return accepted_.load(); }  // connections accepted so far
  int answered() const { return answered_.load(); }  // requests answered so far
  int open() const { return open_.load(); }          // connections open now, as the server sees them

 private:
  void accept_loop();
  void serve(int fd, int number);

  http_server_options o_;
  void* ctx_ = nullptr;  // SSL_CTX*, when TLS
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0}, answered_{0}, open_{0};
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> workers_;
};

}  // namespace stratum::test
