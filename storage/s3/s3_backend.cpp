// The S3 store: s3://BUCKET[/PREFIX] over storage/http with SigV4
// (storage/sigv4). Every PUT signs the SHA-256 of its body, so the server
// verifies what it stores; bodies are plain (Content-Length), never
// aws-chunked. A put is durable once S3 answers 2xx, so sync() has nothing
// to do.
#include "async/error.hpp"
#include "io/sha256.hpp"
#include "storage/backend.hpp"
#include "storage/http/http.hpp"
#include "storage/s3/listing.hpp"
#include "storage/s3/sigv4.hpp"
#include "storage/store_util.hpp"
#include "storage/time_text.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace stratum {
namespace {

using namespace store_util;


class s3_backend final : public backend {
 public:
  s3_backend(asio::io_context& io, asio::thread_pool& blocking, std::string bucket, std::string prefix,
             const store_options& o)
      : blocking_(blocking), bucket_(std::move(bucket)), prefix_(std::move(prefix)) {
    creds_.access_key = env("AWS_ACCESS_KEY_ID");
    creds_.secret_key = env("AWS_SECRET_ACCESS_KEY");
    creds_.session_token = env("AWS_SESSION_TOKEN");
    if (creds_.access_key.empty() || creds_.secret_key.empty())
      fail(errc::usage, "store '" + describe() + "': set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)");
    region_ = !o.region.empty() ? o.region : !env("AWS_REGION").empty() ? env("AWS_REGION") : !env("AWS_DEFAULT_REGION").empty() ? env("AWS_DEFAULT_REGION") : "us-east-1";
    http_endpoint ep;
    if (!o.endpoint.empty()) {
      ep = parse_endpoint(o.endpoint);
      path_style_ = o.addressing != "virtual";
    } else {
      ep = parse_endpoint("https://s3." + region_ + ".amazonaws.com");
      path_style_ = o.addressing == "path";
    }
    if (!path_style_) ep.host = bucket_ + "." + ep.host;
    http_options ho;
    ho.ca_file = o.ca_file;
    ho.timeout = o.request_timeout;
    http_ = make_http_client(io, ep, ho);
    host_ = http_->endpoint().host_header();
  }

  // The body's SHA-256 comes with it, made on the CPU thread that made the
  // body; the signature over it is made here, at send time, so it is never
  // stale however long the request waited for the window.
  store_caps caps() const override { return {.checks = {.sha256 = true}, .remove_batch = delete_batch}; }

  awaitable<void> put(std::string key, put_body body) override {
    std::string hash;
    if (body.sha256) hash = body.sha256->hex();
    // Hashing a 16 MiB chunk takes ~11 ms: not on the I/O thread.
    else if (body.data->size() > (64u << 10)) hash = co_await run_on(blocking_, [&] { return sha256(*body.data).hex(); });
    else hash = sha256(*body.data).hex();
    auto r = co_await send("PUT", object_path(key), {}, {}, body.data, hash);
    if (r.status / 100 != 2) fail_for(r, "PUT", key);
  }

  awaitable<std::optional<bytes>> get(std::string key, std::uint64_t offset, std::uint64_t length) override {
    std::vector<std::pair<std::string, std::string>> headers;
    if (offset > 0 || length > 0)
      headers.emplace_back("Range", byte_range(offset, length));
    auto r = co_await send("GET", object_path(key), {}, headers, nullptr, empty_hash());
    if (r.status == 404 && !no_bucket(r)) co_return std::nullopt;
    if (r.status == 416) co_return bytes();  // the range starts past the end
    if (r.status / 100 != 2) fail_for(r, "GET", key);
    co_return std::move(r.body);
  }

  awaitable<std::optional<object_info>> stat(std::string key) override {
    auto r = co_await send("HEAD", object_path(key), {}, {}, nullptr, empty_hash());
    if (r.status == 404) co_return std::nullopt;  // HEAD has no body to tell a missing bucket
    if (r.status / 100 != 2) fail_for(r, "HEAD", key);
    object_info info{key, 0};
    if (auto len = r.header("Content-Length")) info.size = parse_size(*len, "HEAD " + describe() + "/" + key + ": Content-Length");
    if (auto t = r.header("Last-Modified")) info.modified = time_text::parse_rfc1123(*t, "HEAD " + describe() + "/" + key + ": Last-Modified");
    co_return info;
  }

  awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit) override {
    std::vector<object_info> out;
    std::string token;
    for (;;) {
      std::vector<std::pair<std::string, std::string>> q = {{"list-type", "2"}, {"prefix", prefix_ + prefix}};
      const std::size_t page = std::min(list_page(1000), limit - out.size());
      if (page < 1000) q.emplace_back("max-keys", std::to_string(std::max<std::size_t>(1, page)));
      if (!token.empty()) q.emplace_back("continuation-token", token);
      http_response r;
      {
        r = co_await send("GET", bucket_path(), q, {}, nullptr, empty_hash());
      }
      if (r.status / 100 != 2) fail_for(r, "ListObjectsV2", prefix);
      auto listed = parse_list_objects_v2(text(r), "ListObjectsV2 " + describe());
      for (auto& o : listed.objects) {
        if (o.key.compare(0, prefix_.size(), prefix_) != 0) continue;
        out.push_back({o.key.substr(prefix_.size()), o.size, o.modified});
        if (out.size() >= limit) co_return out;
      }
      if (!listed.truncated) break;
      token = std::move(listed.next_token);
    }
    co_return out;
  }

  awaitable<void> remove(std::string key) override {
    auto r = co_await send("DELETE", object_path(key), {}, {}, nullptr, empty_hash());
    if (r.status == 404 && !no_bucket(r)) co_return;
    if (r.status / 100 != 2) fail_for(r, "DELETE", key);
  }

