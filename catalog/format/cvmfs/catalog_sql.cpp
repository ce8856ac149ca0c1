// Writes stratum's catalog as a CernVM-FS catalog database (catalog_sql.hpp).
// Thread: any.
#include "catalog/format/cvmfs/catalog_sql.hpp"

#include "async/error.hpp"
#include "catalog/format/cvmfs/catalog_schema.hpp"
#include "catalog/format/cvmfs/sqlite_db.hpp"
#include "catalog/format/cvmfs/xattr_blob.hpp"

#include <limits>
#include <map>
#include <unordered_map>

namespace stratum::cvmfs {

counters& counters::operator+=(const counters& o) {
  for (auto [name, field] : schema::counter_fields()) this->*field += o.*field;
  return *this;
}

catalog_stats schema::native_stats(const catalog_counters& c) {
  auto sum = [&](std::int64_t counters::*f) { return static_cast<std::uint64_t>(c.self.*f + c.subtree.*f); };
  catalog_stats s;
  s.regular = sum(&counters::regular);
  // Each mount point is also its nested catalog's root, so counted twice:
  // those of this catalog (self.nested) and those deeper down, whose pairs
  // are in subtree (subtree.nested). Subtracting self.nested alone counted
  // a directory too many per catalog nested two or more levels below, and
  // the publish of such a tree failed (found by list-catalogs' e2e test).
  s.directories = sum(&counters::dir) - sum(&counters::nested);
  s.symlinks = sum(&counters::symlink);
  s.specials = sum(&counters::special);
  s.bytes = sum(&counters::file_size);
  s.chunked = sum(&counters::chunked);
  s.chunks = sum(&counters::chunks);
  s.nested = sum(&counters::nested);
  return s;
}

namespace {

bool is_mountpoint(const catalog& c, std::size_t i) { return i != 0 && c.entries[i].nested_root; }

std::int64_t as_int64(std::uint64_t v, const std::string& what) {
  if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    fail(errc::usage, what + " does not fit a CernVM-FS catalog's signed 64-bit integers");
  return static_cast<std::int64_t>(v);
}

// The 20 bytes of a CernVM-FS digest, which stratum carries left-aligned in
// a hash256.
byte_view digest_bytes(const hash256& h, const std::string& path) {
  for (std::size_t i = digest_size; i < h.v.size(); ++i)
    if (h.v[i] != 0) fail(errc::usage, "the hash of '" + path + "' is not a 20-byte CernVM-FS digest");
  return byte_view(h.v).first(digest_size);
}

// Direct subdirectories of every directory of `c` (its path -> count); a
// mount point's come from its nested catalog's summary.
std::unordered_map<std::string_view, std::uint64_t> subdirs(const catalog& c, const catalog_params& p) {
  std::unordered_map<std::string_view, std::uint64_t> n;
  for (std::size_t i = 1; i < c.entries.size(); ++i)
    if (c.entries[i].type == entry_type::directory) ++n[c.entries[i].parent()];
  for (std::size_t k = 0; k < c.nested.size(); ++k) n[c.nested[k].path] = p.nested[k].root_subdirs;
  return n;
}

void check_shape(const catalog& c, const catalog_params& p) {
  if (c.entries.empty() || c.entries[0].path != c.root_path || c.entries[0].type != entry_type::directory)
    fail(errc::usage, "catalog at '" + c.root_path + "': the first entry must be its root directory");
  if (p.nested.size() != c.nested.size())
    fail(errc::usage, "catalog at '" + c.root_path + "': " + std::to_string(c.nested.size()) +
                          " nested catalogs but " + std::to_string(p.nested.size()) + " nested summaries");
  if (p.ttl && !c.root_path.empty())
    fail(errc::usage, "catalog at '" + c.root_path + "': only the root catalog has a TTL");
  std::size_t mounts = 0;
  for (std::size_t i = 0; i < c.entries.size(); ++i) mounts += is_mountpoint(c, i) ? 1 : 0;
  if (mounts != c.nested.size())
    fail(errc::usage, "catalog at '" + c.root_path + "': mount points and nested catalogs differ in number");
  for (const auto& n : c.nested)
    if (!n.size) fail(errc::usage, "nested catalog at '" + n.path + "': its size is needed (nested_catalogs.size)");
}

}  // namespace

catalog_counters count_catalog(const catalog& c, const catalog_params& p) {
  catalog_counters r;
  auto& s = r.self;
  auto add = [&](std::int64_t& to, std::uint64_t v, const entry& e) {
    if (__builtin_add_overflow(to, as_int64(v, "the size of '" + e.path + "'"), &to))
      fail(errc::usage, "catalog at '" + c.root_path + "': file sizes add up beyond 2^63 bytes");
  };
  for (const auto& e : c.entries) {
    switch (e.type) {
      case entry_type::regular:
        ++s.regular;
        add(s.file_size, e.size, e);
        if (!e.chunks.empty()) {
          ++s.chunked;
          add(s.chunked_size, e.size, e);
          s.chunks += static_cast<std::int64_t>(e.chunks.size());
        }
        break;
      case entry_type::directory: ++s.dir; break;
      case entry_type::symlink: ++s.symlink; break;
      default: ++s.special; break;
    }
    if (!e.xattrs.empty()) ++s.xattr;
  }
  s.nested = static_cast<std::int64_t>(c.nested.size());
  for (const auto& n : p.nested) r.subtree += n.total;
  return r;
}

nested_summary summarize(const catalog& c, const catalog_params& p) {
  check_shape(c, p);
  auto r = count_catalog(c, p);
  nested_summary out{r.self, subdirs(c, p)[c.root_path]};
  out.total += r.subtree;
  return out;
}

bytes encode_catalog(const catalog& c, const catalog_params& p) {
  check_shape(c, p);
  const auto counted = count_catalog(c, p);
  if (schema::native_stats(counted) != c.stats)
    fail(errc::usage, "catalog at '" + c.root_path +
                          "': its stats disagree with its entries and the summaries of its nested catalogs");
  const auto dirs = subdirs(c, p);

  // Hardlink groups per (stratum group, directory): two or more members in
  // one directory stay a group, numbered from 1 in pre-order as CernVM-FS
  // numbers them per catalog; anything else is a plain file.
  std::map<std::pair<std::uint32_t, std::string_view>, std::uint32_t> members, group_of;
  for (const auto& e : c.entries)
    if (e.hardlink_group != 0 && e.type != entry_type::directory) ++members[{e.hardlink_group, e.parent()}];
  std::uint32_t next_group = 1;
  for (const auto& e : c.entries) {
    if (e.hardlink_group == 0 || e.type == entry_type::directory) continue;
    std::pair<std::uint32_t, std::string_view> k{e.hardlink_group, e.parent()};
    if (members[k] >= 2 && group_of.emplace(k, next_group).second) ++next_group;
  }

  const std::string what = "CernVM-FS catalog at '" + c.root_path + "'";
  auto db = sqlite_db::create(what);
  db.exec("BEGIN");
  for (auto sql : schema::create_tables) db.exec(std::string(sql));

  auto prop = db.prepare("INSERT INTO properties (key, value) VALUES (?, ?)");
  auto set = [&](std::string_view k, const std::string& v) { prop.bind_text(1, k).bind_text(2, v).run(); };
  set("schema", std::string(schema::version));
  set("schema_revision", std::to_string(schema::revision));
  if (!c.root_path.empty()) set("root_prefix", schema::absolute(c.root_path));
  set("last_modified", std::to_string(p.last_modified));
  set("revision", std::to_string(p.revision));
  set("previous_revision", to_text(p.previous.value_or(hash256{}), p.alg));
  if (p.ttl) set("TTL", std::to_string(*p.ttl));

  auto row = db.prepare(
      "INSERT INTO catalog (md5path_1, md5path_2, parent_1, parent_2, hardlinks, hash, size, mode, mtime, mtimens,"
      " flags, name, symlink, uid, gid, xattr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  auto chunk = db.prepare("INSERT INTO chunks (md5path_1, md5path_2, offset, size, hash) VALUES (?, ?, ?, ?, ?)");
  const std::uint32_t compression = (p.compressed ? 0u : 1u) << schema::compression_shift;
  for (std::size_t i = 0; i < c.entries.size(); ++i) {
    const auto& e = c.entries[i];
    const auto key = md5_path(schema::absolute(e.path));
    // The repository's root has no parent: a zeroed key, not md5 of anything.
    const auto parent = e.path.empty() ? path_hash{} : md5_path(schema::absolute(e.parent()));
    std::uint32_t flags = 0;
    std::uint64_t links = 1, group = 0, size = e.size;
    std::optional<hash256> hash;
    std::string_view symlink;
    switch (e.type) {
      case entry_type::directory: {
        flags = schema::flag_dir;
        if (i == 0 && !c.root_path.empty()) flags |= schema::flag_nested_root;
        if (is_mountpoint(c, i)) flags |= schema::flag_mountpoint;
        auto d = dirs.find(e.path);
        links = (d == dirs.end() ? 0 : d->second) + 2;
        break;
      }
      case entry_type::regular:
        flags = schema::flag_file | compression;
        if (!e.chunks.empty()) {
          flags |= schema::flag_chunked | schema::hash_bits(p.alg);
        } else {
          hash = e.object ? e.object : e.size == 0 ? p.empty_object : std::nullopt;
          if (!hash)
            fail(errc::usage, e.size == 0 ? "'" + e.path + "' is empty: CernVM-FS needs the empty object's hash"
                                          : "'" + e.path + "' has no content hash");
          flags |= schema::hash_bits(p.alg);
        }
        break;
      case entry_type::symlink:
        flags = schema::flag_file | schema::flag_link;
        symlink = e.link_target;
        size = e.link_target.size();
        break;
      case entry_type::char_device:
      case entry_type::block_device:
        // CernVM-FS keeps a device's number (glibc's dev_t, as stat gives
        // it and stratum stores it) in the size column; the client reads
        // st_rdev from there.
        flags = schema::flag_file | schema::flag_special;
        size = e.rdev;
        break;
      default:
        flags = schema::flag_file | schema::flag_special;
        size = 0;
        break;
    }
    if (e.type != entry_type::directory)
      if (auto g = group_of.find({e.hardlink_group, e.parent()}); e.hardlink_group != 0 && g != group_of.end()) {
        group = g->second;
        links = members[{e.hardlink_group, e.parent()}];
      }
    row.bind(1, key.first).bind(2, key.second).bind(3, parent.first).bind(4, parent.second);
    row.bind(5, static_cast<std::int64_t>(group << 32 | links));
    if (hash)
      row.bind_blob(6, digest_bytes(*hash, e.path));
    else
      row.bind_null(6);
    row.bind(7, as_int64(size, "the size of '" + e.path + "'"));
    row.bind(8, st_mode_type(e.type) | (e.mode & 07777));
    row.bind(9, e.mtime_sec);
    if (p.mtime_ns)
      row.bind(10, e.mtime_nsec);
    else
      row.bind_null(10);
    row.bind(11, flags);
    row.bind_text(12, e.name()).bind_text(13, symlink);
    row.bind(14, e.uid).bind(15, e.gid);
    if (e.xattrs.empty())
      row.bind_null(16);
    else
      row.bind_blob(16, pack_xattrs(e.xattrs, e.path));
    row.run();
    std::uint64_t offset = 0;
    for (const auto& ch : e.chunks) {
      chunk.bind(1, key.first).bind(2, key.second);
      chunk.bind(3, as_int64(offset, "a chunk offset of '" + e.path + "'"));
      chunk.bind(4, as_int64(ch.size, "a chunk size of '" + e.path + "'"));
      chunk.bind_blob(5, digest_bytes(ch.hash, e.path)).run();
      offset += ch.size;
    }
    if (!e.chunks.empty() && offset != e.size)
      fail(errc::usage, "the chunks of '" + e.path + "' do not add up to its size");
  }

  auto nested = db.prepare("INSERT INTO nested_catalogs (path, sha1, size) VALUES (?, ?, ?)");
  for (const auto& n : c.nested) {
    digest_bytes(n.hash, n.path);
    nested.bind_text(1, schema::absolute(n.path)).bind_text(2, to_text(n.hash, p.alg));
    nested.bind(3, as_int64(*n.size, "the size of nested catalog '" + n.path + "'")).run();
  }

  auto stat = db.prepare("INSERT INTO statistics (counter, value) VALUES (?, ?)");
  for (auto [prefix, half] : {std::pair{"self_", &counted.self}, {"subtree_", &counted.subtree}})
    for (auto [name, field] : schema::counter_fields())
      stat.bind_text(1, prefix + std::string(name)).bind(2, half->*field).run();
  db.exec("COMMIT");
  return db.serialize();
}

}  // namespace stratum::cvmfs
