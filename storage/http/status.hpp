// What an object store's answer means: the HTTP status and the service's
// error code (S3's <Code>, Azure's x-ms-error-code) mapped to stratum's error
// classes in one table for both services, and the response's own headers
// (Retry-After, Content-Range). Pure functions, any thread; no Beast here.
#pragma once

#include "async/error.hpp"
#include "io/io.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stratum {

struct http_response {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  bytes body;
  bool body_cut = false;  // the body is longer than http_request::max_body: this is its start
  std::optional<std::string> header(std::string_view name) const;  // case-insensitive
  // Retry-After in its delta-seconds form (1*DIGIT), at most 300 s; 0 when
  // absent, a date, or not a number (it is advice: a bad one is ignored).
  std::chrono::milliseconds retry_after() const;
};

// A Content-Range header of a 206 answer: "bytes FIRST-LAST/TOTAL" or
// "bytes FIRST-LAST/*" (RFC 9110, 14.4), with FIRST <= LAST < TOTAL.
struct content_range {
  std::uint64_t first = 0, last = 0;
  std::optional<std::uint64_t> total;  // none for '*'
};
// The range, or nullopt when `value` is not that (surrounding whitespace
// allowed). Never throws: the value comes from the server.
std::optional<content_range> parse_content_range(std::string_view value);

// What a failed answer means.
struct status_meaning {
  errc code = errc::permanent;
  bool throttled = false;  // the store asks the client to slow down
  bool auth = false;       // the credentials, or what they allow, are the cause
  bool missing_container = false;  // the bucket or container does not exist
};

// 404 not_found; 401/403 permanent, auth; 408, 429, 500, 502, 503, 504
// transient (429, 503 throttled); S3 SlowDown and Azure ServerBusy transient
// and throttled whatever the status; S3 RequestTimeout, Azure
// OperationTimedOut and InternalError transient; NoSuchBucket and
// ContainerNotFound permanent; other 4xx and 5xx permanent.
status_meaning classify_status(unsigned status, std::string_view service_code);

// Throws the stratum error an answer that is not a success means.
// `what` names the operation and the object ("PUT s3://b/p/key"); the status
// and service code are added, and for auth failures `auth_hint` (which
// credentials to check), for a missing bucket or container `missing_hint`.
[[noreturn]] void fail_status(const http_response& r, std::string_view service_code, const std::string& what,
                              const std::string& auth_hint, const std::string& missing_hint);

}  // namespace stratum
