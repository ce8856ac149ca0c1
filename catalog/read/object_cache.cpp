// The mount's on-disk object cache (object_cache.hpp): accounting, lookup,
// fetch-and-keep, and eviction. Thread: the I/O thread; every file system call
// that touches object data runs on the blocking pool.
#include "catalog/read/object_cache.hpp"

#include "async/error.hpp"

#include <isa-l/crc64.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace stratum {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t trailer = 8;  // CRC-64 of the content, after it
constexpr std::size_t open_most = 512;  // objects kept open (the mount raises its descriptor limit)
// Bytes of fetched objects held in memory at once: a few 16 MiB chunks
// (the largest object a publish makes is one chunk, io/chunker.hpp).
constexpr std::size_t fetch_memory = std::size_t(96) << 20;

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

// Writes both parts whole (content, then its checksum).
bool write_all(int fd, iovec (&parts)[2]) {
  int first = 0;
  while (first < 2) {
    const ssize_t w = ::writev(fd, parts + first, 2 - first);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    auto n = static_cast<std::size_t>(w);
    while (first < 2 && n >= parts[first].iov_len) n -= parts[first++].iov_len;
    if (first < 2) {
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + n;
      parts[first].iov_len -= n;
    }
  }
  return true;
}

std::array<std::uint8_t, trailer> checksum(std::uint64_t crc) {
  std::array<std::uint8_t, trailer> b{};
  for (std::size_t i = 0; i < trailer; ++i) b[i] = static_cast<std::uint8_t>(crc >> (8 * i));
  return b;
}

// Checks the cache file at `path` against its trailer. Returns the opened
// object, or nullptr when it is missing, short or damaged.
std::shared_ptr<cached_object> open_checked(const std::string& path, std::uint64_t size) {
  auto o = std::make_shared<cached_object>();
  o->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (o->fd < 0) return nullptr;
  struct stat st{};
  if (::fstat(o->fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != size + trailer) return nullptr;
  std::uint64_t crc = 0;
  std::vector<std::uint8_t> buf(std::min<std::uint64_t>(size + trailer, 1 << 20));
  std::uint64_t at = 0;
  std::array<std::uint8_t, trailer> tail{};
  while (at < size + trailer) {
    const ssize_t r = ::pread(o->fd, buf.data(), std::min<std::uint64_t>(buf.size(), size + trailer - at), static_cast<off_t>(at));
    if (r <= 0) return nullptr;
    const auto n = static_cast<std::uint64_t>(r);
    // Content bytes into the hash, trailer bytes aside.
    const std::uint64_t content = at < size ? std::min(n, size - at) : 0;
    crc = crc64_ecma_refl(crc, buf.data(), content);
    for (std::uint64_t i = content; i < n; ++i) tail[at + i - size] = buf[i];
    at += n;
  }
  if (checksum(crc) != tail) return nullptr;
  ::futimens(o->fd, nullptr);  // recently used, for the next mount's order
  o->size = size;
  return o;
}

}  // namespace

cached_object::~cached_object() {
  if (fd >= 0) ::close(fd);
}

object_cache::object_cache(repository& repo, asio::thread_pool& blocking, std::string dir, std::uint64_t limit)
    : repo_(&repo), blocking_(blocking), dir_(std::move(dir)), limit_(limit), pid_(std::to_string(::getpid())) {}

std::string object_cache::path_of(const hash256& h) const {
  const std::string hex = h.hex();
  return dir_ + "/" + hex.substr(0, 2) + "/" + hex;
}

void object_cache::open() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) fail(errc::usage, "cannot create the cache directory '" + dir_ + "': " + ec.message() + "; give another with --cache DIR");
  if (::access(dir_.c_str(), W_OK | X_OK) != 0)
    fail(errc::usage, "cannot write to the cache directory '" + dir_ + "': " + std::strerror(errno) + "; give another with --cache DIR");
  struct found {
    std::int64_t mtime;
    hash256 h;
    std::uint64_t size;
  };
  std::vector<found> all;
  static const char* hexdigits = "0123456789abcdef";
  for (int i = 0; i < 256; ++i) {
    const std::string sub = dir_ + "/" + hexdigits[i >> 4] + hexdigits[i & 15];
    if (::mkdir(sub.c_str(), 0700) != 0 && errno != EEXIST) fail(errc::usage, sys_error("cannot create '" + sub + "'"));
    for (const auto& de : fs::directory_iterator(sub, ec)) {
      const std::string name = de.path().filename().string();
      auto h = hash256::from_hex(name);
      struct stat st{};
      if (!h || ::stat(de.path().c_str(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) < trailer) {
        // A temporary file of a mount that was killed, or not ours.
        if (name.find(".tmp") != std::string::npos) ::unlink(de.path().c_str());
        continue;
      }
      all.push_back({static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, *h,
                     static_cast<std::uint64_t>(st.st_size) - trailer});
    }
  }
  std::sort(all.begin(), all.end(), [](const found& a, const found& b) { return a.mtime < b.mtime; });
  for (const auto& f : all) {
    slot s;
    s.size = f.size;
    s.lru = lru_.insert(lru_.end(), f.h);
    slots_.emplace(f.h, s);
    stats_.bytes += f.size;
  }
  stats_.objects = slots_.size();
  evict();
}

void object_cache::touch(slot& s, const hash256& h) {
  lru_.erase(s.lru);
  s.lru = lru_.insert(lru_.end(), h);
}

