#include "fault_proxy.hpp"
#include "servers.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace stratum::test {
namespace {

bool send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads from fd into buf until `done(buf)` or EOF/error; false on EOF before done.
template <class Done>
bool read_until(int fd, std::string& buf, Done done) {
  char tmp[65536];
  while (!done(buf)) {
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
  }
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The value of a header in a head block (case-insensitive), or "".
std::string header(const std::string& head, const std::string& name) {
  std::string h = lower(head), key = "\r\n" + lower(name) + ":";
  auto at = h.find(key);
  if (at == std::string::npos) return "";
  auto start = at + key.size();
  auto end = head.find("\r\n", start);
  std::string v = head.substr(start, end - start);
  v.erase(0, v.find_first_not_of(' '));
  return v;
}

struct message {
  std::string head;  // through the blank line
  std::string body;
};

// Reads one HTTP message (request, or response to `method`) from fd, with
// `buf` holding bytes already read.
bool read_message(int fd, std::string& buf, message& m, bool response, const std::string& method) {
  if (!read_until(fd, buf, [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; })) return false;
  auto end = buf.find("\r\n\r\n") + 4;
  m.head = buf.substr(0, end);
  buf.erase(0, end);
  std::string len = header(m.head, "Content-Length");
  bool chunked = lower(header(m.head, "Transfer-Encoding")).find("chunked") != std::string::npos;
  int status = response ? std::atoi(m.head.c_str() + 9) : 0;
  if (response && (method == "HEAD" || status == 204 || status == 304)) return true;
  if (chunked) {
    if (!read_until(fd, buf, [](const std::string& b) { return b.find("\r\n0\r\n\r\n") != std::string::npos || b.rfind("0\r\n\r\n", 0) == 0; }))
      return false;
    auto stop = buf.rfind("0\r\n\r\n", 0) == 0 ? 5 : buf.find("\r\n0\r\n\r\n") + 7;
    m.body = buf.substr(0, stop);
    buf.erase(0, stop);
    return true;
  }
  std::size_t n = len.empty() ? 0 : std::stoull(len);
  if (!read_until(fd, buf, [&](const std::string& b) { return b.size() >= n; })) return false;
  m.body = buf.substr(0, n);
  buf.erase(0, n);
  return true;
}

void reset(int fd) {
  linger l{1, 0};  // close with RST
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

}  // namespace

fault_proxy::fault_proxy(int upstream_port, std::function<fault_plan(int, const std::string&)> plan)
    : upstream_(upstream_port), plan_(std::move(plan)) {
  listener_ = listen_loopback(512, port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

fault_proxy::~fault_proxy() {
  stop_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  ::close(listener_);
  acceptor_.join();
  {
    std::lock_guard g(mu_);
    for (int c : clients_) ::shutdown(c, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
}

std::vector<std::string> fault_proxy::seen() const {
  std::lock_guard g(mu_);
  return seen_;
}

std::string fault_proxy::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

void fault_proxy::accept_loop() {
  while (!stop_) {
    int c = ::accept(listener_, nullptr, nullptr);
    if (c < 0) {
      if (stop_) return;
      continue;
    }
    std::lock_guard g(mu_);
    clients_.push_back(c);
    workers_.emplace_back([this, c] { serve(c); });
  }
}

void fault_proxy::serve(int client) {
  std::string buf;
  for (;;) {
    // The head first: a reset mid-body must come before the body is read.
    if (!read_until(client, buf, [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; })) break;
    std::string method = buf.substr(0, buf.find(' '));
    int n = ++count_;
    fault_plan p = plan_(n, method);
    if (p.kind == fault::reset_mid_body) {
      // Take part of what the client sends, then cut the connection.
      std::string len = header(buf.substr(0, buf.find("\r\n\r\n") + 4), "Content-Length");
      std::size_t want = buf.find("\r\n\r\n") + 4 + (len.empty() ? 0 : std::stoull(len) / 2);
      read_until(client, buf, [&](const std::string& b) { return b.size() >= want; });
      break;
    }
    message req;
    if (!read_message(client, buf, req, false, method)) break;
    {
      std::lock_guard g(mu_);
      seen_.push_back(req.head + req.body);
    }
    if (p.kind == fault::no_answer) {
      // Hold the connection; the client's deadline has to fire.
      char tmp[4096];
      while (!stop_ && ::recv(client, tmp, sizeof tmp, 0) > 0) {}
      break;
    }
    if (p.kind == fault::status) {
      std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + p.code + "</Code><Message>injected</Message></Error>";
      std::string resp = "HTTP/1.1 " + std::to_string(p.status) + " Injected\r\nContent-Type: application/xml\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n" + (p.retry_after.empty() ? "" : "Retry-After: " + p.retry_after + "\r\n") +
                         "\r\n" + (method == "HEAD" ? "" : body);
      if (!send_all(client, resp)) break;
      continue;
    }
    // Forward to the real server on a fresh connection.
    int up = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(upstream_));
    if (::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(up);
      break;
    }
    std::string up_buf;
    message resp;
    bool ok = send_all(up, req.head + req.body) && read_message(up, up_buf, resp, true, method);
    ::close(up);
    if (!ok || !send_all(client, resp.head + resp.body)) break;
  }
  {
    std::lock_guard g(mu_);
    clients_.erase(std::remove(clients_.begin(), clients_.end(), client), clients_.end());
  }
  reset(client);
}

}  // namespace stratum::test
