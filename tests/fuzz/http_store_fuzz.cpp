// Fuzz target: what the read-only http store parses (storage/http_store/,
// storage/http/status.hpp). The first byte chooses (mod 3):
//   0  a Content-Range header of a 206 (parse_content_range), from the
//      server: never throws; an accepted range has FIRST <= LAST < TOTAL and
//      reads back the same from its canonical form;
//   1  a STORE URL as a user types it (classify_web_url, then
//      parse_http_store_url for an http store): errc::usage only; an
//      accepted one has a host and a base path "" or "/..." without a
//      trailing '/', and is shown as the URL it came from names it;
//   2  the same URL with a marker standing for a secret put into its query
//      (right after the first '?', or as "?token=MARKER"): it never appears
//      in a message, and an http store's URL with a query is refused.
// Runs on the fuzzer's thread.
#include "fuzz.hpp"
#include "storage/http/status.hpp"
#include "storage/http_store/http_store.hpp"

#include <string>

using namespace stratum;

namespace {

void range(std::string_view value) {
  std::optional<content_range> r;
  fuzz::require(fuzz::accepts([&] { r = parse_content_range(value); }, {}), "parse_content_range threw");
  if (!r) return;
  fuzz::require(r->first <= r->last, "accepted a range whose end is before its start");
  fuzz::require(!r->total || r->last < *r->total, "accepted a range past the object's end");
  const std::string canonical = "bytes " + std::to_string(r->first) + "-" + std::to_string(r->last) + "/" +
                                (r->total ? std::to_string(*r->total) : "*");
  auto again = parse_content_range(canonical);
  fuzz::require(again && again->first == r->first && again->last == r->last && again->total == r->total,
                "a range reads differently from its canonical form");
}

void url(std::string_view text) {
  const std::string u(text);
  web_store kind{};
  if (!fuzz::accepts([&] { kind = classify_web_url(u); }, {errc::usage})) return;
  if (kind != web_store::http) return;
  http_store_url parsed;
  if (!fuzz::accepts([&] { parsed = parse_http_store_url(u); }, {errc::usage})) return;
  fuzz::require(!parsed.endpoint.host.empty(), "accepted an http store URL without a host");
  const std::string& p = parsed.base_path;
  fuzz::require(p.empty() || (p.front() == '/' && p.back() != '/'), "a base path not \"\" or /... without a trailing '/'");
  fuzz::require(u.find_first_of("?#") == std::string::npos, "accepted an http store URL with a query or fragment");
  fuzz::require(parsed.shown().rfind(parsed.endpoint.tls ? "https://" : "http://", 0) == 0, "shown with another scheme");
}

void secret_in_query(std::string_view text) {
  static const std::string marker = "SECRETt0kenfuzz";
  std::string u(text);
  const auto q = u.find('?');
  if (q == std::string::npos) u += "?token=" + marker;
  else u.insert(q + 1, marker);
  // libFuzzer learns the marker from the comparisons below and writes it
  // into the URL itself, outside the query: then it is no secret.
  const bool only_in_query = text.find(marker) == std::string_view::npos;
  std::string message;
  web_store kind{};
  if (!fuzz::accepts([&] { kind = classify_web_url(u); }, {errc::usage}, &message)) {
    fuzz::require(!only_in_query || message.find(marker) == std::string::npos, "a query appears in a message (classify)");
    return;
  }
  if (kind != web_store::http) return;
  fuzz::require(!fuzz::accepts([&] { parse_http_store_url(u); }, {errc::usage}, &message), "accepted an http store URL with a query");
  fuzz::require(!only_in_query || message.find(marker) == std::string::npos, "a query appears in a message (parse)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
  if (n == 0) return 0;
  const std::string_view text = fuzz::rest(data, n);
  switch (data[0] % 3) {
    case 0: range(text); break;
    case 1: url(text); break;
    default: secret_in_query(text); break;
  }
  return 0;
}
