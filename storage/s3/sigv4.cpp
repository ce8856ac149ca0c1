#include "storage/s3/sigv4.hpp"

#include "io/sha256.hpp"
#include "storage/store_util.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>

namespace stratum {
namespace {

std::string_view view(const hash256& h) { return {reinterpret_cast<const char*>(h.v.data()), h.v.size()}; }

// The signing key depends only on the secret and the scope (a day, a region,
// a service); deriving it takes four HMACs, so each thread derives it once
// per scope and keeps it.
const hmac_sha256& signing_key(const std::string& secret, std::string_view day, std::string_view region, std::string_view service) {
  struct cached {
    std::string secret, day, region, service;
    std::optional<hmac_sha256> key;
  };
  thread_local cached c;
  if (!c.key || c.secret != secret || c.day != day || c.region != region || c.service != service) {
    auto k = hmac_sha256("AWS4" + secret).sign(day);
    k = hmac_sha256(view(k)).sign(region);
    k = hmac_sha256(view(k)).sign(service);
    k = hmac_sha256(view(k)).sign("aws4_request");
    c.key.emplace(view(k));
    c.secret = secret;
    c.day = day;
    c.region = region;
    c.service = service;
  }
  return *c.key;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Header values: leading and trailing spaces removed, inner runs of spaces
// collapsed to one.
std::string trim_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string uri_encode(std::string_view s, bool encode_slash) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !encode_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string qs;
  for (auto& [k, v] : query) qs += (qs.empty() ? "?" : "&") + uri_encode(k, true) + "=" + uri_encode(v, true);
  return qs;
}

std::string amz_now() { return store_util::utc_now("%Y%m%dT%H%M%SZ"); }

sigv4_signed sigv4_sign(const sigv4_request& r, const aws_credentials& c, std::string_view region, std::string_view service,
                        std::string_view amz_date, bool s3_payload_header) {
  sigv4_signed out;
  out.add_headers.emplace_back("x-amz-date", std::string(amz_date));
  if (s3_payload_header) out.add_headers.emplace_back("x-amz-content-sha256", r.payload_hash);
  if (!c.session_token.empty()) out.add_headers.emplace_back("x-amz-security-token", c.session_token);

  // Canonical headers: lowercase names, sorted; values trimmed; a repeated
  // name's values joined with commas in order.
  std::vector<std::pair<std::string, std::string>> h;
  h.emplace_back("host", r.host);
  for (auto& [k, v] : r.headers) h.emplace_back(lower(k), trim_value(v));
  for (auto& [k, v] : out.add_headers) h.emplace_back(k, v);
  std::stable_sort(h.begin(), h.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::string canonical_headers, signed_headers;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (i > 0 && h[i].first == h[i - 1].first) {
      canonical_headers.back() = ',';
      canonical_headers += h[i].second + "\n";
      continue;
    }
    canonical_headers += h[i].first + ":" + h[i].second + "\n";
    if (!signed_headers.empty()) signed_headers += ";";
    signed_headers += h[i].first;
  }

  // Canonical query: each name and value encoded, sorted by name then value.
  std::vector<std::pair<std::string, std::string>> q;
  for (auto& [k, v] : r.query) q.emplace_back(uri_encode(k, true), uri_encode(v, true));
  std::sort(q.begin(), q.end());
  std::string canonical_query;
  for (auto& [k, v] : q) {
    if (!canonical_query.empty()) canonical_query += "&";
    canonical_query += k + "=" + v;
  }

  out.canonical_request = r.method + "\n" + (r.path.empty() ? "/" : r.path) + "\n" + canonical_query + "\n" +
                          canonical_headers + "\n" + signed_headers + "\n" + r.payload_hash;
  const std::string day(amz_date.substr(0, 8));
  const std::string scope = day + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  out.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" +
                       sha256(as_bytes(out.canonical_request)).hex();
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + scope + ", SignedHeaders=" + signed_headers +
                      ", Signature=" + signing_key(c.secret_key, day, region, service).sign(out.string_to_sign).hex();
  return out;
}

}  // namespace stratum
