// The mount cache's pack files and their indexes (cache_pack.hpp): records
// written, checked and scanned; indexes read and written. Thread: any
// (blocking file calls).
#include "catalog/read/cache_pack.hpp"

#include <isa-l/crc64.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

namespace stratum {

namespace {

constexpr char record_magic[4] = {'S', 'P', 'K', '1'};
constexpr char index_magic[4] = {'S', 'P', 'I', '1'};
constexpr std::size_t index_entry = 48;  // hash, offset u64, size u32, 0 u32
// Larger than any record a cache packs (object_cache packs small objects
// only): a size field past it is a torn or foreign header.
constexpr std::uint32_t record_most = 64u << 20;

void put_le(std::uint8_t* p, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t get_le(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= std::uint64_t(p[i]) << (8 * i);
  return v;
}

// The crc of a record: over its size and hash (header bytes 4..40), then
// its content.
std::uint64_t record_crc(const std::uint8_t* header, const std::uint8_t* content, std::uint32_t size) {
  return crc64_ecma_refl(crc64_ecma_refl(0, header + 4, 36), content, size);
}

bool pread_all(int fd, std::uint8_t* p, std::size_t n, std::uint64_t at) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(at));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
    at += static_cast<std::uint64_t>(r);
  }
  return true;
}

// A header that parses: the magic, and a size within bounds.
bool parse_header(const std::uint8_t* hd, hash256& h, std::uint32_t& size) {
  if (std::memcmp(hd, record_magic, 4) != 0) return false;
  size = static_cast<std::uint32_t>(get_le(hd + 4, 4));
  if (size > record_most) return false;
  std::memcpy(h.v.data(), hd + 8, 32);
  return true;
}

}  // namespace

bool write_pack_record(int fd, std::uint64_t offset, const hash256& h, const std::uint8_t* content, std::uint32_t size) {
  std::array<std::uint8_t, pack_header_size> hd{};
  std::memcpy(hd.data(), record_magic, 4);
  put_le(hd.data() + 4, size, 4);
  std::memcpy(hd.data() + 8, h.v.data(), 32);
  put_le(hd.data() + 40, record_crc(hd.data(), content, size), 8);
  iovec parts[2] = {{hd.data(), hd.size()}, {const_cast<std::uint8_t*>(content), size}};
  int first = 0;
  while (first < 2) {
    const ssize_t w = ::pwritev(fd, parts + first, 2 - first, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      return false;
    }
    offset += static_cast<std::uint64_t>(w);
    auto n = static_cast<std::size_t>(w);
    while (first < 2 && n >= parts[first].iov_len) n -= parts[first++].iov_len;
    if (first < 2) {
      parts[first].iov_base = static_cast<std::uint8_t*>(parts[first].iov_base) + n;
      parts[first].iov_len -= n;
    }
  }
  return true;
}

bool check_pack_record(int fd, std::uint64_t at, const hash256& h, std::uint32_t size) {
  if (at < pack_header_size) return false;
  std::vector<std::uint8_t> rec(pack_header_size + size);
  if (!pread_all(fd, rec.data(), rec.size(), at - pack_header_size)) return false;
  hash256 named;
  std::uint32_t n = 0;
  if (!parse_header(rec.data(), named, n) || n != size || named != h) return false;
  return get_le(rec.data() + 40, 8) == record_crc(rec.data(), rec.data() + pack_header_size, size);
}

namespace {

// The first byte at or after `at` that is not zero, or `length`: past a
// hole, which a reservation leaves when its fetch failed or the mount was
// killed before the record was written (the file is sparse there).
std::uint64_t past_zeros(int fd, std::uint64_t at, std::uint64_t length) {
  const off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
  if (data < 0) return length;  // nothing but a hole up to the end
  at = std::max<std::uint64_t>(at, static_cast<std::uint64_t>(data));
  std::vector<std::uint8_t> buf(1 << 16);
  while (at < length) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - at));
    const ssize_t r = ::pread(fd, buf.data(), want, static_cast<off_t>(at));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return length;
    const auto n = static_cast<std::size_t>(r);
    for (std::size_t i = 0; i < n; ++i)
      if (buf[i] != 0) return at + i;
    at += n;
  }
  return length;
}

}  // namespace

std::vector<pack_entry> scan_pack(int fd, std::uint64_t length) {
  std::vector<pack_entry> found;
  std::uint64_t at = 0;
  std::array<std::uint8_t, pack_header_size> hd{};
  static constexpr std::array<std::uint8_t, pack_header_size> zeros{};
  while (at + pack_header_size <= length && pread_all(fd, hd.data(), hd.size(), at)) {
    if (hd == zeros) {
      at = past_zeros(fd, at, length);
      continue;
    }
    pack_entry e;
    if (!parse_header(hd.data(), e.h, e.size) || at + pack_header_size + e.size > length) break;
    e.at = at + pack_header_size;
    found.push_back(e);
    at = e.at + e.size;
  }
  return found;
}

std::optional<std::vector<pack_entry>> read_pack_index(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::vector<std::uint8_t> all;
  std::uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (r == 0) break;
    all.insert(all.end(), buf, buf + r);
  }
  ::close(fd);
  if (all.size() < 16 || std::memcmp(all.data(), index_magic, 4) != 0) return std::nullopt;
  const std::uint64_t count = get_le(all.data() + 4, 4);
  if (all.size() != 8 + count * index_entry + 8) return std::nullopt;
  if (get_le(all.data() + all.size() - 8, 8) != crc64_ecma_refl(0, all.data(), all.size() - 8)) return std::nullopt;
  std::vector<pack_entry> entries(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint8_t* p = all.data() + 8 + i * index_entry;
    std::memcpy(entries[i].h.v.data(), p, 32);
    entries[i].at = get_le(p + 32, 8);
    entries[i].size = static_cast<std::uint32_t>(get_le(p + 40, 4));
  }
  return entries;
}

bool write_pack_index(const std::string& path, const std::vector<pack_entry>& entries) {
  std::vector<std::uint8_t> all(8 + entries.size() * index_entry + 8);
  std::memcpy(all.data(), index_magic, 4);
  put_le(all.data() + 4, entries.size(), 4);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::uint8_t* p = all.data() + 8 + i * index_entry;
    std::memcpy(p, entries[i].h.v.data(), 32);
    put_le(p + 32, entries[i].at, 8);
    put_le(p + 40, entries[i].size, 4);
  }
  put_le(all.data() + all.size() - 8, crc64_ecma_refl(0, all.data(), all.size() - 8), 8);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::size_t done = 0;
  while (done < all.size()) {
    const ssize_t w = ::write(fd, all.data() + done, all.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += static_cast<std::size_t>(w);
  }
  const bool ok = ::close(fd) == 0 && done == all.size() && ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) ::unlink(tmp.c_str());
  return ok;
}

}  // namespace stratum
