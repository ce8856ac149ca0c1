// Fuzz target: the fields of an HTTP answer and the endpoint a user gives
// (storage/http/status.hpp, storage/store_util.hpp, storage/http/endpoint.hpp).
// The first byte chooses (mod 5):
//   0  Retry-After (http_response::retry_after): never throws, 0..300 s, and
//      exactly the number when it is 1*DIGIT up to 300;
//   1  a size (store_util::parse_size, Content-Length and listing sizes):
//      errc::corrupt only, and an accepted size prints back as its digits;
//   2  the status mapping: two bytes of status, then the service code;
//      fail_status throws the class classify_status gives, never returns;
//   3, 4  parse_endpoint_url and parse_endpoint: errc::usage only; an
//      accepted endpoint has a host, a port in 1..65535 and a clean path.
// Runs on the fuzzer's thread.
#include "fuzz.hpp"
#include "storage/http/endpoint.hpp"
#include "storage/http/status.hpp"
#include "storage/store_util.hpp"

#include <string>

using namespace stratum;

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void retry_after(std::string_view value, bool lower_case) {
  http_response r;
  r.headers = {{"Content-Length", "0"}, {lower_case ? "retry-after" : "Retry-After", std::string(value)}};
  std::chrono::milliseconds got{};
  fuzz::require(fuzz::accepts([&] { got = r.retry_after(); }, {}), "retry_after() threw");
  fuzz::require(got.count() >= 0 && got <= std::chrono::seconds(300), "Retry-After outside 0..300 s");
  std::string_view v = value;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (!all_digits(v)) {
    fuzz::require(got.count() == 0, "a Retry-After that is not a number was taken");
  } else {
    while (v.size() > 1 && v.front() == '0') v.remove_prefix(1);
    if (v.size() <= 3 && std::stoi(std::string(v)) <= 300)
      fuzz::require(got == std::chrono::seconds(std::stoi(std::string(v))), "Retry-After read wrongly");
    else
      fuzz::require(got == std::chrono::seconds(300), "a long Retry-After not capped at 300 s");
  }
}

void size(std::string_view text) {
  std::uint64_t n = 0;
  if (!fuzz::accepts([&] { n = store_util::parse_size(text, "HEAD s3://fuzz/k Content-Length"); })) return;
  std::string_view t = store_util::trim(text);
  if (t.empty()) {
    fuzz::require(n == 0, "an empty size is not 0");
    return;
  }
  fuzz::require(all_digits(t), "accepted a size that is not digits");
  while (t.size() > 1 && t.front() == '0') t.remove_prefix(1);
  fuzz::require(std::to_string(n) == t, "a size read wrongly");
}

void status(unsigned code, std::string_view service_code) {
  const status_meaning m = classify_status(code, service_code);
  http_response r;
  r.status = code;
  r.headers = {{"Retry-After", "7"}};
  try {
    fail_status(r, service_code, "PUT s3://fuzz/k", "check the keys", "create the bucket");
  } catch (const stratum::error& e) {
    fuzz::require(e.code() == make_error_code(m.code), "fail_status threw another class than classify_status says");
    fuzz::require(e.throttled == m.throttled, "fail_status and classify_status disagree on throttling");
    fuzz::require(m.code != errc::transient || e.retry_after == std::chrono::seconds(7), "a transient error lost Retry-After");
    return;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    fuzz::finding("fail_status threw something other than stratum::error");
  }
}

void endpoint(std::string_view text, bool with_path) {
  endpoint_url u;
  if (with_path) {
    if (!fuzz::accepts([&] { u = parse_endpoint_url(text); }, {errc::usage})) return;
  } else {
    if (!fuzz::accepts([&] { u.endpoint = parse_endpoint(text); }, {errc::usage})) return;
  }
  const http_endpoint& ep = u.endpoint;
  fuzz::require(!ep.host.empty(), "accepted an endpoint without a host");
  std::string_view port = ep.port;  // RFC 3986 allows leading zeros: "00080" is 80
  while (port.size() > 1 && port.front() == '0') port.remove_prefix(1);
  fuzz::require(all_digits(port) && port.size() <= 5 && std::stoul(std::string(port)) >= 1 &&
                    std::stoul(std::string(port)) <= 65535,
                "accepted a port outside 1..65535");
  fuzz::require(u.path.empty() || (u.path.front() == '/' && u.path.back() != '/'), "an endpoint path not /seg[/seg...]");
  fuzz::require(!ep.host_header().empty() && !ep.url().empty(), "an empty Host header or URL");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
  if (n == 0) return 0;
  const std::string_view text = fuzz::rest(data, n);
  switch (data[0] % 5) {
    case 0: retry_after(text, data[0] & 0x80); break;
    case 1: size(text); break;
    case 2:
      if (text.size() >= 2)
        status(static_cast<unsigned char>(text[0]) | static_cast<unsigned char>(text[1]) << 8, text.substr(2));
      break;
    case 3: endpoint(text, true); break;
    default: endpoint(text, false); break;
  }
  return 0;
}
