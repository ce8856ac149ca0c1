// Azure SharedKey: the account key and the request signature (shared_key.hpp).
#include "storage/azure/shared_key.hpp"

#include "async/error.hpp"
#include "storage/store_util.hpp"

#include <algorithm>
#include <cctype>

namespace stratum {

std::string decode_account_key(std::string_view text, const std::string& store) {
  auto raw = store_util::unbase64(store_util::trim(text));
  if (!raw || raw->empty())
    fail(errc::usage, "store '" + store + "': AZURE_STORAGE_KEY is not valid base64; give the storage account's access key as the portal shows it");
  return std::move(*raw);
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string shared_key_authorization(const hmac_sha256& key, const std::string& account, const std::string& method,
                                     const std::string& path, const std::vector<std::pair<std::string, std::string>>& query,
                                     const header_list& headers, std::size_t content_length) {
  auto get = [&](const char* name) {
    for (auto& [k, v] : headers)
      if (lower(k) == name) return v;
    return std::string();
  };
  std::string s = method + "\n" + get("content-encoding") + "\n" + get("content-language") + "\n" +
                  (content_length ? std::to_string(content_length) : "") + "\n" + get("content-md5") + "\n" + get("content-type") +
                  "\n\n" + get("if-modified-since") + "\n" + get("if-match") + "\n" + get("if-none-match") + "\n" +
                  get("if-unmodified-since") + "\n" + get("range") + "\n";
  std::vector<std::pair<std::string, std::string>> ms;
  for (auto& [k, v] : headers) {
    std::string lk = lower(k);
    if (lk.rfind("x-ms-", 0) == 0) ms.emplace_back(lk, v);
  }
  std::sort(ms.begin(), ms.end());
  for (auto& [k, v] : ms) s += k + ":" + v + "\n";
  s += "/" + account + path;
  auto q = query;
  for (auto& [k, v] : q) k = lower(k);
  std::sort(q.begin(), q.end());
  for (auto& [k, v] : q) s += "\n" + k + ":" + v;
  auto mac = key.sign(s);
  return "SharedKey " + account + ":" + store_util::base64(mac.v.data(), mac.v.size());
}

}  // namespace stratum
