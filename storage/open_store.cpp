#include "async/error.hpp"
#include "storage/azure/blob_url.hpp"
#include "storage/backend.hpp"
#include "storage/retrying_backend.hpp"

#include <algorithm>

namespace stratum {

namespace {

std::unique_ptr<backend> with_retries(std::unique_ptr<backend> b, asio::io_context& io, const store_options& o) {
  retry_policy p;
  p.max_in_flight = std::max(1u, o.max_requests);
  p.min_in_flight = std::min(p.min_in_flight, p.max_in_flight);
  return make_retrying_backend(std::move(b), io, p);
}

}  // namespace

bool backend::put_here(const std::string& key, const put_body&) {
  fail(errc::permanent, describe() + ": cannot store " + key + " from the calling thread (caps().puts_here is false)");
}

awaitable<void> backend::remove_many(std::vector<std::string> keys) {
  for (auto& k : keys) co_await remove(k);
}

std::unique_ptr<backend> open_store(const std::string& spec, bool create, asio::io_context& io, asio::thread_pool& blocking,
                                    const store_options& o) {
  if (spec.empty()) fail(errc::usage, "empty STORE: give a directory, file:///abs/path, s3://... or az://...");
  if (spec.rfind("file://", 0) == 0) {
    std::string path = spec.substr(7);
    if (path.empty() || path.front() != '/')
      fail(errc::usage, "store '" + spec + "': a file:// URL needs an absolute path (file:///abs/path)");
    return make_local_backend(path, create, blocking);
  }
  if (spec.rfind("mem:", 0) == 0) return make_memory_backend(spec.substr(4));
  if (spec.rfind("s3://", 0) == 0) return with_retries(make_s3_backend(spec, io, blocking, o), io, o);
  if (spec.rfind("az://", 0) == 0) return with_retries(make_azure_backend(spec, io, o, ""), io, o);
  if (spec.rfind("https://", 0) == 0) {
    auto u = parse_azure_blob_url(spec);
    return with_retries(make_azure_backend(u.az(), io, o, u.sas), io, o);
  }
  if (spec.rfind("http://", 0) == 0) fail(errc::usage, "store '" + spec.substr(0, spec.find('?')) + "': use https://");
  if (spec.find("://") != std::string::npos)
    fail(errc::usage, "store '" + spec + "': unknown scheme (use a path, file://, s3:// or az://)");
  return make_local_backend(spec, create, blocking);
}

}  // namespace stratum
