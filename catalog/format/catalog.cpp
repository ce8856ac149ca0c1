// Catalog encoding and validation (catalog.hpp). Thread: any (pure functions).
#include "catalog/format/catalog.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <unordered_set>

namespace stratum {
namespace {
constexpr std::string_view catalog_magic = "STRATUM-CATALOG\n";
// Version 2 added the size of each nested catalog to its reference;
// version 1 catalogs (older repositories) are still read.
constexpr std::uint64_t catalog_version = 2;
// Bits of entry flags.
constexpr std::uint8_t flag_nested_root = 1;
}  // namespace

std::optional<entry_type> entry_type_of(std::uint32_t m) {
  if (S_ISREG(m)) return entry_type::regular;
  if (S_ISDIR(m)) return entry_type::directory;
  if (S_ISLNK(m)) return entry_type::symlink;
  if (S_ISFIFO(m)) return entry_type::fifo;
  if (S_ISCHR(m)) return entry_type::char_device;
  if (S_ISBLK(m)) return entry_type::block_device;
  if (S_ISSOCK(m)) return entry_type::socket;
  return std::nullopt;
}

std::uint32_t st_mode_type(entry_type t) {
  switch (t) {
    case entry_type::regular: return S_IFREG;
    case entry_type::directory: return S_IFDIR;
    case entry_type::symlink: return S_IFLNK;
    case entry_type::fifo: return S_IFIFO;
    case entry_type::char_device: return S_IFCHR;
    case entry_type::block_device: return S_IFBLK;
    case entry_type::socket: return S_IFSOCK;
  }
  return 0;
}

std::string_view entry::name() const {
  auto s = path.rfind('/');
  return s == std::string::npos ? std::string_view(path) : std::string_view(path).substr(s + 1);
}

std::string_view entry::parent() const {
  auto s = path.rfind('/');
  return s == std::string::npos ? std::string_view() : std::string_view(path).substr(0, s);
}

catalog_stats& catalog_stats::operator+=(const catalog_stats& o) {
  regular += o.regular; directories += o.directories; symlinks += o.symlinks; specials += o.specials;
  bytes += o.bytes; chunked += o.chunked; chunks += o.chunks; nested += o.nested;
  return *this;
}

std::size_t catalog_weight(const catalog& c) { return c.entries.size(); }

bool path_before(std::string_view a, std::string_view b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    int x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]) + 1;
    int y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]) + 1;
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

bool valid_path(std::string_view p) {
  if (p.empty()) return true;
  for (std::size_t pos = 0; pos <= p.size();) {
    auto next = p.find('/', pos);
    if (next == std::string_view::npos) next = p.size();
    auto part = p.substr(pos, next - pos);
    if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string_view::npos) return false;
    pos = next + 1;
  }
  return true;
}

bool path_within(std::string_view p, std::string_view dir) {
  if (dir.empty()) return true;
  return p.size() >= dir.size() && p.compare(0, dir.size(), dir) == 0 && (p.size() == dir.size() || p[dir.size()] == '/');
}

std::string object_key(const hash256& h, object_kind k) {
  std::string hex = h.hex();
  std::string key = "data/" + hex.substr(0, 2) + "/" + hex;
  if (k != object_kind::file) key.push_back(static_cast<char>(k));
  return key;
}

bytes encode_catalog(const catalog& c) {
  encoder e;
  const bool sized = std::all_of(c.nested.begin(), c.nested.end(), [](const nested_ref& n) { return n.size.has_value(); });
  e.raw(as_bytes(std::string(catalog_magic)));
  e.varint(sized ? catalog_version : 1);
  e.str(c.root_path);
  e.varint(c.entries.size());
  for (const auto& x : c.entries) {
    e.str(x.path);
    e.u8(static_cast<std::uint8_t>(x.type));
    e.u8(x.nested_root ? flag_nested_root : 0);
    e.varint(x.mode);
    e.varint(x.uid);
    e.varint(x.gid);
    e.varint(x.size);
    e.svarint(x.mtime_sec);
    e.varint(x.mtime_nsec);
    e.varint(x.hardlink_group);
    e.varint(x.xattrs.size());
    for (const auto& [k, v] : x.xattrs) {
      e.str(k);
      e.str(v);
    }
    switch (x.type) {
      case entry_type::regular:
        if (x.size == 0) break;
        e.varint(x.chunks.size());
        if (x.chunks.empty()) e.hash(*x.object);
        for (const auto& ch : x.chunks) {
          e.varint(ch.size);
          e.hash(ch.hash);
        }
        break;
      case entry_type::symlink: e.str(x.link_target); break;
      case entry_type::char_device:
      case entry_type::block_device: e.varint(x.rdev); break;
      default: break;
    }
  }
  e.varint(c.nested.size());
  for (const auto& n : c.nested) {
    e.str(n.path);
    e.hash(n.hash);
    if (sized) e.varint(*n.size);
  }
  const auto& s = c.stats;
  for (auto v : {s.regular, s.directories, s.symlinks, s.specials, s.bytes, s.chunked, s.chunks, s.nested}) e.varint(v);
  return e.take();
}

