// The read-only http store (storage/http_store/http_backend.cpp) against
// Python's http.server: whole objects and parts, from a server that
// answers ranges (206) and from `python3 -m http.server`, which sends the
// whole file (200), of which no more than the part is read; HEAD; HTTPS with --ca-file; what each status means and
// that the retrying backend repeats the transient ones. In the e2e
// executable: it starts servers.
#include "async/error.hpp"
#include "http_server.hpp"
#include "storage/backend.hpp"
#include "storage/retrying_backend.hpp"
#include "servers.hpp"
#include "support.hpp"

#include <filesystem>

using namespace stratum;
using namespace stratum::test;
using namespace std::chrono_literals;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string text(const std::optional<bytes>& b) {
  REQUIRE(b.has_value());
  return std::string(b->begin(), b->end());
}

// The error `run()` throws.
template <class F>
stratum::error thrown(F&& run) {
  try {
    run();
  } catch (const stratum::error& e) {
    return e;
  }
  FAIL("no error");
  return stratum::error(make_error_code(errc::permanent), "");
}

}  // namespace

TEST_CASE("http store: whole objects, parts and missing ones, with and without ranges on the server") {
  temp_dir d;
  const std::string body = pattern(100000, 7);
  std::filesystem::create_directories(d / "www/repo/data/ab");
  write_file(d / "www/repo/data/ab/obj", body);
  write_file(d / "www/repo/with space+plus", "odd name");
  for (bool ranges : {true, false}) {
    CAPTURE(ranges);
    const std::string log = d / (ranges ? "ranges.log" : "none.log");
    // Without ranges and a log: `python3 -m http.server` itself.
    web_server srv(d / "www", {.ranges = ranges, .log = ranges ? log : ""});
    asio::io_context io;
    auto store = make_http_backend(srv.url() + "/repo/", io, {});
    CHECK(store->describe() == srv.url() + "/repo");
    auto get = [&](const std::string& key, std::uint64_t offset = 0, std::uint64_t length = 0) {
      return run_io(io, [&] { return store->get(key, offset, length); });
    };
    CHECK(text(get("data/ab/obj")) == body);
    CHECK(text(get("data/ab/obj", 10, 20)) == body.substr(10, 20));
    CHECK(text(get("data/ab/obj", 0, 5)) == body.substr(0, 5));
    CHECK(text(get("data/ab/obj", 99990, 0)) == body.substr(99990));
    CHECK(text(get("data/ab/obj", body.size() - 3, 100)) == body.substr(body.size() - 3));
    CHECK(text(get("data/ab/obj", 0, body.size() + 1)) == body);  // the readers' "at most"
    CHECK(text(get("data/ab/obj", body.size() + 5, 10)).empty());
    CHECK(text(get("with space+plus")) == "odd name");
    CHECK(!get("data/ab/missing").has_value());
    auto info = run_io(io, [&] { return store->stat("data/ab/obj"); });
    REQUIRE(info.has_value());
    CHECK(info->size == body.size());
    CHECK(!run_io(io, [&] { return store->stat("nothing/here"); }).has_value());
    if (ranges) {
      // The part was asked for, not cut from the whole.
      const std::string requests = read_file(log);
      CAPTURE(requests);
      CHECK(has(requests, "GET /repo/data/ab/obj bytes=10-29\n"));
      CHECK(has(requests, "GET /repo/data/ab/obj -\n"));
      CHECK(has(requests, "HEAD /repo/data/ab/obj -\n"));
      CHECK(has(requests, "GET /repo/with%20space%2Bplus -\n"));
    }
  }
}

TEST_CASE("http store: https with --ca-file, and a certificate that does not verify is refused") {
  temp_dir d;
  std::filesystem::create_directories(d / "www");
  write_file(d / "www/.cvmfspublished", "signed manifest");
  auto tls = make_certificate(d / "tls");
  auto other = make_certificate(d / "other");
  web_server srv(d / "www", {.tls = tls});
  REQUIRE(srv.url().rfind("https://", 0) == 0);
  asio::io_context io;
  store_options o;
  o.ca_file = tls.cert;
  auto store = make_http_backend(srv.url(), io, o);
  CHECK(text(run_io(io, [&] { return store->get(".cvmfspublished", 0, 65537); })) == "signed manifest");
  for (const std::string& ca : {other.cert, std::string()}) {  // another CA; the system's
    CAPTURE(ca);
    o.ca_file = ca;
    auto untrusted = make_http_backend(srv.url(), io, o);
    auto e = thrown([&] { run_io(io, [&] { return untrusted->get(".cvmfspublished", 0, 0); }); });
    CAPTURE(e.what());
    CHECK(is(e, errc::permanent));
    CHECK(has(e.what(), srv.url()));
  }
}

