// The journal's record schema (record.hpp). Thread: any (pure functions).
#include "catalog/publish/record.hpp"

#include <algorithm>

#include <sys/stat.h>

namespace stratum::pj {
namespace {

constexpr std::uint8_t record_version = 1;

std::string tagged(char kind, std::string_view rest) {
  std::string k;
  k.reserve(1 + rest.size());
  k.push_back(kind);
  k.append(rest);
  return k;
}

std::string as_string(const bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }
byte_view as_view(std::string_view s) { return byte_view(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

std::string what(std::string_view key) {
  // For messages: the kind letter and the path, NULs shown as '/'.
  std::string w = "journal record '";
  for (char c : key) w.push_back(c == '\0' ? '/' : c);
  return w + "'";
}

std::string object_suffix(const hash256& h, object_kind k) {
  std::string s(reinterpret_cast<const char*>(h.v.data()), h.v.size());
  s.push_back(static_cast<char>(k));
  return s;
}

}  // namespace

std::string path_key(std::string_view path) {
  std::string k(path);
  std::replace(k.begin(), k.end(), '/', '\0');
  return k;
}

std::string key_path(std::string_view key) {
  std::string p(key);
  std::replace(p.begin(), p.end(), '\0', '/');
  return p;
}

std::string meta_key(std::string_view name) { return tagged('m', name); }
std::string entry_key(std::string_view path) { return tagged('e', path_key(path)); }

std::string child_prefix(std::string_view path) {
  std::string k = entry_key(path);
  if (!path.empty()) k.push_back('\0');
  return k;
}

std::string children_begin(std::string_view path) {
  // The root's own key is "e"; everything after it (names are never empty)
  // is below it. Any other directory's contents are "e<path key>\0...".
  std::string k = entry_key(path);
  k.push_back('\0');
  return k;
}

std::string children_end(std::string_view path) {
  if (path.empty()) return "f";
  std::string k = entry_key(path);
  k.push_back('\x01');
  return k;
}

std::string catalog_key(std::string_view path) { return tagged('c', path_key(path)); }
std::string layout_key(std::string_view path) { return tagged('l', path_key(path)); }
std::string problem_key(std::string_view path) { return tagged('p', path_key(path)); }
std::string object_key(const hash256& h, object_kind k) { return tagged('o', object_suffix(h, k)); }
std::string prefix_begin(char kind) { return std::string(1, kind); }
std::string prefix_end(char kind) { return std::string(1, static_cast<char>(kind + 1)); }

bool entry_record::same_source(const entry_record& o) const {
  if (catalog_only || o.catalog_only) return same_as_catalog(o);
  const auto& a = st;
  const auto& b = o.st;
  return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.rdev == b.rdev && a.mode == b.mode && a.uid == b.uid &&
         a.gid == b.gid && a.nlink == b.nlink && a.mtime_sec == b.mtime_sec && a.mtime_nsec == b.mtime_nsec &&
         a.ctime_sec == b.ctime_sec && a.ctime_nsec == b.ctime_nsec && xattrs == o.xattrs && link_target == o.link_target;
}

bool entry_record::same_as_catalog(const entry_record& o) const {
  if (mtime_unsure || o.mtime_unsure) return false;
  const auto& a = st;
  const auto& b = o.st;
  // A directory's size is its file system's business (4096 on ext4; 0 in a
  // catalog), a symlink's is its target's length, compared as the target.
  if ((a.mode & S_IFMT) == S_IFREG && a.size != b.size) return false;
  const bool device = S_ISCHR(a.mode) || S_ISBLK(a.mode);
  return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.mtime_sec == b.mtime_sec &&
         a.mtime_nsec == b.mtime_nsec && (!device || a.rdev == b.rdev) && xattrs == o.xattrs &&
         link_target == o.link_target;
}

std::string encode_entry(const entry_record& r) {
  encoder e;
  e.u8(record_version);
  e.u8(static_cast<std::uint8_t>(r.state));
  const auto& s = r.st;
  for (auto v : {s.dev, s.ino, s.size, s.rdev}) e.varint(v);
  for (auto v : {s.mode, s.uid, s.gid, s.nlink}) e.varint(v);
  e.svarint(s.mtime_sec);
  e.varint(s.mtime_nsec);
  e.svarint(s.ctime_sec);
  e.varint(s.ctime_nsec);
  e.varint(r.xattrs.size());
  for (auto& [k, v] : r.xattrs) {
    e.str(k);
    e.str(v);
  }
  e.str(r.link_target);
  e.varint(r.listed_run);
  e.u8(r.object ? 1 : 0);
  if (r.object) e.hash(*r.object);
  e.varint(r.chunks.size());
  for (auto& c : r.chunks) {
    e.varint(c.size);
    e.hash(c.hash);
  }
  // The flags came later, written only when set: a record without them is
  // one of an older version's, or a strong one.
  const std::uint8_t flags = (r.catalog_only ? 1 : 0) | (r.mtime_unsure ? 2 : 0);
  if (flags) e.u8(flags);
  return as_string(e.take());
}

entry_record decode_entry(std::string_view v, std::string_view key) {
  decoder d(as_view(v), what(key));
  if (d.u8() != record_version) d.bad("unknown record version");
  entry_record r;
  auto state = d.u8();
  if (state > 3) d.bad("unknown file state");
  r.state = static_cast<file_state>(state);
  auto& s = r.st;
  for (auto* p : {&s.dev, &s.ino, &s.size, &s.rdev}) *p = d.varint();
  for (auto* p : {&s.mode, &s.uid, &s.gid, &s.nlink}) *p = static_cast<std::uint32_t>(d.varint());
  s.mtime_sec = d.svarint();
  s.mtime_nsec = static_cast<std::uint32_t>(d.varint());
  s.ctime_sec = d.svarint();
  s.ctime_nsec = static_cast<std::uint32_t>(d.varint());
  auto nx = d.varint();
  for (std::uint64_t i = 0; i < nx; ++i) {
    auto k = d.str();
    r.xattrs.emplace_back(std::move(k), d.str());
  }
  r.link_target = d.str();
  r.listed_run = d.varint();
  if (d.u8()) r.object = d.hash();
  auto nc = d.varint();
  for (std::uint64_t i = 0; i < nc; ++i) {
    chunk_ref c;
    c.size = d.varint();
    c.hash = d.hash();
    r.chunks.push_back(c);
  }
  if (!d.done()) {
    auto flags = d.u8();
    if (flags == 0 || flags > 3) d.bad("unknown entry flags");
    r.catalog_only = flags & 1;
    r.mtime_unsure = flags & 2;
  }
  if (!d.done()) d.bad("trailing bytes");
  return r;
}

std::string encode_catalog_record(const catalog_record& r) {
  encoder e;
  e.u8(record_version);
  e.varint(r.run);
  e.hash(r.hash);
  const auto& s = r.stats;
  for (auto v : {s.regular, s.directories, s.symlinks, s.specials, s.bytes, s.chunked, s.chunks, s.nested}) e.varint(v);
  if (r.size) e.varint(r.size);
  if (r.size && (!r.note.empty() || r.tree)) e.str(r.note);
  if (r.size && r.tree) e.hash(*r.tree);
  return as_string(e.take());
}

catalog_record decode_catalog_record(std::string_view v, std::string_view key) {
  decoder d(as_view(v), what(key));
  if (d.u8() != record_version) d.bad("unknown record version");
  catalog_record r;
  r.run = d.varint();
  r.hash = d.hash();
  auto& s = r.stats;
  for (auto* p : {&s.regular, &s.directories, &s.symlinks, &s.specials, &s.bytes, &s.chunked, &s.chunks, &s.nested}) *p = d.varint();
  // The size came later: an older version's record ends before it.
  if (!d.done() && (r.size = d.varint()) == 0) d.bad("catalog size 0");
  if (!d.done()) r.note = d.str();
  if (!d.done()) r.tree = d.hash();
  if (!d.done()) d.bad("trailing bytes");
  return r;
}

std::string_view reason_name(catalog_reason r) {
  switch (r) {
    case catalog_reason::root: return "root";
    case catalog_reason::marker: return "marker";
    case catalog_reason::dirtab: return "dirtab";
    case catalog_reason::automatic: return "automatic";
  }
  return "?";
}

std::string encode_layout_record(const layout_record& r) {
  encoder e;
  e.u8(record_version);
  e.u8(static_cast<std::uint8_t>(r.reason));
  e.varint(r.run);
  return as_string(e.take());
}

layout_record decode_layout_record(std::string_view v, std::string_view key) {
  decoder d(as_view(v), what(key));
  if (d.u8() != record_version) d.bad("unknown record version");
  layout_record r;
  auto reason = d.u8();
  if (reason > static_cast<std::uint8_t>(catalog_reason::automatic)) d.bad("unknown catalog reason");
  r.reason = static_cast<catalog_reason>(reason);
  r.run = d.varint();
  if (!d.done()) d.bad("trailing bytes");
  return r;
}

}  // namespace stratum::pj
