// Endpoint URLs as users write them (storage/http/endpoint).
#include "async/error.hpp"
#include "storage/http/endpoint.hpp"

#include <doctest/doctest.h>

using namespace stratum;

TEST_CASE("endpoint URLs: scheme, host, port and an optional path") {
  struct row {
    const char* url;
    bool tls;
    const char* host;
    const char* port;
    const char* path;
    const char* host_header;
  };
  const row rows[] = {
      {"https://s3.eu-west-3.amazonaws.com", true, "s3.eu-west-3.amazonaws.com", "443", "", "s3.eu-west-3.amazonaws.com"},
      {"https://127.0.0.1:10000/", true, "127.0.0.1", "10000", "", "127.0.0.1:10000"},
      {"http://localhost", false, "localhost", "80", "", "localhost"},
      {"http://localhost:80", false, "localhost", "80", "", "localhost"},
      {"https://127.0.0.1:10000/devstoreaccount1", true, "127.0.0.1", "10000", "/devstoreaccount1", "127.0.0.1:10000"},
      {"http://127.0.0.1:10000/devstoreaccount1/", false, "127.0.0.1", "10000", "/devstoreaccount1", "127.0.0.1:10000"},
      {"https://[::1]:9000/acct", true, "::1", "9000", "/acct", "[::1]:9000"},
      {"https://[::1]", true, "::1", "443", "", "[::1]"},
      {"HTTPS://Example.COM:8443/devstore%61ccount1", true, "Example.COM", "8443", "/devstoreaccount1", "Example.COM:8443"},
      {"http://[2001:db8::1]:10000/a/b/", false, "2001:db8::1", "10000", "/a/b", "[2001:db8::1]:10000"},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.url));
    auto u = parse_endpoint_url(r.url);
    CHECK(u.endpoint.tls == r.tls);
    CHECK(u.endpoint.host == r.host);
    CHECK(u.endpoint.port == r.port);
    CHECK(u.path == r.path);
    CHECK(u.endpoint.host_header() == r.host_header);
  }
}

TEST_CASE("endpoint URLs that are refused, with a usage error naming them") {
  for (const char* bad : {"s3.amazonaws.com", "ftp://host", "https://", "https:///path", "https://host:port", "https://[::1",
                          "https://host/?x=1", "https://user@host", "https://host#frag", "https://host:99999999999999999999",
                          "https://host:0", "https://host:+80", "https://ho st", "https://[v7.abc]/", "https://host:80:80",
                          "https://host?"}) {
    CAPTURE(std::string(bad));
    try {
      parse_endpoint_url(bad);
      FAIL("accepted");
    } catch (const std::exception& e) {
      CHECK(is(e, errc::usage));
      CHECK(std::string(e.what()).find(bad) != std::string::npos);
    }
  }
  // Where a path is not wanted (S3), one is refused.
  CHECK_THROWS_WITH(parse_endpoint("https://127.0.0.1:9000/bucket"),
                    doctest::Contains("without a path"));
  CHECK(parse_endpoint("https://127.0.0.1:9000/").port == "9000");
}
