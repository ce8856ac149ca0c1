// Endpoint URLs (endpoint.hpp): parsed once, when a store is opened.
#include "storage/http/endpoint.hpp"

#include "async/error.hpp"

#include <charconv>

namespace stratum {

std::string http_endpoint::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? "443" : "80")) h += ":" + port;
  return h;
}

std::string http_endpoint::url() const { return std::string(tls ? "https://" : "http://") + host_header(); }

endpoint_url parse_endpoint_url(std::string_view url) {
  endpoint_url out;
  http_endpoint& ep = out.endpoint;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) rest = url.substr(8);
  else if (url.rfind("http://", 0) == 0) {
    ep.tls = false;
    rest = url.substr(7);
  } else {
    fail(errc::usage, "endpoint '" + std::string(url) + "' must start with https:// (or http://)");
  }
  if (rest.find_first_of("?#@") != std::string_view::npos)
    fail(errc::usage, "endpoint '" + std::string(url) + "' must be scheme://host[:port][/path], without a query, fragment or user");
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    out.path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
    while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  }
  if (rest.empty()) fail(errc::usage, "endpoint '" + std::string(url) + "' has no host");
  if (rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) fail(errc::usage, "endpoint '" + std::string(url) + "': unclosed '['");
    ep.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest.front() == ':') ep.port = std::string(rest.substr(1));
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    ep.host = std::string(rest.substr(0, colon));
    ep.port = std::string(rest.substr(colon + 1));
  } else {
    ep.host = std::string(rest);
  }
  if (ep.port.empty()) ep.port = ep.tls ? "443" : "80";
  unsigned port = 0;
  auto [end, ec] = std::from_chars(ep.port.data(), ep.port.data() + ep.port.size(), port);
  if (ep.host.empty() || ec != std::errc() || end != ep.port.data() + ep.port.size() || port == 0 || port > 65535)
    fail(errc::usage, "endpoint '" + std::string(url) + "': bad host or port");
  return out;
}

http_endpoint parse_endpoint(std::string_view url) {
  auto u = parse_endpoint_url(url);
  if (!u.path.empty()) fail(errc::usage, "endpoint '" + std::string(url) + "' must be scheme://host[:port], without a path");
  return u.endpoint;
}

}  // namespace stratum
