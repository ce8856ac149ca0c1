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
#include <thread>
#include <unistd.h>

namespace stratum {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t trailer = 8;  // CRC-64 of the content, after it
constexpr std::size_t open_most = 512;  // objects kept open (the mount raises its descriptor limit)
// Bytes of fetched objects held in memory at once: a few 16 MiB chunks
// (the largest object a publish makes is one chunk, io/chunker.hpp).
constexpr std::size_t fetch_memory = std::size_t(96) << 20;
// Objects smaller than this go to packs (when the bound allows packs); a
// pack is 1/64 of the bound, between 1 and 64 MiB.
constexpr std::uint64_t packed_below = 256 << 10;
constexpr std::uint64_t pack_least = 1 << 20, pack_most = 64 << 20;


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
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  auto o = std::make_shared<cached_object>();
  o->file = std::make_shared<const cached_file>(fd);
  struct stat st{};
  if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != size + trailer) return nullptr;
  std::uint64_t crc = 0;
  std::vector<std::uint8_t> buf(std::min<std::uint64_t>(size + trailer, 1 << 20));
  std::uint64_t at = 0;
  std::array<std::uint8_t, trailer> tail{};
  while (at < size + trailer) {
    const ssize_t r = ::pread(fd, buf.data(), std::min<std::uint64_t>(buf.size(), size + trailer - at), static_cast<off_t>(at));
    if (r <= 0) return nullptr;
    const auto n = static_cast<std::uint64_t>(r);
    // Content bytes into the hash, trailer bytes aside.
    const std::uint64_t content = at < size ? std::min(n, size - at) : 0;
    crc = crc64_ecma_refl(crc, buf.data(), content);
    for (std::uint64_t i = content; i < n; ++i) tail[at + i - size] = buf[i];
    at += n;
  }
  if (checksum(crc) != tail) return nullptr;
  ::futimens(fd, nullptr);  // recently used, for the next mount's order
  o->size = size;
  return o;
}

std::shared_ptr<const cached_object> object_in(std::shared_ptr<const cached_file> f, std::uint64_t at, std::uint64_t size) {
  return std::make_shared<const cached_object>(cached_object{std::move(f), at, size});
}

}  // namespace

cached_file::~cached_file() {
  if (fd >= 0) ::close(fd);
}

object_cache::object_cache(repository& repo, asio::thread_pool& blocking, std::string dir, std::uint64_t limit)
    : repo_(&repo), blocking_(blocking), dir_(std::move(dir)), limit_(limit), pid_(std::to_string(::getpid())) {
  if (limit_ >= 16 * pack_least) pack_bytes_ = std::clamp(limit_ / 64, pack_least, pack_most);
}

object_cache::~object_cache() { close(); }

std::uint64_t object_cache::mtime_tick(const struct stat& st) {
  return std::max<std::int64_t>(0, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
}

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
      all.push_back({static_cast<std::int64_t>(mtime_tick(st)), *h, static_cast<std::uint64_t>(st.st_size) - trailer});
    }
  }
  std::sort(all.begin(), all.end(), [](const found& a, const found& b) { return a.mtime < b.mtime; });
  for (const auto& f : all) {
    slot s;
    s.size = f.size;
    s.used = static_cast<std::uint64_t>(std::max<std::int64_t>(f.mtime, 0));
    clock_ = std::max(clock_, s.used);
    s.lru = lru_.insert(lru_.end(), f.h);
    slots_.emplace(f.h, s);
    stats_.bytes += f.size;
  }
  open_packs();
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  clock_ = std::max<std::uint64_t>(clock_, std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  stats_.objects = slots_.size();
  evict();
}

void object_cache::touch(slot& s, const hash256& h) {
  if (s.pack) {
    if (auto p = packs_.find(s.pack); p != packs_.end()) touch_pack(p->second);
    return;
  }
  s.used = tick();
  lru_.erase(s.lru);
  s.lru = lru_.insert(lru_.end(), h);
}

