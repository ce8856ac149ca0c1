// What S3's and Azure's answers mean (storage/http/status): one table for
// both services, Retry-After, and the errors thrown.
#include "async/error.hpp"
#include "storage/http/status.hpp"

#include <doctest/doctest.h>

using namespace stratum;
using namespace std::chrono_literals;

TEST_CASE("HTTP status and service code to stratum's error classes") {
  struct row {
    unsigned status;
    const char* code;
    errc expect;
    bool throttled, auth, missing;
  };
  const row rows[] = {
      {404, "", errc::not_found, false, false, false},
      {404, "NoSuchKey", errc::not_found, false, false, false},
      {404, "BlobNotFound", errc::not_found, false, false, false},
      {404, "NoSuchBucket", errc::permanent, false, false, true},
      {404, "ContainerNotFound", errc::permanent, false, false, true},
      {401, "", errc::permanent, false, true, false},
      {403, "AccessDenied", errc::permanent, false, true, false},
      {403, "SignatureDoesNotMatch", errc::permanent, false, true, false},
      {403, "AuthenticationFailed", errc::permanent, false, true, false},
      {403, "AuthorizationPermissionMismatch", errc::permanent, false, true, false},
      {408, "", errc::transient, false, false, false},
      {429, "", errc::transient, true, false, false},
      {500, "", errc::transient, false, false, false},
      {500, "InternalError", errc::transient, false, false, false},
      {500, "OperationTimedOut", errc::transient, false, false, false},
      {500, "ServerBusy", errc::transient, true, false, false},
      {502, "", errc::transient, false, false, false},
      {503, "", errc::transient, true, false, false},
      {503, "SlowDown", errc::transient, true, false, false},
      {503, "ServerBusy", errc::transient, true, false, false},
      {504, "", errc::transient, false, false, false},
      {400, "RequestTimeout", errc::transient, false, false, false},
      {400, "", errc::permanent, false, false, false},
      {400, "InvalidArgument", errc::permanent, false, false, false},
      {405, "", errc::permanent, false, false, false},
      {409, "ContainerBeingDeleted", errc::permanent, false, false, false},
      {412, "", errc::permanent, false, false, false},
      {501, "NotImplemented", errc::permanent, false, false, false},
      {505, "", errc::permanent, false, false, false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.status);
    CAPTURE(std::string(r.code));
    auto m = classify_status(r.status, r.code);
    CHECK(m.code == r.expect);
    CHECK(m.throttled == r.throttled);
    CHECK(m.auth == r.auth);
    CHECK(m.missing_container == r.missing);
  }
}

TEST_CASE("Retry-After: delta-seconds up to 300 s, anything else ignored, never an exception") {
  struct row {
    const char* value;
    std::chrono::milliseconds expect;
  };
  const row rows[] = {
      {"0", 0s}, {"7", 7s}, {" 7 ", 7s}, {"120", 120s}, {"300", 300s}, {"301", 300s}, {"86400", 300s},
      {"99999999999999999999999999", 300s},  // digits, too many: as long as allowed (std::stoul threw here)
      {"", 0s}, {"soon", 0s}, {"-5", 0s}, {"5x", 0s}, {"1e3", 0s}, {"+5", 0s}, {"Wed, 21 Oct 2015 07:28:00 GMT", 0s},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.value));
    http_response resp;
    resp.headers = {{"retry-after", r.value}};
    CHECK(resp.retry_after() == r.expect);
  }
  CHECK(http_response{}.retry_after() == 0s);
}

TEST_CASE("fail_status throws with the operation, the status, the code and what to do") {
  auto thrown = [](unsigned status, const char* code, std::vector<std::pair<std::string, std::string>> headers = {}) {
    http_response r;
    r.status = status;
    r.headers = std::move(headers);
    try {
      fail_status(r, code, "PUT s3://b/p/key", "check the keys", "bucket 'b' does not exist");
    } catch (const error& e) {
      return e;
    }
    FAIL("fail_status returned");
    return error(make_error_code(errc::permanent), "");
  };
  auto slow = thrown(503, "SlowDown", {{"Retry-After", "3"}});
  CHECK(is(slow, errc::transient));
  CHECK(slow.throttled);
  CHECK(slow.retry_after == 3s);
  CHECK(std::string(slow.what()) == "PUT s3://b/p/key: HTTP 503 SlowDown");
  auto denied = thrown(403, "AccessDenied");
  CHECK(is(denied, errc::permanent));
  CHECK(std::string(denied.what()) == "PUT s3://b/p/key: HTTP 403 AccessDenied: check the keys");
  auto missing = thrown(404, "NoSuchBucket");
  CHECK(is(missing, errc::permanent));
  CHECK(std::string(missing.what()) == "PUT s3://b/p/key: HTTP 404 NoSuchBucket: bucket 'b' does not exist");
  auto gone = thrown(404, "");
  CHECK(is(gone, errc::not_found));
  CHECK(std::string(gone.what()) == "PUT s3://b/p/key: HTTP 404");
  auto busy = thrown(500, "InternalError");
  CHECK(is(busy, errc::transient));
  CHECK(!busy.throttled);
}

TEST_CASE("Content-Range of a 206: bytes FIRST-LAST/TOTAL or /*, or nothing") {
  auto r = parse_content_range("bytes 10-29/100000");
  REQUIRE(r.has_value());
  CHECK(r->first == 10);
  CHECK(r->last == 29);
  CHECK(r->total == std::optional<std::uint64_t>(100000));
  auto unknown = parse_content_range(" bytes 0-0/*\t");
  REQUIRE(unknown.has_value());
  CHECK(unknown->first == 0);
  CHECK(!unknown->total.has_value());
  CHECK(parse_content_range("bytes 18446744073709551614-18446744073709551614/18446744073709551615").has_value());
  for (const char* bad : {"", "bytes", "bytes */100", "bytes 5-4/100", "bytes 0-100/100", "bytes 0-9/", "bytes 0-9", "bytes -1-9/10",
                          "bytes +0-9/10", "bytes 0--9/10", "bytes 0-9/10x", "bytes 0-9/*x", "items 0-9/10", "Bytes 0-9/10",
                          "bytes 0-18446744073709551616/*", "bytes  0-9/10"}) {
    CAPTURE(bad);
    CHECK(!parse_content_range(bad).has_value());
  }
}
