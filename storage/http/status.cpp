// HTTP answers of S3, Azure and web servers as stratum errors, and their
// headers (status.hpp). Pure functions, any thread.
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

std::optional<content_range> parse_content_range(std::string_view v) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!v.empty() && space(v.front())) v.remove_prefix(1);
  while (!v.empty() && space(v.back())) v.remove_suffix(1);
  if (v.substr(0, 6) != "bytes ") return std::nullopt;
  v.remove_prefix(6);
  // Digits only: from_chars would also take a sign.
  auto number = [&](std::uint64_t& n) {
    if (v.empty() || v.front() < '0' || v.front() > '9') return false;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc()) return false;
    v.remove_prefix(static_cast<std::size_t>(end - v.data()));
    return true;
  };
  auto take = [&](char c) {
    if (v.empty() || v.front() != c) return false;
    v.remove_prefix(1);
    return true;
  };
  content_range r;
  if (!number(r.first) || !take('-') || !number(r.last) || !take('/') || r.last < r.first) return std::nullopt;
  if (v == "*") return r;
  std::uint64_t total = 0;
  if (!number(total) || !v.empty() || r.last >= total) return std::nullopt;
  r.total = total;
  return r;
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