void object_cache::in_background(std::function<void()> work) {
  ++*background_;
  // (The count, not `this`: the work may outlive a close() that gave up.)
  asio::post(blocking_, [count = background_, work = std::move(work)] {
    work();
    --*count;
  });
}

void object_cache::close() {
  // What was handed to the blocking pool (unlinks, indexes) is done before
  // the mount ends, so the directory is as this process left it.
  for (int i = 0; i < 30000 && *background_ > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (auto& [id, p] : packs_)
    if (p.index_due) {
      p.index_due = false;
      write_pack_index(pack_path(id, "idx"), index_of(id));
    }
}

void object_cache::forget(const hash256& h) {
  auto it = slots_.find(h);
  if (it == slots_.end()) return;
  if (!it->second.pack) {
    stats_.bytes -= it->second.size;
    lru_.erase(it->second.lru);
  }  // (a record in a pack stays, unused, until the pack goes)
  slots_.erase(it);
  stats_.objects = slots_.size();
}

void object_cache::evict() {
  while (stats_.bytes > limit_ && !(lru_.empty() && pack_lru_.empty())) {
    // The least recently used of the own files' and the packs'.
    if (!pack_lru_.empty() && (lru_.empty() || packs_.at(pack_lru_.front()).used < slots_.at(lru_.front()).used)) {
      drop_pack(pack_lru_.front());
      continue;
    }
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
    in_background([p = path_of(h)] { ::unlink(p.c_str()); });
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
  // In a pack and known good: its place in a file that is open already.
  if (auto it = slots_.find(h); it != slots_.end() && it->second.pack && it->second.verified && it->second.size == size) {
    pack& p = packs_.at(it->second.pack);
    touch_pack(p);
    co_return object_in(p.file, it->second.at, size);
  }
  // Opening, checking and fetching: once for concurrent requests of one object.
  co_return co_await fetching_.run(h, [&] { return load(h, k, size); });
}

awaitable<std::shared_ptr<const cached_object>> object_cache::load(const hash256& h, object_kind k, std::uint64_t size) {
  if (auto it = slots_.find(h); it != slots_.end() && it->second.size == size) {
    touch(it->second, h);
    const bool verified = it->second.verified;
    std::shared_ptr<const cached_object> o;
    if (it->second.pack) {
      // Verified ones were answered by get(): this one is an earlier mount's.
      o = object_in(packs_.at(it->second.pack).file, it->second.at, size);
      const bool good = co_await run_on(blocking_, [&] {
        if (!check_pack_record(o->fd(), o->offset, h, static_cast<std::uint32_t>(size))) return false;
        ::futimens(o->fd(), nullptr);  // recently used, for the next mount's order
        return true;
      });
      ++stats_.rehashed;
      if (!good) o = nullptr;
    } else {
      const std::string path = path_of(h);
      if (verified) {
        o = co_await run_on(blocking_, [&]() -> std::shared_ptr<const cached_object> {
          const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
          if (fd < 0) return nullptr;
          return object_in(std::make_shared<const cached_file>(fd), 0, size);
        });
      } else {
        o = co_await run_on(blocking_, [&] { return open_checked(path, size); });
        ++stats_.rehashed;
      }
    }
    if (o) {
      ++stats_.hits;
      if (auto again = slots_.find(h); again != slots_.end()) {
        again->second.verified = true;
        if (!again->second.pack) keep_open(h, o);
      }
      co_return o;
    }
    // Damaged, or removed behind this process's back (another mount's
    // eviction): forget it and fetch it again. A damaged file of its own
    // goes too, or every later mount would find it first and fetch again
    // (a damaged record stays in its pack: a newer pack's copy wins at the
    // next start, object_cache_packs.cpp).
    if (!verified) ++stats_.damaged;
    if (auto again = slots_.find(h); again != slots_.end() && !again->second.pack)
      in_background([p = path_of(h)] { ::unlink(p.c_str()); });
    forget(h);
  }
  co_return co_await fetch(h, k, size);
}

std::shared_ptr<const cached_object> object_cache::ready_object(const hash256& h, std::uint64_t size) {
  auto it = slots_.find(h);
  if (it == slots_.end() || !it->second.verified || it->second.size != size) return nullptr;
  if (it->second.pack) return object_in(packs_.at(it->second.pack).file, it->second.at, size);
  auto at = open_at_.find(h);
  return at == open_at_.end() ? nullptr : at->second->second;
}

awaitable<void> object_cache::warm(const hash256& h, object_kind k, std::uint64_t size) {
  // Fetching writes the object, checking an earlier mount's copy reads it:
  // either way its pages are in memory afterwards, and it is kept open.
  if (!ready(h)) co_await get(h, k, size);
}

awaitable<std::shared_ptr<const cached_object>> object_cache::fetch(const hash256& h, object_kind k, std::uint64_t size) {
  if (!memory_) memory_ = std::make_unique<budget>(co_await asio::this_coro::executor, fetch_memory);
  budget_lease lease(*memory_, co_await memory_->acquire(static_cast<std::size_t>(std::max<std::uint64_t>(size, 1))));
  // A small object's record is placed before the fetch, a large one's file
  // named; either is written in the CPU task that verified the content.
  const bool packed = pack_bytes_ > 0 && size < packed_below;
  std::uint64_t pack_id = 0, at = 0;
  std::shared_ptr<const cached_file> pf;
  if (packed) {
    std::tie(pack_id, at) = reserve(pack_header_size + size);
    pf = packs_.at(pack_id).file;
  }
  struct release {  // the reservation, written or not
    object_cache* c;
    std::uint64_t id;
    ~release() {
      if (id) c->written(id);
    }
  } reserved{this, pack_id};
  const std::string path = path_of(h);
  const std::string tmp = path + "." + pid_ + "-" + std::to_string(++tmp_seq_) + ".tmp";
  std::string failed;
  std::shared_ptr<const cached_object> o;
  const std::function<void(const bytes&)> keep = [&](const bytes& content) {
    if (packed) {
      if (!write_pack_record(pf->fd, at, h, content.data(), static_cast<std::uint32_t>(content.size())))
        failed = sys_error("cannot write '" + pack_path(pack_id, "pack") + "'");
      else
        o = object_in(pf, at + pack_header_size, size);
      return;
    }
    // Its own file: content, checksum after it, renamed into place.
    const auto sum = checksum(crc64_ecma_refl(0, content.data(), content.size()));
    const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      failed = sys_error("cannot create '" + tmp + "'");
      return;
    }
    auto f = std::make_shared<const cached_file>(fd);
    iovec parts[2] = {{const_cast<std::uint8_t*>(content.data()), content.size()}, {const_cast<std::uint8_t*>(sum.data()), sum.size()}};
    if (!write_all(fd, parts) || ::rename(tmp.c_str(), path.c_str()) != 0) {
      failed = sys_error("cannot write '" + path + "'");
      ::unlink(tmp.c_str());
      return;
    }
    ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);  // (as a full pack's, index_when_done)
    o = object_in(std::move(f), 0, size);
  };
  co_await repo_->read_object(h, k, size, keep);
  if (!o) fail(errc::permanent, "the mount's cache: " + failed + "; free space in the cache's file system or give --cache DIR");
  ++stats_.fetched;
  stats_.fetched_bytes += size;
  if (auto it = slots_.find(h); it == slots_.end()) {
    slot s;
    s.size = size;
    s.verified = true;
    if (packed) {
      // Unless the pack was evicted while the record was written: then this
      // read has it, the cache does not.
      if (auto p = packs_.find(pack_id); p != packs_.end()) {
        s.pack = pack_id;
        s.at = at + pack_header_size;
        p->second.members.push_back(h);
        slots_.emplace(h, s);
      }
    } else {
      s.used = tick();
      s.lru = lru_.insert(lru_.end(), h);
      slots_.emplace(h, s);
      stats_.bytes += size;
      keep_open(h, o);
    }
    stats_.objects = slots_.size();
  } else if (!packed) {
    keep_open(h, o);
  }
  evict();
  co_return o;
}

}  // namespace stratum
