// open_store(): the STORE argument of the command line made into a backend,
// remote ones wrapped in retries. Runs once per command, on the main thread.
#include "async/error.hpp"
#include "storage/azure/blob_url.hpp"
#include "storage/backend.hpp"
#include "storage/http_store/http_store.hpp"
#include "storage/retrying_backend.hpp"

#include <algorithm>

namespace stratum {

namespace {

std::unique_ptr<backend> with_retries(std::unique_ptr<backend> b, asio::io_context& io, const store_options& o) {
  retry_policy p;
  p.max_in_flight = std::max(1u, o.max_requests);
  p.min_in_flight = std::min(p.min_in_flight, p.max_in_flight);
  p.max_attempts = std::max(1u, o.max_attempts);
  p.cap = o.max_backoff;
  return make_retrying_backend(std::move(b), io, p);
}

}  // namespace

bool backend::put_here(const std::string& key, const put_body&) {
  fail(errc::permanent, describe() + ": cannot store " + key + " from the calling thread (caps().puts_here is false)");
}

awaitable<void> backend::remove_many(std::vector<std::string> keys) {
  for (auto& k : keys) co_await remove(k);
}

void require_writable_store(const std::string& spec) {
  const bool web = spec.rfind("https://", 0) == 0 || spec.rfind("http://", 0) == 0;
  if (web && classify_web_url(spec) == web_store::http)
    fail(errc::usage, "store '" + spec.substr(0, spec.find_first_of("?#")) +
                          "' is an http(s) store, which is read-only: publish to a directory, s3:// or az://, and serve that");
}

std::unique_ptr<backend> open_store(const std::string& spec, store_use use, asio::io_context& io, asio::thread_pool& blocking,
                                    const store_options& o) {
  const bool create = use == store_use::create;
  if (spec.empty()) fail(errc::usage, "empty STORE: give a directory, file:///abs/path, s3://..., az://... or http(s)://...");
  if (spec.rfind("file://", 0) == 0) {
    std::string path = spec.substr(7);
    if (path.empty() || path.front() != '/')
      fail(errc::usage, "store '" + spec + "': a file:// URL needs an absolute path (file:///abs/path)");
    return make_local_backend(path, create, blocking);
  }
  if (spec.rfind("mem:", 0) == 0) return make_memory_backend(spec.substr(4));
  if (spec.rfind("s3://", 0) == 0) return with_retries(make_s3_backend(spec, io, blocking, o), io, o);
  if (spec.rfind("az://", 0) == 0) return with_retries(make_azure_backend(spec, io, o, ""), io, o);
  const bool tls = spec.rfind("https://", 0) == 0;
  if (tls || spec.rfind("http://", 0) == 0) {
    if (classify_web_url(spec) == web_store::azure) {
      // A SAS is a credential: never over plain HTTP.
      if (!tls) fail(errc::usage, "store '" + spec.substr(0, spec.find_first_of("?#")) + "': an Azure Blob URL must be https://");
      auto u = parse_azure_blob_url(spec);
      return with_retries(make_azure_backend(u.az(), io, o, u.sas), io, o);
    }
    // A CernVM-FS Stratum 0/1 or any web server: read-only, so refused
    // here for writing, before the command sends anything.
    if (use != store_use::read) require_writable_store(spec);
    return with_retries(make_http_backend(spec, io, o), io, o);
  }
  if (spec.find("://") != std::string::npos)
    fail(errc::usage, "store '" + spec.substr(0, spec.find_first_of("?#")) + "': unknown scheme (use a path, file://, s3://, az://, https:// or http://)");
  return make_local_backend(spec, create, blocking);
}

}  // namespace stratum