void object_cache::evict() {
  while (stats_.bytes > limit_ && !lru_.empty()) {
    const hash256 h = lru_.front();
    lru_.pop_front();
    auto it = slots_.find(h);
    stats_.bytes -= it->second.size;
    slots_.erase(it);
    if (auto o = open_at_.find(h); o != open_at_.end()) {
      open_.erase(o->second);
      open_at_.erase(o);
    }
    ++stats_.evicted;
    // Only the name goes: a reader holding the file keeps reading it.
    asio::post(blocking_, [p = path_of(h)] { ::unlink(p.c_str()); });
  }
  stats_.objects = slots_.size();
}

void object_cache::keep_open(const hash256& h, std::shared_ptr<const cached_object> o) {
  if (auto at = open_at_.find(h); at != open_at_.end()) {
    open_.erase(at->second);
    open_at_.erase(at);
  }
  open_at_[h] = open_.insert(open_.end(), {h, std::move(o)});
  if (open_.size() > open_most) {
    open_at_.erase(open_.front().first);
    open_.pop_front();
  }
}

awaitable<std::shared_ptr<const cached_object>> object_cache::get(const hash256& h, object_kind k, std::uint64_t size) {
  if (auto at = open_at_.find(h); at != open_at_.end() && at->second->second->size == size) {
    open_.splice(open_.end(), open_, at->second);
    if (auto it = slots_.find(h); it != slots_.end()) touch(it->second, h);
    co_return at->second->second;
  }
  // Opening, checking and fetching: once for concurrent requests of one object.
  co_return co_await fetching_.run(h, [&] { return load(h, k, size); });
}

awaitable<std::shared_ptr<const cached_object>> object_cache::load(const hash256& h, object_kind k, std::uint64_t size) {
  if (auto it = slots_.find(h); it != slots_.end() && it->second.size == size) {
    touch(it->second, h);
    const bool verified = it->second.verified;
    const std::string path = path_of(h);
    std::shared_ptr<cached_object> o;
    if (verified) {
      o = co_await run_on(blocking_, [&]() -> std::shared_ptr<cached_object> {
        auto c = std::make_shared<cached_object>();
        c->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (c->fd < 0) return nullptr;
        c->size = size;
        return c;
      });
    } else {
      o = co_await run_on(blocking_, [&] { return open_checked(path, size); });
      ++stats_.rehashed;
    }
    if (o) {
      ++stats_.hits;
      if (auto again = slots_.find(h); again != slots_.end()) again->second.verified = true;
      keep_open(h, o);
      co_return o;
    }
    // Damaged, or removed behind this process's back (another mount's
    // eviction): forget it and fetch it again.
    if (!verified) ++stats_.damaged;
    if (auto again = slots_.find(h); again != slots_.end()) {
      stats_.bytes -= again->second.size;
      lru_.erase(again->second.lru);
      slots_.erase(again);
      stats_.objects = slots_.size();
    }
  }
  co_return co_await fetch(h, k, size);
}

awaitable<void> object_cache::warm(const hash256& h, object_kind k, std::uint64_t size) {
  // Fetching writes the object, checking an earlier mount's copy reads it:
  // either way its pages are in memory afterwards, and it is kept open.
  if (!ready(h)) co_await get(h, k, size);
}

awaitable<std::shared_ptr<const cached_object>> object_cache::fetch(const hash256& h, object_kind k, std::uint64_t size) {
  if (!memory_) memory_ = std::make_unique<budget>(co_await asio::this_coro::executor, fetch_memory);
  budget_lease lease(*memory_, co_await memory_->acquire(static_cast<std::size_t>(std::max<std::uint64_t>(size, 1))));
  const std::string path = path_of(h);
  const std::string tmp = path + "." + pid_ + "-" + std::to_string(++tmp_seq_) + ".tmp";
  std::string failed;
  std::shared_ptr<cached_object> o;
  // Kept in the task that verified it, on the CPU pool: written whole,
  // checksum after it, renamed into place.
  const std::function<void(const bytes&)> keep = [&](const bytes& content) {
    const auto sum = checksum(crc64_ecma_refl(0, content.data(), content.size()));
    auto c = std::make_shared<cached_object>();
    c->fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (c->fd < 0) {
      failed = sys_error("cannot create '" + tmp + "'");
      return;
    }
    iovec parts[2] = {{const_cast<std::uint8_t*>(content.data()), content.size()}, {const_cast<std::uint8_t*>(sum.data()), sum.size()}};
    if (!write_all(c->fd, parts) || ::rename(tmp.c_str(), path.c_str()) != 0) {
      failed = sys_error("cannot write '" + path + "'");
      ::unlink(tmp.c_str());
      return;
    }
    c->size = size;
    o = std::move(c);
  };
  co_await repo_->read_object(h, k, size, keep);
  if (!o) fail(errc::permanent, "the mount's cache: " + failed + "; free space in the cache's file system or give --cache DIR");
  ++stats_.fetched;
  stats_.fetched_bytes += size;
  if (auto it = slots_.find(h); it == slots_.end()) {
    slot s;
    s.size = size;
    s.verified = true;
    s.lru = lru_.insert(lru_.end(), h);
    slots_.emplace(h, s);
    stats_.bytes += size;
  }
  keep_open(h, o);
  evict();
  co_return o;
}

}  // namespace stratum
