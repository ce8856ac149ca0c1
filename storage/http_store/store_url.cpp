// Which store an http(s):// URL names, and an http store's URL taken apart
// (http_store.hpp), with Boost.URL (RFC 3986). Any thread; runs once, when
// a command opens its store.
#include "storage/http_store/http_store.hpp"

#include "async/error.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>

namespace stratum {

namespace {

// The URL as messages show it: never the query, which may hold a SAS.
std::string shown(std::string_view url) { return std::string(url.substr(0, url.find_first_of("?#"))); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

web_store classify_web_url(std::string_view url) {
  // Boost.URL 1.81 asserts on some URLs without an authority (endpoint.cpp):
  // none reaches it here.
  const std::string scheme = lower(std::string(url.substr(0, 8)));
  if (scheme.rfind("http://", 0) != 0 && scheme.rfind("https://", 0) != 0)
    fail(errc::usage, "store '" + shown(url) + "' is not an http:// or https:// URL");
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) fail(errc::usage, "store '" + shown(url) + "' is not a URL (" + parsed.error().message() + ")");
  const boost::urls::url_view& u = *parsed;
  const std::string suffix = ".blob.core.windows.net";
  const std::string host = lower(u.host_address());
  if (host.size() >= suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) return web_store::azure;
  // Azurite names the account in the path. It is an Azure store, but its
  // host says nothing of it, and read as an http store it would answer
  // every GET with 403: say what to give instead.
  auto segments = u.segments();
  if (!segments.empty() && *segments.begin() == "devstoreaccount1")
    fail(errc::usage, "store '" + shown(url) + "' looks like an Azurite (Azure emulator) URL: give az://devstoreaccount1/CONTAINER[/PREFIX] and --endpoint " +
                          std::string(u.scheme()) + "://" + std::string(u.encoded_host_and_port()));
  // The query's names split by hand: Boost.URL 1.81's params() reads past
  // the end of "http://h:?#" (found by tests/fuzz/http_store_fuzz.cpp).
  std::string_view query = u.encoded_query();
  while (!query.empty()) {
    const std::string_view param = query.substr(0, query.find('&'));
    const std::string_view name = param.substr(0, param.find('='));
    if (name == "sv" || name == "sig") return web_store::azure;
    query.remove_prefix(std::min(query.size(), param.size() + 1));
  }
  return web_store::http;
}

http_store_url parse_http_store_url(std::string_view url) {
  const std::string form = "store '" + shown(url) + "': an http(s) store is http(s)://HOST[:PORT][/PATH], without a query, fragment or user name";
  if (url.find_first_of("?#") != std::string_view::npos) fail(errc::usage, form);
  http_store_url out;
  try {
    out.endpoint = parse_endpoint_url(url).endpoint;
  } catch (const std::exception& e) {
    fail(errc::usage, "store '" + shown(url) + "': " + e.what());
  }
  // parse_endpoint_url() accepted it, so Boost.URL does. The path is kept
  // as written: decoding it and encoding it again would turn a %2F into a '/'.
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->has_userinfo()) fail(errc::usage, form);
  out.base_path = std::string(parsed->encoded_path());
  while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  return out;
}

}  // namespace stratum
