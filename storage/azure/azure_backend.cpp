// The Azure Blob store: az://ACCOUNT/CONTAINER[/PREFIX] over storage/http,
// authorised by a SAS token (AZURE_STORAGE_SAS_TOKEN, appended to every
// request) or the account key (AZURE_STORAGE_KEY, SharedKey signing).
//
// Objects up to `block_threshold` go up in one Put Blob; larger ones as
// Put Block + Put Block List. The retry layer repeats a put whole, so a
// retry resends every block of the object, not only the one that failed.
// Every PUT carries Content-MD5, which the service checks. A 2xx means the
// blob is durable, so sync() has nothing to do.
#include "async/error.hpp"
#include "io/sha256.hpp"
#include "storage/backend.hpp"
#include "storage/http/http.hpp"
#include "storage/azure/listing.hpp"
#include "storage/time_text.hpp"
#include "storage/azure/shared_key.hpp"
#include "storage/s3/sigv4.hpp"  // uri_encode
#include "storage/store_util.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>

namespace stratum {
namespace {

using namespace store_util;


constexpr const char* ms_version = "2021-08-06";
// Put Blob up to 8 MiB; above, 4 MiB blocks. Most objects are small files
// (one request each); chunks of large files are up to 16 MiB compressed and
// go up as 4 MiB blocks.
constexpr std::size_t block_threshold = 8u << 20;
constexpr std::size_t block_size = 4u << 20;

class azure_backend final : public backend {
 public:
  azure_backend(asio::io_context& io, std::string account, std::string container, std::string prefix, const store_options& o,
                std::string sas)
      : account_(std::move(account)), container_(std::move(container)), prefix_(std::move(prefix)), sas_(std::move(sas)) {
    if (sas_.empty()) sas_ = env("AZURE_STORAGE_SAS_TOKEN");
    while (!sas_.empty() && sas_.front() == '?') sas_.erase(0, 1);
    if (sas_.empty()) {
      std::string key = env("AZURE_STORAGE_KEY");
      if (key.empty())
        fail(errc::usage, "store '" + describe() + "': set AZURE_STORAGE_SAS_TOKEN (a SAS for the container) or AZURE_STORAGE_KEY (the account key)");
      key_.emplace(decode_account_key(key, describe()));
    }
    http_endpoint ep;
    if (!o.endpoint.empty()) {
      // Emulators and private endpoints: the account is the first path
      // segment. The endpoint may name it (Azurite's BlobEndpoint,
      // http://127.0.0.1:10000/devstoreaccount1, as azcopy, az and rclone
      // take it) or not (host and port only).
      auto u = parse_endpoint_url(o.endpoint);
      ep = u.endpoint;
      base_path_ = "/" + account_;
      if (!u.path.empty() && u.path != base_path_)
        fail(errc::usage, "store '" + describe() + "': --endpoint '" + o.endpoint + "' names the path '" + u.path +
                              "'; give the account there, " + ep.url() + base_path_ + ", or no path");
    } else {
      ep = parse_endpoint("https://" + account_ + ".blob.core.windows.net");
    }
    http_options ho;
    ho.ca_file = o.ca_file;
    ho.timeout = o.request_timeout;
    http_ = make_http_client(io, ep, ho);
  }

  // A Put Blob's Content-MD5 comes with the body, made on the CPU thread
  // that made it; the signature, over the date, is made at send time.
  store_caps caps() const override { return {.checks = {.md5_max = block_threshold}}; }