catalog decode_catalog(byte_view data, const std::string& what) {
  decoder d(data, what);
  d.expect(catalog_magic);
  const auto version = d.varint();
  if (version != 1 && version != catalog_version) d.bad("catalog format version " + std::to_string(version) + " is not supported");
  catalog c;
  c.root_path = d.str();
  if (!valid_path(c.root_path)) d.bad("invalid root path");
  auto n = d.varint();
  if (n == 0) d.bad("no root entry");
  // Indices of the directories on the path to the current entry.
  std::vector<std::size_t> dirs;
  c.entries.reserve(std::min<std::uint64_t>(n, data.size()));
  for (std::uint64_t i = 0; i < n; ++i) {
    entry x;
    x.path = d.str();
    auto t = d.u8();
    if (t < 1 || t > 7) d.bad("unknown entry type " + std::to_string(t));
    x.type = static_cast<entry_type>(t);
    x.nested_root = d.u8() & flag_nested_root;
    // Every field is range-checked as the varint it was read as: a cast
    // first would take 2^32 + 0644 for mode 0644 and 2^32 for uid 0.
    auto bounded = [&](std::uint64_t max, const char* field) {
      auto v = d.varint();
      if (v > max) d.bad(std::string(field) + " of '" + x.path + "' is out of range (" + std::to_string(v) + ")");
      return static_cast<std::uint32_t>(v);
    };
    constexpr std::uint64_t u32_max = 0xffffffff;
    x.mode = bounded(07777, "mode");
    x.uid = bounded(u32_max, "uid");
    x.gid = bounded(u32_max, "gid");
    x.size = d.varint();
    x.mtime_sec = d.svarint();
    x.mtime_nsec = bounded(999999999, "mtime nanoseconds");
    x.hardlink_group = bounded(u32_max, "hardlink group");
    auto nx = d.varint();
    for (std::uint64_t k = 0; k < nx; ++k) {
      auto name = d.str();
      x.xattrs.emplace_back(std::move(name), d.str());
    }
    switch (x.type) {
      case entry_type::regular: {
        if (x.size == 0) break;
        auto nc = d.varint();
        if (nc == 0) {
          x.object = d.hash();
          break;
        }
        std::uint64_t sum = 0;
        for (std::uint64_t k = 0; k < nc; ++k) {
          chunk_ref ch;
          ch.size = d.varint();
          ch.hash = d.hash();
          if (ch.size == 0) d.bad("empty chunk in " + x.path);
          // Checked before the sum, which could otherwise wrap around to the
          // size (a reader would then allocate a chunk of ~2^64 bytes).
          if (ch.size > x.size - sum) d.bad("chunks of '" + x.path + "' add up to more than its size");
          sum += ch.size;
          x.chunks.push_back(ch);
        }
        if (sum != x.size) d.bad("chunks of '" + x.path + "' do not add up to its size");
        break;
      }
      case entry_type::symlink: x.link_target = d.str(); break;
      case entry_type::char_device:
      case entry_type::block_device: x.rdev = d.varint(); break;
      default: break;
    }
    // A reader restores these names into a destination directory: nothing may
    // step outside it, and nothing may appear before its parent.
    if (!valid_path(x.path)) d.bad("entry name '" + x.path + "' is empty or contains '.' or '..'");
    if (x.nested_root && x.type != entry_type::directory) d.bad("'" + x.path + "' is marked as a nested catalog's mount point but is not a directory");
    if (i == 0) {
      if (x.path != c.root_path || x.type != entry_type::directory) d.bad("first entry is not the catalog's root directory");
    } else {
      if (!path_within(x.path, c.root_path) || x.path == c.root_path) d.bad("entry '" + x.path + "' lies outside the catalog");
      if (!path_before(c.entries.back().path, x.path)) d.bad("entries out of order at '" + x.path + "'");
      auto parent = x.parent();
      // Pre-order: the parent is the nearest preceding directory that is a prefix.
      while (!dirs.empty() && !path_within(x.path, c.entries[dirs.back()].path)) dirs.pop_back();
      if (dirs.empty() || c.entries[dirs.back()].path != parent) d.bad("entry '" + x.path + "' has no parent directory in the catalog");
      if (dirs.back() != 0 && c.entries[dirs.back()].nested_root) d.bad("entry '" + x.path + "' lies below a nested catalog's mount point");
    }
    c.entries.push_back(std::move(x));
    if (c.entries.back().type == entry_type::directory) dirs.push_back(c.entries.size() - 1);
  }
  auto nn = d.varint();
  for (std::uint64_t k = 0; k < nn; ++k) {
    nested_ref r;
    r.path = d.str();
    r.hash = d.hash();
    // Never 0: a catalog holds at least its header and root entry.
    if (version >= 2 && (r.size = d.varint()) == 0) d.bad("nested catalog at '" + r.path + "' has size 0");
    if (!c.nested.empty() && !path_before(c.nested.back().path, r.path)) d.bad("nested catalogs out of order");
    c.nested.push_back(std::move(r));
  }
  auto& s = c.stats;
  for (auto* v : {&s.regular, &s.directories, &s.symlinks, &s.specials, &s.bytes, &s.chunked, &s.chunks, &s.nested}) *v = d.varint();
  if (!d.done()) d.bad("trailing bytes");
  // Every nested reference must name a directory flagged as a nested root.
  std::unordered_set<std::string_view> mounts;
  for (const auto& x : c.entries)
    if (x.nested_root && x.type == entry_type::directory && x.path != c.root_path) mounts.insert(x.path);
  for (const auto& r : c.nested)
    if (!mounts.count(r.path)) d.bad("nested catalog at '" + r.path + "' has no mount point entry");
  if (mounts.size() != c.nested.size()) d.bad("a nested mount point has no catalog reference");
  return c;
}

}  // namespace stratum
