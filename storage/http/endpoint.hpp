// Where an HTTP client connects: scheme, host and port, parsed from what the
// user gives as --endpoint. Light (no Beast), any thread.
#pragma once

#include <string>
#include <string_view>

namespace stratum {

struct http_endpoint {
  bool tls = true;
  std::string host;  // name or IP literal (IPv6 without brackets)
  std::string port;  // "443", "80" or as given
  // The Host header: host[:port] (the port only when not the scheme's default).
  std::string host_header() const;
  std::string url() const;  // scheme://host[:port], for messages
};

// An endpoint URL that may name a path: "https://127.0.0.1:10000/devstoreaccount1"
// (Azurite's BlobEndpoint, the form azcopy, az and rclone users pass).
struct endpoint_url {
  http_endpoint endpoint;
  std::string path;  // "" or "/seg[/seg...]", without a trailing '/', as written
};

// Parses "https://host[:port][/path]" or "http://..." (a trailing '/' is
// allowed; a query, a fragment or user info is not). Throws errc::usage
// naming `url`.
endpoint_url parse_endpoint_url(std::string_view url);

// parse_endpoint_url() for an endpoint that must not have a path.
http_endpoint parse_endpoint(std::string_view url);

}  // namespace stratum
