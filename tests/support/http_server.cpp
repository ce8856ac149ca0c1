// The misbehaving HTTP(S) server of http_server.hpp: an acceptor thread, and a
// thread per connection reading requests (head and Content-Length body) and
// answering each with 200.
#include "http_server.hpp"
#include "servers.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace stratum::test {
namespace {

// One connection's byte stream, plain or TLS.
struct stream {
  int fd;
  SSL* ssl = nullptr;
  long read(char* p, int n) { return ssl ? SSL_read(ssl, p, n) : ::recv(fd, p, static_cast<std::size_t>(n), 0); }
  bool write(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      long n = ssl ? SSL_write(ssl, s.data() + off, static_cast<int>(s.size() - off))
                   : ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool buffered() const { return ssl && SSL_pending(ssl) > 0; }
};

// The end of one whole request in `buf` (head and body), or npos.
std::size_t request_end(const std::string& buf) {
  auto head = buf.find("\r\n\r\n");
  if (head == std::string::npos) return std::string::npos;
  std::size_t length = 0;
  std::string lower = buf.substr(0, head);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) length = std::strtoull(lower.c_str() + at + 17, nullptr, 10);
  std::size_t end = head + 4 + length;
  return buf.size() >= end ? end : std::string::npos;
}

}  // namespace

http_server::http_server(http_server_options o) : o_(std::move(o)) {
  if (!o_.tls.cert.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    REQUIRE(ctx);
    REQUIRE(SSL_CTX_use_certificate_chain_file(ctx, o_.tls.cert.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx, o_.tls.key.c_str(), SSL_FILETYPE_PEM) == 1);
    ctx_ = ctx;
  }
  listener_ = listen_loopback(128, port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

http_server::~http_server() {
  stop_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  ::close(listener_);
  acceptor_.join();
  {
    std::lock_guard g(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
  if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

std::string http_server::endpoint() const { return std::string(ctx_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_); }

void http_server::accept_loop() {
  while (!stop_) {
    int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) {
      if (stop_) return;
      continue;
    }
    int number = ++accepted_;
    ++open_;
    if (o_.connections_served >= 0 && number > o_.connections_served) {
      --open_;
      ::close(fd);
      continue;
    }
    std::lock_guard g(mu_);
    fds_.push_back(fd);
    workers_.emplace_back([this, fd, number] { serve(fd, number); });
  }
}

void http_server::serve(int fd, int) {
  // OpenSSL writes with write(2): a client that has gone raises SIGPIPE in
  // this thread. Blocked here, the write fails with EPIPE instead.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  stream s{fd};
  bool ok = true;
  if (ctx_) {
    s.ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
    SSL_set_fd(s.ssl, fd);
    ok = SSL_accept(s.ssl) == 1;
  }
  std::string buf;
  for (int answers = 0; ok && !stop_;) {
    // Read one whole request, closing the connection when it sits idle too long.
    std::size_t end;
    while ((end = request_end(buf)) == std::string::npos) {
      if (o_.close_idle_after.count() > 0 && buf.empty() && !s.buffered()) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(o_.close_idle_after.count())) == 0) {
          ok = false;
          break;
        }
      }
      char tmp[16384];
      long n = s.read(tmp, sizeof tmp);
      if (n <= 0) {
        ok = false;
        break;
      }
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    if (!ok) break;
    buf.erase(0, end);
    if (o_.answers_per_connection >= 0 && answers >= o_.answers_per_connection) break;
    // Counted before it is sent: the client may look as soon as it has the answer.
    ++answers;
    ++answered_;
    const std::string& body = o_.body;
    ok = s.write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + o_.extra_headers + "\r\n" + body);
  }
  // No SSL_shutdown: the connection ends without close_notify.
  if (s.ssl) SSL_free(s.ssl);
  {
    std::lock_guard g(mu_);
    fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
  }
  ::close(fd);
  --open_;
}

}  // namespace stratum::test
