#include "storage/sigv4.hpp"

#include "io/sha256.hpp"
#include "storage/store_util.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace stratum {
namespace {

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hex(std::string_view raw) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    s.push_back(digits[c >> 4]);
    s.push_back(digits[c & 15]);
  }
  return s;
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
  std::string key = hmac("AWS4" + c.secret_key, day);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, "aws4_request");
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + scope + ", SignedHeaders=" + signed_headers +
                      ", Signature=" + hex(hmac(key, out.string_to_sign));
  return out;
}

}  // namespace stratum