  awaitable<void> put(std::string key, put_body whole) override {
    const shared_bytes& data = whole.data;
    if (data->size() <= block_threshold) {
      header_list h;
      h.emplace_back("x-ms-blob-type", "BlockBlob");
      h.emplace_back("Content-MD5", whole.md5 ? base64(whole.md5->data(), whole.md5->size()) : md5_base64(*data));
      co_return co_await put_blob(key, data, h);
    }
    const std::string path = blob_path(key);
    std::string list = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
    for (std::size_t at = 0, n = 0; at < data->size(); at += block_size, ++n) {
      char id[16];
      std::snprintf(id, sizeof id, "blk%08zu", n);  // equal lengths, as the service requires
      const std::string block_id = base64(reinterpret_cast<const unsigned char*>(id), std::strlen(id));
      auto part = std::make_shared<const bytes>(data->begin() + static_cast<std::ptrdiff_t>(at),
                                                data->begin() + static_cast<std::ptrdiff_t>(std::min(data->size(), at + block_size)));
      header_list h = {{"Content-MD5", md5_base64(*part)}};
      const std::vector<std::pair<std::string, std::string>> q = {{"comp", "block"}, {"blockid", block_id}};
      auto r = co_await send("PUT", path, q, h, part);
      if (r.status != 201) fail_for(r, "Put Block", key);
      list += "<Latest>" + block_id + "</Latest>";
    }
    list += "</BlockList>";
    auto body = std::make_shared<const bytes>(list.begin(), list.end());
    header_list h = {{"Content-MD5", md5_base64(*body)}, {"Content-Type", "application/xml"}};
    const std::vector<std::pair<std::string, std::string>> q = {{"comp", "blocklist"}};
    auto r = co_await send("PUT", path, q, h, body);
    if (r.status != 201) fail_for(r, "Put Block List", key);
  }

  awaitable<void> put_blob(const std::string& key, const shared_bytes& data, const header_list& h) {
    auto r = co_await send("PUT", blob_path(key), {}, h, data);
    if (r.status != 201) fail_for(r, "Put Blob", key);
  }

  awaitable<std::optional<bytes>> get(std::string key, std::uint64_t offset, std::uint64_t length) override {
    header_list h;
    if (offset > 0 || length > 0)
      h.emplace_back("x-ms-range", byte_range(offset, length));
    auto r = co_await send("GET", blob_path(key), {}, h, nullptr);
    if (r.status == 404 && error_code(r) == "BlobNotFound") co_return std::nullopt;
    if (r.status == 416) co_return bytes();
    if (r.status / 100 != 2) fail_for(r, "Get Blob", key);
    co_return std::move(r.body);
  }

  awaitable<std::optional<object_info>> stat(std::string key) override {
    auto r = co_await send("HEAD", blob_path(key), {}, {}, nullptr);
    if (r.status == 404) {
      // HEAD has no body; a missing container says so in a header.
      if (r.header("x-ms-error-code").value_or("") == "ContainerNotFound") fail_for(r, "Get Blob Properties", key);
      co_return std::nullopt;
    }
    if (r.status / 100 != 2) fail_for(r, "Get Blob Properties", key);
    object_info info{key, 0};
    if (auto len = r.header("Content-Length")) info.size = parse_size(*len, "Get Blob Properties " + describe() + "/" + key + ": Content-Length");
    if (auto t = r.header("Last-Modified"))
      info.modified = time_text::parse_rfc1123(*t, "Get Blob Properties " + describe() + "/" + key + ": Last-Modified");
    co_return info;
  }

  awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit) override {
    std::vector<object_info> out;
    std::string marker;
    for (;;) {
      std::vector<std::pair<std::string, std::string>> q = {{"restype", "container"}, {"comp", "list"}, {"prefix", prefix_ + prefix}};
      const std::size_t page = std::min(list_page(5000), limit - out.size());
      if (page < 5000) q.emplace_back("maxresults", std::to_string(std::max<std::size_t>(1, page)));
      if (!marker.empty()) q.emplace_back("marker", marker);
      auto r = co_await send("GET", container_path(), q, {}, nullptr);
      if (r.status / 100 != 2) fail_for(r, "List Blobs", prefix);
      auto listed = parse_list_blobs(text(r), "List Blobs " + describe());
      for (auto& b : listed.blobs) {
        if (b.name.compare(0, prefix_.size(), prefix_) != 0) continue;
        out.push_back({b.name.substr(prefix_.size()), b.size, b.modified});
        if (out.size() >= limit) co_return out;
      }
      if (listed.next_marker.empty()) break;
      marker = std::move(listed.next_marker);
    }
    co_return out;
  }

