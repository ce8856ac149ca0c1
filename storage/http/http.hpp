// A small HTTP/1.1 client for the object stores: HTTPS (OpenSSL, peer and
// host name verified against the system CA store or --ca-file, SNI) or plain
// HTTP, kept-alive connections reused from a pool, a deadline on every
// request. All Beast and SSL code is in http.cpp (build time, docs/STACK.md); this
// header is light.
//
// It never sends `Expect: 100-continue` (a round trip per PUT). Failures to
// connect, resets and timeouts throw errc::transient; a certificate that does
// not verify, or a server that does not speak TLS, throws errc::permanent
// (storage/system_error classifies them). Messages name the endpoint, never
// a header value. An answer is returned whatever its status: the store's
// backend decides what it means (storage/http/status).
#pragma once

#include "async/async.hpp"
#include "io/io.hpp"
#include "storage/http/endpoint.hpp"
#include "storage/http/status.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stratum {

struct http_options {
  std::string ca_file;  // PEM; empty: the system's CA store
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // per request
  // A pooled connection idle this long is closed rather than reused. Stores
  // close idle connections themselves, and one reused as the server closes
  // it fails: S3 closes them after ~20 s (and has been seen to at ~5 s),
  // Azure's front ends after minutes, Node (s3rver, Azurite) and Apache at
  // 5 s. Half of S3's 20 s; a server that says `Keep-Alive: timeout=N` is
  // held to 4/5 of N. A connection closed for age costs a new TCP connection
  // and a resumed TLS handshake, after an idle spell only.
  std::chrono::milliseconds max_idle{std::chrono::seconds(10)};
};

struct http_request {
  std::string method;
  std::string target;  // path and query, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  const std::vector<std::pair<std::string, std::string>>* more_headers = nullptr;  // sent after `headers`
  std::shared_ptr<const bytes> body;  // may be null
  // Read at most this many bytes of the answer's body (0: up to 4 GiB,
  // and a longer body is an error); the rest is left unread, the
  // connection closed, and http_response::body_cut set.
  std::uint64_t max_body = 0;
};

class http_client {
 public:
  virtual ~http_client() = default;
  // Sends the request on a pooled connection (or a new one) and reads the
  // whole response. A pooled connection idle longer than max_idle is not
  // reused; one the server had closed is replaced by a new connection once,
  // transparently. I/O thread only; several requests may be in flight.
  virtual awaitable<http_response> request(const http_request& r) = 0;
  virtual const http_endpoint& endpoint() const = 0;
  struct counts {
    std::size_t open = 0;     // connections open now
    std::size_t opened = 0;   // connections made so far
    std::size_t resumed = 0;  // of those, TLS sessions resumed (no certificate exchanged)
  };
  virtual counts connections() const = 0;
};

std::unique_ptr<http_client> make_http_client(asio::io_context& io, const http_endpoint& ep, const http_options& o);

}  // namespace stratum
