// The read-only http store (http_store.hpp): get() is a GET of
// <base>/<key> with a Range header for a part, stat() a HEAD, over the
// project's HTTP client (storage/http: TLS with certificate checking,
// --ca-file, kept-alive connections, a deadline on every request). Every
// method that would write, remove or list refuses with errc::usage. Runs on
// the I/O thread; open_store() wraps it in the retrying backend, which
// repeats what this throws as transient.
#include "async/error.hpp"
#include "storage/backend.hpp"
#include "storage/http/http.hpp"
#include "storage/http_store/http_store.hpp"
#include "storage/s3/sigv4.hpp"  // uri_encode
#include "storage/store_util.hpp"

#include <algorithm>

namespace stratum {
namespace {

using namespace store_util;

class http_backend final : public backend {
 public:
  http_backend(asio::io_context& io, const std::string& url, const store_options& o) : url_(parse_http_store_url(url)) {
    // The URL names the server; --endpoint is for s3:// and az://, where
    // the store's name does not.
    if (!o.endpoint.empty())
      fail(errc::usage, "store '" + describe() + "': --endpoint is for s3:// and az:// stores; an http(s) store's URL names its server");
    http_options ho;
    ho.ca_file = o.ca_file;
    ho.timeout = o.request_timeout;
    http_ = make_http_client(io, url_.endpoint, ho);
  }

  // Coroutines all (the co_return after a throw makes them so): the
  // refusal comes when the call is awaited, as every store's failures do.
  awaitable<void> put(std::string key, put_body) override {
    read_only("store " + key);
    co_return;
  }
  bool put_here(const std::string& key, const put_body&) override { read_only("store " + key); }
  awaitable<void> remove(std::string key) override {
    read_only("remove " + key);
    co_return;
  }
  awaitable<void> remove_many(std::vector<std::string> keys) override {
    read_only("remove " + std::to_string(keys.size()) + " objects");
    co_return;
  }
  awaitable<void> sync() override {
    read_only("sync");
    co_return;
  }

  awaitable<std::vector<object_info>> list(std::string, std::size_t) override {
    // A web server has no listing a client can rely on (an index page, if
    // any, is HTML for people), and no reading command needs one.
    fail(errc::usage, "store '" + describe() + "': an http(s) store is read-only and cannot be listed");
    co_return std::vector<object_info>{};
  }

  awaitable<std::optional<bytes>> get(std::string key, std::uint64_t offset, std::uint64_t length) override {
    http_request req;
    req.method = "GET";
    req.target = target(key);
    if (offset > 0 || length > 0) req.headers.emplace_back("Range", byte_range(offset, length));
    // A server that ignores the Range sends the object from its start: no
    // more of it than the part's end is read (nor of a longer 206).
    if (length > 0 && offset <= UINT64_MAX - length) req.max_body = offset + length;
    auto r = co_await http_->request(req);
    if (r.status == 404 || r.status == 410) co_return std::nullopt;
    if (r.status == 416) co_return bytes();  // the range starts at or past the end
    if (r.status == 206) {
      // The part asked for; a server that sends another one is not to be
      // read as if it were that part.
      auto cr = r.header("Content-Range");
      auto range = cr ? parse_content_range(*cr) : std::nullopt;
      if (!range || range->first != offset)
        fail(errc::corrupt, "GET " + shown(key) + ": HTTP 206 with Content-Range '" + cr.value_or("").substr(0, 60) +
                                "', not the part from byte " + std::to_string(offset) + " that was asked for");
      if (length > 0 && r.body.size() > length) r.body.resize(length);
      co_return std::move(r.body);
    }
    if (r.status == 200) {
      // A server without ranges (Python's http.server, some caches) sends
      // the whole object: the part is cut from it.
      if (offset == 0 && (length == 0 || r.body.size() <= length)) co_return std::move(r.body);
      const std::uint64_t from = std::min<std::uint64_t>(offset, r.body.size());
      const std::uint64_t to = length == 0 ? r.body.size() : std::min<std::uint64_t>(r.body.size(), from + length);
      co_return bytes(r.body.begin() + static_cast<std::ptrdiff_t>(from), r.body.begin() + static_cast<std::ptrdiff_t>(to));
    }
    fail_for(r, "GET", key);
  }

  awaitable<std::optional<object_info>> stat(std::string key) override {
    http_request req;
    req.method = "HEAD";
    req.target = target(key);
    auto r = co_await http_->request(req);
    if (r.status == 404 || r.status == 410) co_return std::nullopt;
    if (r.status != 200) fail_for(r, "HEAD", key);
    object_info info{key, 0};
    if (auto len = r.header("Content-Length")) info.size = parse_size(*len, "HEAD " + shown(key) + ": Content-Length");
    co_return info;
  }

  std::string describe() const override { return url_.shown(); }

 private:
  std::string target(const std::string& key) const { return url_.base_path + "/" + uri_encode(key, false); }
  std::string shown(const std::string& key) const { return url_.shown() + "/" + uri_encode(key, false); }

  [[noreturn]] void read_only(const std::string& what) const {
    fail(errc::usage, "store '" + describe() + "': cannot " + what + ": an http(s) store is read-only (publish to a directory, s3:// or az://, and serve that)");
  }

  // 5xx and 429 may pass (the retrying backend repeats the request, after
  // a Retry-After when the server gave one); 408 too, the server's own
  // timeout. Anything else will not change by asking again.
  [[noreturn]] void fail_for(const http_response& r, const char* method, const std::string& key) const {
    const std::string what = std::string(method) + " " + shown(key) + ": HTTP " + std::to_string(r.status);
    if (r.status >= 500 || r.status == 429 || r.status == 408)
      fail_transient(what, r.status == 429 || r.status == 503, r.retry_after());
    if (r.status / 100 == 3) {
      // The other server could be followed, but it would be trusted for
      // no better reason than this one's say-so: the user decides.
      std::string to = r.header("Location").value_or("");
      to = to.substr(0, std::min(to.find_first_of("?#"), std::size_t(200)));
      fail(errc::permanent, what + ": the server redirects" + (to.empty() ? "" : " to '" + to + "'") +
                                ", which stratum does not follow; give the URL of the repository itself");
    }
    if (r.status == 401 || r.status == 403)
      fail(errc::permanent, what + ": the server refuses it (stratum sends no credentials to an http(s) store)");
    fail(errc::permanent, what);
  }

  http_store_url url_;
  std::unique_ptr<http_client> http_;
};

}  // namespace

std::unique_ptr<backend> make_http_backend(const std::string& url, asio::io_context& io, const store_options& o) {
  return std::make_unique<http_backend>(io, url, o);
}

}  // namespace stratum
