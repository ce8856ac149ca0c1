// The mount cache's packs (object_cache.hpp, cache_pack.hpp): found at
// start (index, or a scan when a killed mount left none), appended to
// (offsets reserved before the fetch), indexed when full, evicted whole.
// Thread: the I/O thread; at start (open_packs, before the mount serves) it
// reads indexes, scans packs and writes indexes itself; later index writes
// and unlinks go to the blocking pool.
#include "catalog/read/object_cache.hpp"

#include "async/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace stratum {

namespace fs = std::filesystem;

std::string object_cache::pack_path(std::uint64_t id, const char* ext) const {
  return dir_ + "/packs/" + std::to_string(id) + "." + ext;
}

void object_cache::open_packs() {
  const std::string at = dir_ + "/packs";
  if (::mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) fail(errc::usage, "cannot create '" + at + "': " + std::strerror(errno));
  std::vector<std::uint64_t> ids;
  std::vector<std::pair<std::uint64_t, std::string>> indexes;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(at, ec)) {
    const std::string name = de.path().filename().string();
    const auto dot = name.find('.');
    const std::string ext = dot == std::string::npos ? "" : name.substr(dot);
    std::uint64_t id = 0;
    // (At most 18 digits: a longer number is not one this cache made.)
    const bool numbered = dot > 0 && dot <= 18 && dot != std::string::npos &&
                          name.find_first_not_of("0123456789") == dot && (id = std::stoull(name.substr(0, dot))) > 0;
    if (numbered && ext == ".pack") ids.push_back(id);
    else if (numbered && ext == ".idx") indexes.emplace_back(id, de.path().string());
    else if (name.size() > 4 && name.ends_with(".tmp")) ::unlink(de.path().c_str());
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> by_use;  // (used, id)
  for (const std::uint64_t id : ids) {
    next_pack_ = std::max(next_pack_, id + 1);
    const int fd = ::open(pack_path(id, "pack").c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st{};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      if (fd >= 0) ::close(fd);
      continue;
    }
    pack p;
    p.file = std::make_shared<const cached_file>(fd);
    p.end = static_cast<std::uint64_t>(st.st_size);
    p.used = mtime_tick(st);
    clock_ = std::max(clock_, p.used);
    // The index if it reads back whole, else the records themselves (a
    // mount that was killed wrote none), and an index for the next mount.
    auto entries = read_pack_index(pack_path(id, "idx"));
    if (!entries) {
      entries = scan_pack(fd, p.end);
      write_pack_index(pack_path(id, "idx"), *entries);
    }
    for (const auto& e : *entries) {
      if (e.at < pack_header_size || e.at > p.end || e.size > p.end - e.at) continue;
      // An object in two packs was fetched again after its first record
      // was found damaged: the newer pack (a higher number) holds the copy
      // that was written last.
      if (auto old = slots_.find(e.h); old != slots_.end()) {
        if (!old->second.pack) continue;
        slots_.erase(old);
      }
      slot s;
      s.size = e.size;
      s.pack = id;
      s.at = e.at;
      slots_.emplace(e.h, s);
      p.members.push_back(e.h);
    }
    stats_.bytes += p.end;
    by_use.emplace_back(p.used, id);
    packs_.emplace(id, std::move(p));
  }
  std::sort(by_use.begin(), by_use.end());
  for (const auto& [used, id] : by_use) packs_.at(id).lru = pack_lru_.insert(pack_lru_.end(), id);
  // An index whose pack is gone (evicted while the index was being written).
  for (const auto& [id, path] : indexes)
    if (!packs_.count(id)) ::unlink(path.c_str());
}

void object_cache::touch_pack(pack& p) {
  p.used = tick();
  pack_lru_.splice(pack_lru_.end(), pack_lru_, p.lru);
}

std::pair<std::uint64_t, std::uint64_t> object_cache::reserve(std::uint64_t bytes) {
  if (appending_) {
    pack& p = packs_.at(appending_);
    if (p.end > 0 && p.end + bytes > pack_bytes_) {
      // Full: written to no more; its index once its last record is.
      p.appending = false;
      const std::uint64_t id = appending_;
      appending_ = 0;
      index_when_done(id);
    }
  }
  if (!appending_) {
    std::uint64_t id = next_pack_++;
    int fd = -1;
    // Another mount of this directory may have made that number since.
    for (int tries = 0; fd < 0 && tries < 1000; ++tries, id = next_pack_++) {
      fd = ::open(pack_path(id, "pack").c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd >= 0) break;
      if (errno != EEXIST) break;
    }
    if (fd < 0)
      fail(errc::permanent, "the mount's cache: cannot create '" + pack_path(id, "pack") + "': " + std::strerror(errno) +
                                "; free space in the cache's file system or give --cache DIR");
    pack p;
    p.file = std::make_shared<const cached_file>(fd);
    p.appending = p.index_due = true;
    p.lru = pack_lru_.insert(pack_lru_.end(), id);
    packs_.emplace(id, std::move(p));
    appending_ = id;
  }
  pack& p = packs_.at(appending_);
  const std::uint64_t at = p.end;
  p.end += bytes;
  ++p.writing;
  stats_.bytes += bytes;
  touch_pack(p);
  return {appending_, at};
}

void object_cache::written(std::uint64_t id) {
  auto it = packs_.find(id);
  if (it == packs_.end()) return;  // evicted while its record was written
  --it->second.writing;
  index_when_done(id);
}

void object_cache::index_when_done(std::uint64_t id) {
  pack& p = packs_.at(id);
  if (p.writing > 0 || p.appending || !p.index_due) return;
  p.index_due = false;
  // The full pack's pages start for the disk now, not all at once later:
  // a cold walk leaves no gigabyte of dirty pages to a reader that follows.
  in_background([path = pack_path(id, "idx"), e = index_of(id), f = p.file] {
    ::sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    write_pack_index(path, e);
  });
}

std::vector<pack_entry> object_cache::index_of(std::uint64_t id) const {
  std::vector<pack_entry> entries;
  for (const auto& h : packs_.at(id).members)
    if (auto s = slots_.find(h); s != slots_.end() && s->second.pack == id)
      entries.push_back({h, s->second.at, static_cast<std::uint32_t>(s->second.size)});
  return entries;
}

void object_cache::drop_pack(std::uint64_t id) {
  auto it = packs_.find(id);
  pack& p = it->second;
  for (const auto& h : p.members)
    if (auto s = slots_.find(h); s != slots_.end() && s->second.pack == id) {
      slots_.erase(s);
      ++stats_.evicted;
    }
  stats_.bytes -= p.end;
  pack_lru_.erase(p.lru);
  if (appending_ == id) appending_ = 0;
  packs_.erase(it);
  // Only the names go: a reader holding the pack keeps reading it.
  in_background([pk = pack_path(id, "pack"), ix = pack_path(id, "idx")] {
    ::unlink(pk.c_str());
    ::unlink(ix.c_str());
  });
}

}  // namespace stratum
