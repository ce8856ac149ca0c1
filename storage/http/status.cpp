// HTTP answers of S3 and Azure as stratum errors (status.hpp).
#include "storage/http/status.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace stratum {

std::optional<std::string> http_response::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  return std::nullopt;
}

std::chrono::milliseconds http_response::retry_after() const {
  constexpr std::chrono::seconds most(300);
  auto ra = header("Retry-After");
  if (!ra) return {};
  std::string_view v = *ra;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) return {};
  std::uint64_t seconds = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec == std::errc::result_out_of_range || seconds > std::uint64_t(most.count())) return most;  // digits, only too many
  return std::chrono::seconds(seconds);
}

status_meaning classify_status(unsigned status, std::string_view code) {
  status_meaning m;
  // Service codes first: they say more than the status.
  if (code == "SlowDown" || code == "ServerBusy") return {errc::transient, true};
  if (code == "RequestTimeout" || code == "OperationTimedOut" || code == "InternalError") return {errc::transient, false};
  if (code == "NoSuchBucket" || code == "ContainerNotFound") {
    m.missing_container = true;
    return m;
  }
  switch (status) {
    case 404: m.code = errc::not_found; break;
    case 401: case 403: m.auth = true; break;
    case 429: case 503: m.code = errc::transient; m.throttled = true; break;
    case 408: case 500: case 502: case 504: m.code = errc::transient; break;
    default: break;  // other 4xx: the request is wrong; other 5xx (501, 505): the server cannot do it
  }
  return m;
}

void fail_status(const http_response& r, std::string_view code, const std::string& what, const std::string& auth_hint,
                 const std::string& missing_hint) {
  const std::string message = what + ": HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + std::string(code));
  const status_meaning m = classify_status(r.status, code);
  if (m.code == errc::transient) fail_transient(message, m.throttled, r.retry_after());
  if (m.missing_container) fail(errc::permanent, message + ": " + missing_hint);
  if (m.auth) fail(errc::permanent, message + ": " + auth_hint);
  fail(m.code, message);
}

}  // namespace stratum