  awaitable<void> remove(std::string key) override {
    auto r = co_await send("DELETE", blob_path(key), {}, {}, nullptr);
    if (r.status == 404 && error_code(r) == "BlobNotFound") co_return;
    if (r.status / 100 != 2) fail_for(r, "Delete Blob", key);
  }

  awaitable<void> sync() override { co_return; }

  std::string describe() const override {
    return "az://" + account_ + "/" + container_ + (prefix_.empty() ? "" : "/" + prefix_.substr(0, prefix_.size() - 1));
  }

 private:
  std::string container_path() const { return base_path_ + "/" + uri_encode(container_, true); }
  std::string blob_path(const std::string& key) const { return container_path() + "/" + uri_encode(prefix_ + key, false); }

  awaitable<http_response> send(const char* method, const std::string& path, const std::vector<std::pair<std::string, std::string>>& query,
                                const header_list& extra, shared_bytes body) {
    header_list h = extra;
    h.emplace_back("x-ms-date", utc_now("%a, %d %b %Y %H:%M:%S GMT"));
    h.emplace_back("x-ms-version", ms_version);
    http_request hr;
    hr.method = method;
    hr.target = path;
    std::string qs = query_string(query);
    if (!sas_.empty()) qs += (qs.empty() ? "?" : "&") + sas_;
    hr.target += qs;
    if (sas_.empty()) h.emplace_back("Authorization", shared_key_authorization(*key_, account_, method, path, query, h, body ? body->size() : 0));
    hr.headers = std::move(h);
    hr.body = std::move(body);
    auto r = co_await http_->request(hr);
    co_return r;
  }

  static std::string_view text(const http_response& r) { return {reinterpret_cast<const char*>(r.body.data()), r.body.size()}; }

  static std::string error_code(const http_response& r) {
    if (auto h = r.header("x-ms-error-code")) return *h;
    return parse_azure_error(text(r)).code;
  }

  [[noreturn]] void fail_for(const http_response& r, const char* op, const std::string& key) const {
    const std::string code = error_code(r);
    const std::string what = std::string(op) + " " + describe() + (key.empty() ? "" : "/" + key);
    fail_status(r, code, what,
                std::string("not authorised (") +
                    (sas_.empty() ? "check AZURE_STORAGE_KEY" : "the SAS token is wrong, expired or lacks a permission") +
                    ") for account '" + account_ + "', container '" + container_ + "'",
                "container '" + container_ + "' does not exist in account '" + account_ + "'");
  }

  std::string account_, container_, prefix_, sas_, base_path_;
  std::optional<hmac_sha256> key_;  // SharedKey, when there is no SAS
  std::unique_ptr<http_client> http_;
};

}  // namespace

std::unique_ptr<backend> make_azure_backend(const std::string& spec, asio::io_context& io, const store_options& o, const std::string& sas) {
  // az://ACCOUNT/CONTAINER[/PREFIX]
  std::string rest = spec.substr(5);
  auto s1 = rest.find('/');
  if (s1 == std::string::npos || s1 == 0)
    fail(errc::usage, "store '" + spec + "': use az://ACCOUNT/CONTAINER[/PREFIX]");
  std::string account = rest.substr(0, s1);
  rest = rest.substr(s1 + 1);
  auto s2 = rest.find('/');
  std::string container = rest.substr(0, s2);
  std::string prefix = key_prefix(s2 == std::string::npos ? "" : rest.substr(s2 + 1));
  if (container.size() < 3 || container.size() > 63 || container.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    fail(errc::usage, "store '" + spec + "': '" + container + "' is not a valid container name (3-63 lowercase letters, digits and '-')");
  return std::make_unique<azure_backend>(io, account, container, prefix, o, sas.empty() ? o.azure_sas : sas);
}

}  // namespace stratum