TEST_CASE("http store: 5xx and 429 are transient and retried, other answers permanent, each naming the URL") {
  temp_dir d;
  std::filesystem::create_directories(d / "www");
  const std::string log = d / "log";
  web_server srv(d / "www", {.ranges = true, .log = log});
  asio::io_context io;
  auto at = [&](const std::string& base) { return make_http_backend(srv.url() + base, io, {}); };
  auto get_error = [&](const std::string& base) {
    auto store = at(base);
    return thrown([&] { run_io(io, [&] { return store->get("data/x", 0, 100); }); });
  };
  for (auto [status, throttled] : {std::pair{503, true}, std::pair{429, true}, std::pair{500, false}, std::pair{502, false}}) {
    CAPTURE(status);
    auto e = get_error("/status/" + std::to_string(status));
    CHECK(is(e, errc::transient));
    CHECK(e.throttled == throttled);
    CHECK(std::string(e.what()) == "GET " + srv.url() + "/status/" + std::to_string(status) + "/data/x: HTTP " + std::to_string(status));
  }
  auto head = at("/status/503");
  CHECK(is(thrown([&] { run_io(io, [&] { return head->stat("data/x"); }); }), errc::transient));
  auto forbidden = get_error("/status/403");
  CHECK(is(forbidden, errc::permanent));
  CHECK(has(forbidden.what(), "HTTP 403: the server refuses it"));
  CHECK(is(get_error("/status/418"), errc::permanent));
  auto moved = get_error("/redirect");
  CHECK(is(moved, errc::permanent));
  CHECK(has(moved.what(), "redirects to 'http://elsewhere.example/repo', which stratum does not follow"));
  CHECK(!has(moved.what(), "SECRET"));
  // A 206 of another part than the one asked for is not taken for it.
  auto store = at("/wrongpart");
  CHECK(text(run_io(io, [&] { return store->get("data/x", 0, 100); })) == "abcd");  // from byte 0, as asked
  auto shifted = thrown([&] { run_io(io, [&] { return store->get("data/x", 5, 4); }); });
  CHECK(is(shifted, errc::corrupt));
  CHECK(has(shifted.what(), "HTTP 206 with Content-Range 'bytes 0-3/10', not the part from byte 5"));

  // Through the retry layer, as open_store() wraps it: a 503 is asked again
  // until the attempts run out; a 403 once.
  retry_policy quick;
  quick.max_attempts = 3;
  quick.base = 1ms;
  quick.cap = 2ms;
  auto retried = make_retrying_backend(at("/status/503"), io, quick);
  CHECK(is(thrown([&] { run_io(io, [&] { return retried->get("again", 0, 0); }); }), errc::transient));
  auto refused = make_retrying_backend(at("/status/403"), io, quick);
  CHECK(is(thrown([&] { run_io(io, [&] { return refused->get("once", 0, 0); }); }), errc::permanent));
  const std::string requests = read_file(log);
  auto count = [&](const std::string& line) {
    std::size_t n = 0;
    for (auto p = requests.find(line); p != std::string::npos; p = requests.find(line, p + 1)) ++n;
    return n;
  };
  CHECK(count("GET /status/503/again -\n") == 3);
  CHECK(count("GET /status/403/once -\n") == 1);
}

TEST_CASE("http store: of a whole object sent for a part, no more than the part's end is read") {
  // tests/support/http_server answers every GET with 200 and the whole
  // body, ignoring the Range, as http.server does. The client stops at the
  // part's end and closes that connection (the rest of the body is in it):
  // a second request needs a new one. Read whole, the body would have been
  // drained and the connection kept.
  http_server_options so;
  so.body = pattern(4 << 20, 11);
  http_server srv(so);
  asio::io_context io;
  auto store = make_http_backend(srv.endpoint() + "/repo", io, {});
  CHECK(text(run_io(io, [&] { return store->get("data/ab/cd", 100, 50); })) == so.body.substr(100, 50));
  CHECK(text(run_io(io, [&] { return store->get("data/ab/cd", 0, 65537); })) == so.body.substr(0, 65537));
  CHECK(srv.accepted() == 2);
  CHECK(text(run_io(io, [&] { return store->get("data/ab/cd", 0, 0); })) == so.body);
  CHECK(text(run_io(io, [&] { return store->get("data/ab/cd", 0, 0); })) == so.body);
  CHECK(srv.accepted() == 3);  // read whole, the connection was kept
}
