// Which store an http(s):// STORE argument names (storage/http_store/
// store_url.cpp), the http store's URL taken apart, and open_store()'s
// routing and refusals for them — no server: nothing here connects.
#include "async/error.hpp"
#include "storage/backend.hpp"
#include "storage/http_store/http_store.hpp"
#include "support.hpp"

#include <cstdlib>

using namespace stratum;
using namespace stratum::test;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// `run()` throws errc::usage whose message has `says` and never "SECRET".
template <class F>
void refused(F&& run, const std::string& says) {
  try {
    run();
    FAIL("accepted");
  } catch (const std::exception& e) {
    const std::string m = e.what();
    CAPTURE(m);
    CHECK(is(e, errc::usage));
    CHECK(has(m, says));
    CHECK(!has(m, "SECRET"));
  }
}

}  // namespace

TEST_CASE("http store URLs: Azure's own stay Azure, every other one is the http store") {
  for (const char* azure : {"https://acct.blob.core.windows.net/c", "https://Acct.Blob.Core.Windows.NET/c/p?sv=1&sig=SECRET",
                            "https://example.com/repo?sv=2021-08-06&sig=SECRET", "https://example.com/repo?x=1&sig=SECRET",
                            "http://acct.blob.core.windows.net/c"}) {
    CAPTURE(azure);
    CHECK(classify_web_url(azure) == web_store::azure);
  }
  for (const char* web : {"http://127.0.0.1:8000", "http://127.0.0.1:8000/cvmfs/sw.example.org", "https://cvmfs-stratum-one.cern.ch/cvmfs/atlas.cern.ch/",
                          "https://[::1]:8443/repo", "https://blob.core.windows.net.example.com/c", "https://example.com/devstoreaccount2/c",
                          "http://example.com/repo?sigma=1"}) {
    CAPTURE(web);
    CHECK(classify_web_url(web) == web_store::http);
  }
  // Azurite's account in the path: an Azure store, said how to give it.
  refused([] { classify_web_url("https://127.0.0.1:10000/devstoreaccount1/c?sv=1&sig=SECRET"); },
          "give az://devstoreaccount1/CONTAINER[/PREFIX] and --endpoint https://127.0.0.1:10000");
  refused([] { classify_web_url("http://ex ample/?sig=SECRET"); }, "is not a URL");
  refused([] { classify_web_url("ftp://h/?sig=SECRET"); }, "is not an http:// or https:// URL");
  // Boost.URL 1.81's params() read past the end of this one (ASan, fuzz
  // target http_store; its corpus keeps it for the sanitizer build).
  CHECK(classify_web_url("http://06p:?#") == web_store::http);
}

TEST_CASE("http store URLs: the path is kept as written, the rest refused with a message that names the URL") {
  auto u = parse_http_store_url("http://127.0.0.1:8000/cvmfs/sw.example.org/");
  CHECK(!u.endpoint.tls);
  CHECK(u.endpoint.host == "127.0.0.1");
  CHECK(u.endpoint.port == "8000");
  CHECK(u.base_path == "/cvmfs/sw.example.org");
  CHECK(u.shown() == "http://127.0.0.1:8000/cvmfs/sw.example.org");
  auto root = parse_http_store_url("https://stratum1.example.org");
  CHECK(root.endpoint.tls);
  CHECK(root.endpoint.port == "443");
  CHECK(root.base_path.empty());
  CHECK(root.shown() == "https://stratum1.example.org");
  // A %2F stays one segment: decoded and encoded again it would be a '/'.
  CHECK(parse_http_store_url("http://h/a%2Fb/c%20d//").base_path == "/a%2Fb/c%20d");
  CHECK(parse_http_store_url("https://[::1]:8443/r").shown() == "https://[::1]:8443/r");

  refused([] { parse_http_store_url("http://h/repo?token=SECRET"); }, "store 'http://h/repo': an http(s) store is http(s)://HOST[:PORT][/PATH]");
  refused([] { parse_http_store_url("http://h/repo#SECRET"); }, "store 'http://h/repo'");
  refused([] { parse_http_store_url("http://user@h/repo"); }, "without a query, fragment or user");
  refused([] { parse_http_store_url("http://h:99999/repo"); }, "bad port '99999'");
}

TEST_CASE("open_store: an http(s) store reads, refuses to be written, and Azure URLs still open Azure") {
  asio::io_context io;
  asio::thread_pool pool(1);
  auto web = open_store("http://127.0.0.1:9/cvmfs/sw.example.org/", store_use::read, io, pool);
  CHECK(web->describe() == "http://127.0.0.1:9/cvmfs/sw.example.org");
  CHECK(web->stats() != nullptr);  // wrapped in the retrying backend
  CHECK(open_store("https://127.0.0.1:9", store_use::read, io, pool)->describe() == "https://127.0.0.1:9");

  // Writing is refused when the store is opened, and by the store itself.
  for (auto use : {store_use::write, store_use::create})
    refused([&] { open_store("https://127.0.0.1:9/repo", use, io, pool); }, "is an http(s) store, which is read-only");
  refused([] { require_writable_store("http://127.0.0.1:9/repo?q=SECRET"); }, "store 'http://127.0.0.1:9/repo' is an http(s) store");
  CHECK_NOTHROW(require_writable_store("s3://bucket/prefix"));
  CHECK_NOTHROW(require_writable_store("/some/dir"));
  CHECK_NOTHROW(require_writable_store("https://acct.blob.core.windows.net/c?sv=1&sig=SECRET"));
  refused([&] { run_io(io, [&] { return web->put("k", std::make_shared<const bytes>()); }); }, "cannot store k: an http(s) store is read-only");
  refused([&] { run_io(io, [&] { return web->remove("k"); }); }, "cannot remove k");
  // The retry layer sends a store without batch removes one remove a key.
  refused([&] { run_io(io, [&] { return web->remove_many({"a", "b"}); }); }, "cannot remove a: an http(s) store is read-only");
  refused([&] { run_io(io, [&] { return web->sync(); }); }, "cannot sync");
  refused([&] { run_io(io, [&] { return web->list("", 1); }); }, "an http(s) store is read-only and cannot be listed");

  store_options with_endpoint;
  with_endpoint.endpoint = "https://127.0.0.1:9000";
  refused([&] { open_store("http://127.0.0.1:9/repo", store_use::read, io, pool, with_endpoint); }, "--endpoint is for s3:// and az://");

  // Azure's URL with its SAS opens the Azure store, over https:// only.
  auto az = open_store("https://acct.blob.core.windows.net/repo/p?sv=2021-08-06&sig=SECRET", store_use::read, io, pool);
  CHECK(az->describe() == "az://acct/repo/p");
  refused([&] { open_store("http://acct.blob.core.windows.net/repo?sv=1&sig=SECRET", store_use::read, io, pool); }, "must be https://");
  refused([&] { open_store("https://example.com/repo?sig=SECRET", store_use::read, io, pool); }, "https://ACCOUNT.blob.core.windows.net/CONTAINER");
  refused([&] { open_store("ftp://h/r?SECRET", store_use::read, io, pool); }, "unknown scheme");
}
