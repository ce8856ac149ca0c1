// An in-process store for tests: a sorted map under a mutex, each object
// with the time of its put (this machine's clock is the store's). Any thread.
#include "storage/backend.hpp"

#include <chrono>
#include <map>
#include <mutex>

namespace stratum {
namespace {

class memory_backend final : public backend {
 public:
  explicit memory_backend(std::string name) : name_(std::move(name)) {}

  store_caps caps() const override { return {.puts_here = true}; }

  awaitable<void> put(std::string key, put_body body) override {
    put_here(key, body);
    co_return;
  }

  bool put_here(const std::string& key, const put_body& body) override {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::lock_guard g(m_);
    return !objects_.insert_or_assign(key, object{body.data, now}).second;
  }

  awaitable<std::optional<bytes>> get(std::string key, std::uint64_t offset, std::uint64_t length) override {
    std::lock_guard g(m_);
    auto it = objects_.find(key);
    if (it == objects_.end()) co_return std::nullopt;
    const bytes& b = *it->second.data;
    std::uint64_t start = std::min<std::uint64_t>(offset, b.size());
    std::uint64_t end = length == 0 ? b.size() : std::min<std::uint64_t>(b.size(), start + length);
    co_return bytes(b.begin() + start, b.begin() + end);
  }

  awaitable<std::optional<object_info>> stat(std::string key) override {
    std::lock_guard g(m_);
    auto it = objects_.find(key);
    if (it == objects_.end()) co_return std::nullopt;
    co_return object_info{key, it->second.data->size(), it->second.modified};
  }

  awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit) override {
    std::lock_guard g(m_);
    std::vector<object_info> out;
    for (auto it = objects_.lower_bound(prefix); it != objects_.end() && out.size() < limit; ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      out.push_back({it->first, it->second.data->size(), it->second.modified});
    }
    co_return out;
  }

  awaitable<void> remove(std::string key) override {
    std::lock_guard g(m_);
    objects_.erase(key);
    co_return;
  }

  awaitable<void> sync() override { co_return; }
  std::string describe() const override { return "mem:" + name_; }

 private:
  std::string name_;
  std::mutex m_;
  struct object {
    shared_bytes data;
    std::int64_t modified;  // seconds since the epoch
  };
  std::map<std::string, object> objects_;
};

}  // namespace

std::unique_ptr<backend> make_memory_backend(std::string name) { return std::make_unique<memory_backend>(std::move(name)); }

}  // namespace stratum
