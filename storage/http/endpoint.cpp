// Endpoint URLs (endpoint.hpp), parsed with Boost.URL (RFC 3986) once, when
// a store is opened.
#include "storage/http/endpoint.hpp"

#include "async/error.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>

namespace stratum {

std::string http_endpoint::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? "443" : "80")) h += ":" + port;
  return h;
}

std::string http_endpoint::url() const { return std::string(tls ? "https://" : "http://") + host_header(); }

endpoint_url parse_endpoint_url(std::string_view text) {
  const std::string quoted = "endpoint '" + std::string(text) + "'";
  // Refused before Boost.URL sees them: a query or fragment (never valid
  // here), and a URL without an authority. Boost.URL 1.81 asserts in
  // path_segments() on some of those ("Http:#", found by the http_fields
  // fuzz target in the debug build).
  if (text.find_first_of("?#") != std::string_view::npos)
    fail(errc::usage, quoted + " must be scheme://host[:port][/path], without a query, fragment or user");
  if (auto colon = text.find(':'); colon == std::string_view::npos || text.substr(colon, 3) != "://")
    fail(errc::usage, quoted + " must start with https:// (or http://)");
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) fail(errc::usage, quoted + " is not a URL (" + parsed.error().message() + ")");
  const boost::urls::url_view& u = *parsed;
  endpoint_url out;
  http_endpoint& ep = out.endpoint;
  if (u.scheme_id() == boost::urls::scheme::https) ep.tls = true;
  else if (u.scheme_id() == boost::urls::scheme::http) ep.tls = false;
  else fail(errc::usage, quoted + " must start with https:// (or http://)");
  if (u.has_userinfo() || u.has_query() || u.has_fragment())
    fail(errc::usage, quoted + " must be scheme://host[:port][/path], without a query, fragment or user");
  // After an authority the path is empty or starts with '/' (RFC 3986,
  // path-abempty); Boost.URL 1.81 takes "host:80:80" as port 80, path ":80".
  if (!u.encoded_path().empty() && u.encoded_path().front() != '/') fail(errc::usage, quoted + " is not a URL (after the port)");
  if (u.host_type() == boost::urls::host_type::ipvfuture) fail(errc::usage, quoted + ": an IPvFuture address is not supported");
  ep.host = u.host_address();  // decoded; an IPv6 address without its brackets
  if (ep.host.empty()) fail(errc::usage, quoted + " has no host");
  ep.port = u.has_port() ? std::string(u.port()) : ep.tls ? "443" : "80";
  unsigned port = 0;
  auto [end, ec] = std::from_chars(ep.port.data(), ep.port.data() + ep.port.size(), port);
  if (ec != std::errc() || end != ep.port.data() + ep.port.size() || port == 0 || port > 65535)
    fail(errc::usage, quoted + ": bad port '" + ep.port + "'");
  // The path's segments, decoded; trailing empty ones ("/acct/") dropped.
  std::vector<std::string> segments;
  for (auto s : u.segments()) segments.push_back(s);
  while (!segments.empty() && segments.back().empty()) segments.pop_back();
  for (auto& s : segments) out.path += "/" + s;
  return out;
}

http_endpoint parse_endpoint(std::string_view url) {
  auto u = parse_endpoint_url(url);
  if (!u.path.empty()) fail(errc::usage, "endpoint '" + std::string(url) + "' must be scheme://host[:port], without a path");
  return u.endpoint;
}

}  // namespace stratum
