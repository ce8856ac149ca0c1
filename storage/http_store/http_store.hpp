// storage/http_store/ — a read-only store on a plain web server: a
// CernVM-FS Stratum 0 or Stratum 1 serving a repository as files
// (<base>/.cvmfspublished, <base>/.cvmfswhitelist, <base>/data/XX/...), or
// any server (Apache, nginx, `python3 -m http.server`) serving a directory
// stratum published to. Key K is fetched as GET <base>/K, with a Range
// header for a part; nothing is ever written, removed or listed.
//
// Plain http:// is accepted here, where S3 and Azure take https:// only:
// CernVM-FS repositories are served over plain HTTP (so that site proxies
// can cache them), no credential is ever sent to such a store, and a reader
// believes nothing it fetches until it has verified it — the manifest's
// signature against a key the user trusts, every object against its hash
// (docs/SECURITY.md). https:// is checked against the system's CAs or
// --ca-file as for the other stores.
//
// Which store an http(s):// STORE argument names is decided here, from the
// URL alone: Azure Blob's own URLs stay Azure. Light header; any thread.
#pragma once

#include "storage/http/endpoint.hpp"

#include <string>
#include <string_view>

namespace stratum {

enum class web_store {
  azure,  // parse_azure_blob_url() reads it (and refuses what it cannot)
  http,   // the read-only http store
};

// What the http:// or https:// URL `url` names: Azure Blob when its host
// ends in .blob.core.windows.net or its query carries a SAS (an `sv` or
// `sig` parameter); else the http store. An Azurite URL
// (SCHEME://HOST:PORT/devstoreaccount1/...) is refused with errc::usage
// saying to give az://devstoreaccount1/CONTAINER and --endpoint, as is a URL
// that does not parse. Messages show the URL without its query.
web_store classify_web_url(std::string_view url);

// An http store's URL taken apart: where to connect and the path that
// every key is appended to.
struct http_store_url {
  http_endpoint endpoint;
  std::string base_path;  // "" or "/seg[/seg...]" as written (percent-encoded), no trailing '/'
  std::string shown() const { return endpoint.url() + base_path; }  // for messages
};

// Parses SCHEME://HOST[:PORT][/PATH] (a trailing '/' allowed). Throws
// errc::usage naming the URL (without its query) for a query, fragment or
// user name, or anything parse_endpoint_url() refuses.
http_store_url parse_http_store_url(std::string_view url);

}  // namespace stratum
