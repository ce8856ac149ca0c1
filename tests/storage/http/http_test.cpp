// The HTTP client (storage/http) against tests/support/http_server, a server
// that closes connections the way real stores do: idle connections aged out
// of the pool, a request that meets connections the server has closed, a TLS
// stream cut without close_notify, and the count of open connections.
#include "async/error.hpp"
#include "async/group.hpp"
#include "http_server.hpp"
#include "storage/http/http.hpp"
#include "support.hpp"

#include <thread>

using namespace stratum;
using namespace stratum::test;
using namespace std::chrono_literals;

namespace {

struct client_env {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  asio::io_context io;
  std::unique_ptr<http_client> make(const http_server& s, std::chrono::milliseconds max_idle = 10s) {
    http_options o;
    o.ca_file = tls.cert;
    o.timeout = 5s;
    o.max_idle = max_idle;
    return make_http_client(io, parse_endpoint(s.endpoint()), o);
  }
};

http_request get() {
  http_request r;
  r.method = "GET";
  r.target = "/x";
  return r;
}

// `n` requests at once; each must be answered 200.
void requests(client_env& e, http_client& c, int n) {
  run_io(e.io, [&]() -> awaitable<void> {
    std::vector<awaitable<void>> all;
    for (int i = 0; i < n; ++i)
      all.push_back([](http_client& c) -> awaitable<void> {
        auto r = co_await c.request(get());
        CHECK(r.status == 200);
      }(c));
    co_await run_all(std::move(all));
  });
}

}  // namespace

TEST_CASE("a request that meets kept-alive connections the server has closed goes out on a new one") {
  // The server closes each connection as the second request on it arrives,
  // without close_notify: both pooled connections are dead, as after an
  // idle spell at S3. Once one of them fails, the older ones are not tried.
  for (bool tls : {true, false}) {
    CAPTURE(tls);
    client_env e;
    http_server_options so;
    if (tls) so.tls = e.tls;
    so.answers_per_connection = 1;
    http_server s(so);
    auto c = e.make(s);
    requests(e, *c, 2);
    REQUIRE(s.accepted() == 2);
    requests(e, *c, 1);
    CHECK(s.accepted() == 3);
    CHECK(s.answered() == 3);
  }
}

TEST_CASE("a TLS stream cut without close_notify is a transient error") {
  client_env e;
  http_server_options so;
  so.tls = e.tls;
  so.answers_per_connection = 0;  // every request is read, then the connection closed
  http_server s(so);
  auto c = e.make(s);
  try {
    run_io(e.io, [&]() -> awaitable<void> { co_await c->request(get()); });
    FAIL("the request succeeded");
  } catch (const std::exception& x) {
    INFO(std::string(x.what()));
    CHECK(is(x, errc::transient));
    CHECK(std::string(x.what()).find(s.endpoint()) != std::string::npos);
  }
}

TEST_CASE("a pooled connection idle longer than the bound is not reused") {
  client_env e;
  http_server s({});
  auto c = e.make(s, 300ms);
  requests(e, *c, 1);
  requests(e, *c, 1);
  CHECK(s.accepted() == 1);  // reused at once
  std::this_thread::sleep_for(500ms);
  requests(e, *c, 1);
  CHECK(s.accepted() == 2);
  CHECK(c->connections().open == 1);
}

TEST_CASE("a server's Keep-Alive timeout shortens the bound") {
  // Node's servers (s3rver, Azurite) and Apache say "Keep-Alive: timeout=5"
  // and close at 5 s; the client stops reusing at four fifths of what is said.
  client_env e;
  http_server_options so;
  so.extra_headers = "Keep-Alive: timeout=1\r\n";
  http_server s(so);
  auto c = e.make(s);
  requests(e, *c, 1);
  std::this_thread::sleep_for(300ms);
  requests(e, *c, 1);
  CHECK(s.accepted() == 1);
  std::this_thread::sleep_for(900ms);
  requests(e, *c, 1);
  CHECK(s.accepted() == 2);
}

TEST_CASE("connections idle past the server's own timeout are replaced without an error") {
  client_env e;
  http_server_options so;
  so.tls = e.tls;
  so.close_idle_after = 200ms;
  http_server s(so);
  auto c = e.make(s);
  requests(e, *c, 3);
  std::this_thread::sleep_for(400ms);
  REQUIRE(s.open() == 0);
  requests(e, *c, 3);
  CHECK(s.answered() == 6);
}

TEST_CASE("the count of open connections stays exact when a TLS handshake fails and when a request throws") {
  client_env e;
  http_server_options so;
  so.tls = e.tls;
  so.connections_served = 1;  // the second connection is closed before its handshake
  http_server s(so);
  auto c = e.make(s);
  requests(e, *c, 1);
  REQUIRE(c->connections().open == 1);
  // Two at once: one reuses the pooled connection, one makes a connection
  // whose handshake fails.
  int failed = 0;
  run_io(e.io, [&]() -> awaitable<void> {
    std::vector<awaitable<void>> two;
    for (int i = 0; i < 2; ++i)
      two.push_back([](http_client& c, int& failed) -> awaitable<void> {
        try {
          co_await c.request(get());
        } catch (const std::exception&) {
          ++failed;
        }
      }(*c, failed));
    co_await run_all(std::move(two));
  });
  CHECK(failed == 1);
  CHECK(c->connections().open == 1);
  CHECK(s.open() == 1);

}

TEST_CASE("the count of open connections stays exact when a request throws a stratum error") {
  // A request refused before it is sent (a header holding a line break)
  // throws a stratum error, not an Asio one: its connection is closed and
  // no longer counted.
  client_env e;
  http_server s({});
  auto c = e.make(s);
  requests(e, *c, 1);
  REQUIRE(c->connections().open == 1);
  http_request bad = get();
  bad.headers.emplace_back("X-Bad", "a\r\nb");
  CHECK_THROWS(run_io(e.io, [&]() -> awaitable<void> { co_await c->request(bad); }));
  CHECK(c->connections().open == 0);
}

TEST_CASE("max_body: the body is read up to it, the rest left unread and its connection closed") {
  // What the http store asks of a server that may send more than it was
  // asked for (a whole object for a Range it ignores).
  for (bool tls : {true, false}) {
    CAPTURE(tls);
    client_env e;
    http_server_options so;
    if (tls) so.tls = e.tls;
    so.body = pattern(3 << 20, 5);
    http_server s(so);
    auto c = e.make(s);
    auto ask = [&](std::uint64_t most) {
      http_request r = get();
      r.max_body = most;
      return run_io(e.io, [&] { return c->request(r); });
    };
    auto whole = ask(0);
    CHECK(whole.status == 200);
    CHECK(whole.body.size() == so.body.size());
    CHECK(std::string(whole.body.begin(), whole.body.end()) == so.body);
    CHECK(!whole.body_cut);
    auto exact = ask(so.body.size());  // all of it: the connection is kept
    CHECK(exact.body.size() == so.body.size());
    CHECK(!exact.body_cut);
    CHECK(s.accepted() == 1);
    auto part = ask(1000);
    CHECK(part.status == 200);
    CHECK(part.body_cut);
    CHECK(std::string(part.body.begin(), part.body.end()) == so.body.substr(0, 1000));
    CHECK(c->connections().open == 0);  // closed with the rest of the body in it
    auto again = ask((1 << 20) + 7);  // on a new connection, and several reads long
    CHECK(s.accepted() == 2);
    CHECK(again.body_cut);
    CHECK(std::string(again.body.begin(), again.body.end()) == so.body.substr(0, (1 << 20) + 7));
  }
}