  // DeleteObjects, 1000 keys a request (the most S3 takes), quiet: only
  // failures are listed in the answer. S3 requires Content-MD5 here.
  static constexpr std::size_t delete_batch = 1000;
  awaitable<void> remove_many(std::vector<std::string> keys) override {
    for (std::size_t at = 0; at < keys.size(); at += delete_batch) {
      std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
      for (std::size_t i = at; i < std::min(keys.size(), at + delete_batch); ++i) xml += "<Object><Key>" + xml_escape(prefix_ + keys[i]) + "</Key></Object>";
      xml += "</Delete>";
      auto body = std::make_shared<const bytes>(xml.begin(), xml.end());
      std::vector<std::pair<std::string, std::string>> headers = {{"Content-MD5", md5_base64(*body)}, {"Content-Type", "application/xml"}};
      // A named vector, not a braced list inside co_await: g++ 12 rejects
      // ("array used as initializer").
      const std::vector<std::pair<std::string, std::string>> query = {{"delete", ""}};
      const std::string hash = sha256(*body).hex();
      http_response r;
      {
        r = co_await send("POST", bucket_path(), query, headers, body, hash);
      }
      if (r.status / 100 != 2) fail_for(r, "DeleteObjects", "");
      auto failed = parse_delete_result(text(r), "DeleteObjects " + describe());
      if (!failed.empty())
        fail(errc::permanent, "DeleteObjects " + describe() + ": '" + failed.front().key + "': " + failed.front().code +
                                  (failed.size() > 1 ? " (and " + std::to_string(failed.size() - 1) + " more)" : ""));
    }
  }

  awaitable<void> sync() override { co_return; }  // 2xx means stored durably

  std::string describe() const override { return "s3://" + bucket_ + (prefix_.empty() ? "" : "/" + prefix_.substr(0, prefix_.size() - 1)); }

 private:
  static const std::string& empty_hash() {
    static const std::string h = sha256(byte_view()).hex();
    return h;
  }

  std::string bucket_path() const { return path_style_ ? "/" + uri_encode(bucket_, true) : "/"; }
  std::string object_path(const std::string& key) const {
    return (path_style_ ? "/" + uri_encode(bucket_, true) + "/" : "/") + uri_encode(prefix_ + key, false);
  }

  // The headers that sign a request (x-amz-date, x-amz-content-sha256, a
  // session token, Authorization). Thread-safe.
  std::vector<std::pair<std::string, std::string>> sign(const char* method, const std::string& path,
                                                        const std::vector<std::pair<std::string, std::string>>& query,
                                                        const std::vector<std::pair<std::string, std::string>>& headers,
                                                        const std::string& payload_hash) const {
    sigv4_request sr{method, host_, path, query, headers, payload_hash};
    auto s = sigv4_sign(sr, creds_, region_, "s3", amz_now());
    s.add_headers.emplace_back("Authorization", std::move(s.authorization));
    return std::move(s.add_headers);
  }

  awaitable<http_response> send(const char* method, const std::string& path, const std::vector<std::pair<std::string, std::string>>& query,
                                const std::vector<std::pair<std::string, std::string>>& headers, shared_bytes body,
                                const std::string& payload_hash) {
    const auto signature = sign(method, path, query, headers, payload_hash);
    co_return co_await send_signed(method, path + query_string(query), headers, std::move(body), signature);
  }

  // Sends a request with its signing headers (from sign()).
  awaitable<http_response> send_signed(const char* method, std::string target,
                                       const std::vector<std::pair<std::string, std::string>>& headers, shared_bytes body,
                                       const std::vector<std::pair<std::string, std::string>>& signature) {
    http_request hr;
    hr.method = method;
    hr.target = std::move(target);
    hr.headers = headers;
    hr.more_headers = &signature;
    hr.body = std::move(body);
    co_return co_await http_->request(hr);
  }

  static std::string_view text(const http_response& r) { return {reinterpret_cast<const char*>(r.body.data()), r.body.size()}; }

  static std::string error_code(const http_response& r) { return parse_s3_error(text(r)).code; }

  static bool no_bucket(const http_response& r) { return error_code(r) == "NoSuchBucket"; }

  [[noreturn]] void fail_for(const http_response& r, const char* op, const std::string& key) const {
    const std::string code = error_code(r);
    const std::string what = std::string(op) + " " + describe() + (key.empty() ? "" : "/" + key);
    fail_status(r, code, what,
                code == "RequestTimeTooSkewed" ? "this machine's clock is more than 15 minutes off; set it right"
                                               : "access denied; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's policy",
                "bucket '" + bucket_ + "' does not exist at " + http_->endpoint().url());
  }

  asio::thread_pool& blocking_;
  std::string bucket_, prefix_;  // prefix_ is empty or ends with '/'
  aws_credentials creds_;
  std::string region_;
  bool path_style_ = true;
  std::unique_ptr<http_client> http_;
  std::string host_;  // the Host header, signed with every request
};

}  // namespace

std::unique_ptr<backend> make_s3_backend(const std::string& spec, asio::io_context& io, asio::thread_pool& blocking,
                                         const store_options& o) {
  std::string rest = spec.substr(5);
  auto slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string prefix = key_prefix(slash == std::string::npos ? "" : rest.substr(slash + 1));
  if (bucket.size() < 3 || bucket.size() > 63 || bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos)
    fail(errc::usage, "store '" + spec + "': '" + bucket + "' is not a valid bucket name (3-63 lowercase letters, digits, '.' and '-')");
  return std::make_unique<s3_backend>(io, blocking, bucket, prefix, o);
}

}  // namespace stratum
