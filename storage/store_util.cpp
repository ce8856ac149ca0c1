#include "storage/store_util.hpp"

#include "async/error.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <ctime>

namespace stratum::store_util {

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::optional<std::string> unbase64(std::string_view s) {
  // Not EVP_DecodeBlock: it skips whitespace and decodes the padding as zero
  // bytes, so a key with a newline after it came back longer than it is.
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (s.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(s.size() / 4 * 3);
  for (std::size_t i = 0; i < s.size(); i += 4) {
    const bool last = i + 4 == s.size();
    const std::size_t pad = last ? (s[i + 3] == '=') + (s[i + 3] == '=' && s[i + 2] == '=') : 0;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const int v = j >= 4 - pad ? 0 : value(s[i + j]);
      if (v < 0) return std::nullopt;
      group = group << 6 | static_cast<std::uint32_t>(v);
    }
    out.push_back(static_cast<char>(group >> 16));
    if (pad < 2) out.push_back(static_cast<char>(group >> 8 & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(group & 0xFF));
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (s.size() - i < 3) return std::nullopt;
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string md5_base64(const unsigned char* p, std::size_t n) {
  // Fetched once: naming the algorithm through EVP_md5() costs a lookup
  // under a lock on every digest (OpenSSL 3).
  static EVP_MD* md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!md5 || !EVP_Digest(p, n, md, &len, md5, nullptr)) fail(errc::permanent, "OpenSSL MD5 failed");
  return base64(md, len);
}

std::uint64_t parse_size(std::string_view text, const std::string& what) {
  std::string_view t = trim(text);
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (t.empty()) return 0;
  if (ec != std::errc() || end != t.data() + t.size())
    fail(errc::corrupt, what + " is '" + std::string(text.substr(0, 40)) + "', not a size; the store's answer is malformed");
  return n;
}

std::string byte_range(std::uint64_t offset, std::uint64_t length) {
  return "bytes=" + std::to_string(offset) + "-" + (length > 0 ? std::to_string(offset + length - 1) : "");
}

std::string key_prefix(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!prefix.empty()) prefix += "/";
  return prefix;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string utc_now(const char* format) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::size_t list_page(std::size_t service_max) {
  static const std::size_t n = [] {
    const std::string v = env("STRATUM_LIST_PAGE");
    std::size_t page = 0;
    std::from_chars(v.data(), v.data() + v.size(), page);  // not a number: 0, the service's page
    return page;
  }();
  return n > 0 ? std::min(n, service_max) : service_max;
}

}  // namespace stratum::store_util
