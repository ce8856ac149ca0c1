// Reads a CernVM-FS catalog database into stratum's catalog (catalog_sql.hpp):
// rows by rowid, the tree rebuilt from parent keys and names (every path's
// MD5 must match its row's key), then entries, chunks, nested references and
// statistics checked and converted. Thread: any.
#include "async/error.hpp"
#include "catalog/format/cvmfs/catalog_schema.hpp"
#include "catalog/format/cvmfs/catalog_sql.hpp"
#include "catalog/format/cvmfs/sqlite_db.hpp"
#include "catalog/format/cvmfs/xattr_blob.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <unordered_map>

namespace stratum::cvmfs {
namespace {

// Linux's PATH_MAX: no published file has a longer path. Rebuilt paths are
// not stored in the file, so they are also capped in total (read_catalog).
constexpr std::size_t max_path = 4096;

struct row {
  path_hash key, parent;
  std::int64_t hardlinks = 0, size = 0, mode = 0, mtime = 0, mtimens = 0, flags = 0, uid = 0, gid = 0;
  bool has_hash = false, has_mtimens = false, has_xattr = false;
  bytes hash, xattr;
  std::string name, symlink;
};

struct reader {
  const sqlite_db& db;
  algorithm alg;

  [[noreturn]] void bad(const std::string& why) const { db.bad(why); }

  std::int64_t parse_int(const std::string& key, const std::string& v) const {
    std::int64_t x = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty())
      bad("property '" + key + "' is not an integer: '" + v.substr(0, 40) + "'");
    return x;
  }

  hash256 digest_of(const bytes& b, const std::string& path) const {
    if (b.size() != digest_size) bad("'" + path + "': a content hash of " + std::to_string(b.size()) + " bytes");
    hash256 h;
    std::copy(b.begin(), b.end(), h.v.begin());
    return h;
  }

  void check_algorithm(std::int64_t flags, const std::string& path) const {
    auto a = ((flags >> schema::hash_shift) & 7) + 1;
    if (a != static_cast<std::int64_t>(alg))
      bad("'" + path + "' is hashed with algorithm " + std::to_string(a) + ", the repository with " +
          std::string(algorithm_name(alg)));
  }

  // The columns every supported revision has (mtimens: from revision 7).
  void check_tables(unsigned revision) const {
    const std::map<std::string, std::vector<std::string>> need = {
        {"catalog", {"md5path_1", "md5path_2", "parent_1", "parent_2", "hardlinks", "hash", "size", "mode", "mtime",
                     "flags", "name", "symlink", "uid", "gid", "xattr"}},
        {"chunks", {"md5path_1", "md5path_2", "offset", "size", "hash"}},
        {"nested_catalogs", {"path", "sha1", "size"}},
        {"bind_mountpoints", {"path"}},
        {"statistics", {"counter", "value"}}};
    for (const auto& [table, cols] : need) {
      if (!db.has_table(table)) bad("no table '" + table + "'; not a CernVM-FS catalog");
      auto have = db.columns(table);
      auto want = cols;
      if (table == "catalog" && revision >= schema::mtimens_revision) want.push_back("mtimens");
      for (const auto& c : want)
        if (std::find(have.begin(), have.end(), c) == have.end()) bad("table '" + table + "' has no column '" + c + "'");
    }
  }

  std::vector<row> rows(unsigned revision) const {
    auto s = db.prepare(std::string("SELECT md5path_1, md5path_2, parent_1, parent_2, hardlinks, hash, size, mode,"
                                    " mtime, flags, name, symlink, uid, gid, xattr, ") +
                        (revision >= schema::mtimens_revision ? "mtimens" : "NULL") + " FROM catalog ORDER BY rowid");
    std::vector<row> out;
    while (s.step()) {
      row r;
      r.key = {s.integer(0), s.integer(1)};
      r.parent = {s.integer(2), s.integer(3)};
      r.hardlinks = s.integer(4);
      r.has_hash = !s.is_null(5);
      if (r.has_hash) r.hash = s.blob(5);
      r.size = s.integer(6);
      r.mode = s.integer(7);
      r.mtime = s.integer(8);
      r.flags = s.integer(9);
      r.name = s.text(10);
      r.symlink = s.text(11);
      r.uid = s.integer(12);
      r.gid = s.integer(13);
      r.has_xattr = !s.is_null(14);
      if (r.has_xattr) r.xattr = s.blob(14);
      r.has_mtimens = !s.is_null(15);
      r.mtimens = s.integer(15);
      out.push_back(std::move(r));
    }
    return out;
  }

  // One row as an entry (path set by the caller), checked: the flags must
  // say what the mode says.
  entry convert(const row& r, std::string path, bool root, bool nested_catalog, catalog_params& p) const {
    entry e;
    e.path = std::move(path);
    const std::string shown = schema::absolute(e.path);
    const auto f = r.flags;
    if (f < 0 || (f & ~static_cast<std::int64_t>(schema::known_flags)) != 0)
      bad("'" + shown + "' has unknown flags " + std::to_string(f));
    if (f & schema::flag_external) bad("'" + shown + "' is an external file, which stratum does not read");
    if (f & schema::flag_bind_mountpoint) bad("'" + shown + "' is a bind mount point, which stratum does not read");
    if (f & schema::flag_hidden) bad("'" + shown + "' is a hidden entry, which stratum does not read");
    if (r.mode < 0 || (r.mode & ~static_cast<std::int64_t>(S_IFMT | 07777)) != 0)
      bad("'" + shown + "' has an invalid mode " + std::to_string(r.mode));
    auto type = entry_type_of(static_cast<std::uint32_t>(r.mode));
    if (!type) bad("'" + shown + "' has a mode of no file type");
    e.type = *type;
    e.mode = static_cast<std::uint32_t>(r.mode & 07777);
    if (r.uid < 0 || r.uid > 0xffffffffLL || r.gid < 0 || r.gid > 0xffffffffLL)
      bad("'" + shown + "' has an owner out of range");
    e.uid = static_cast<std::uint32_t>(r.uid);
    e.gid = static_cast<std::uint32_t>(r.gid);
    e.mtime_sec = r.mtime;
    if (r.has_mtimens) {
      if (r.mtimens < 0 || r.mtimens >= 1000000000) bad("'" + shown + "' has nanoseconds out of range");
      e.mtime_nsec = static_cast<std::uint32_t>(r.mtimens);
      p.mtime_ns = true;
    }
    if (r.has_xattr) e.xattrs = unpack_xattrs(r.xattr, db.what() + ": '" + shown + "'");
    const auto group = static_cast<std::uint64_t>(r.hardlinks) >> 32;
    const std::int64_t nested_flags = schema::flag_mountpoint | schema::flag_nested_root;
    auto expect = [&](bool ok) {
      if (!ok) bad("'" + shown + "': flags " + std::to_string(f) + " contradict its mode " + std::to_string(r.mode));
    };
    if (e.type == entry_type::directory) {
      expect((f & (schema::flag_file | schema::flag_chunked)) == 0 && (f & schema::flag_dir));
      const bool mount = f & schema::flag_mountpoint, nested_root = f & schema::flag_nested_root;
      if (root) {
        if (mount || nested_root != nested_catalog)
          bad("'" + shown + "': the root of a " + (nested_catalog ? "nested" : "root") +
              " catalog with flags " + std::to_string(f));
      } else if (nested_root) {
        bad("'" + shown + "' is flagged as a nested catalog's root below the catalog's root");
      }
      if (group != 0) bad("directory '" + shown + "' is in a hardlink group");
      e.nested_root = mount;
      return e;
    }
    expect((f & (schema::flag_dir | nested_flags)) == 0 && (f & schema::flag_file));
    if (root) bad("the root '" + shown + "' is not a directory");
    e.hardlink_group = static_cast<std::uint32_t>(group);
    if (e.type == entry_type::symlink) {
      expect((f & (schema::flag_special | schema::flag_chunked)) == 0 && (f & schema::flag_link));
      e.link_target = r.symlink;
      e.size = e.link_target.size();
      return e;
    }
    if (e.type != entry_type::regular) {
      expect((f & (schema::flag_link | schema::flag_chunked)) == 0 && (f & schema::flag_special));
      // A device's number is in the size column (fifos and sockets: 0).
      if (e.type == entry_type::char_device || e.type == entry_type::block_device)
        e.rdev = static_cast<std::uint64_t>(r.size);
      return e;
    }
    expect((f & (schema::flag_link | schema::flag_special)) == 0);
    if (r.size < 0) bad("'" + shown + "' has a negative size");
    e.size = static_cast<std::uint64_t>(r.size);
    const auto compression = (f >> schema::compression_shift) & 7;
    if (compression > 1) bad("'" + shown + "' has unknown compression " + std::to_string(compression));
    p.compressed = compression == 0;  // the caller checks that all files agree
    if (f & schema::flag_chunked) {
      check_algorithm(f, shown);  // the chunks are filled in later
    } else if (r.has_hash) {
      check_algorithm(f, shown);
      auto h = digest_of(r.hash, shown);
      if (e.size > 0)
        e.object = h;
      else if (!p.empty_object)
        p.empty_object = h;
    } else if (e.size > 0) {
      bad("regular file '" + shown + "' has neither a hash nor chunks");
    }
    return e;
  }
};

struct key_hash {
  std::size_t operator()(const path_hash& k) const noexcept {
    return static_cast<std::size_t>(k.first) ^ static_cast<std::size_t>(k.second) * 31;
  }
};

}  // namespace

decoded_catalog read_catalog(byte_view image, const std::string& what, algorithm a) {
  auto db = sqlite_db::open_image(image, what);
  reader rd{db, a};
  decoded_catalog out;
  auto& p = out.params;
  p.alg = a;

  const auto props = db.properties();
  auto prop = [&](const std::string& k) -> const std::string* {
    auto i = props.find(k);
    return i == props.end() ? nullptr : &i->second;
  };
  auto* version = prop("schema");
  auto* revision = prop("schema_revision");
  std::int64_t rev = revision ? rd.parse_int("schema_revision", *revision) : 0;
  if (!version || *version != schema::version || rev < schema::oldest_revision || rev > schema::revision)
    rd.bad("catalog schema " + (version ? version->substr(0, 20) : std::string("(none)")) + " revision " +
           std::to_string(rev) + " is not supported (schema 2.5, revisions 5 to 7)");
  out.schema_revision = static_cast<unsigned>(rev);
  rd.check_tables(out.schema_revision);
  p.mtime_ns = false;
  p.revision = static_cast<std::uint64_t>(prop("revision") ? rd.parse_int("revision", *prop("revision")) : 0);
  p.last_modified = prop("last_modified") ? rd.parse_int("last_modified", *prop("last_modified")) : 0;
  if (auto* prev = prop("previous_revision")) {
    auto h = from_text(*prev);
    if (!h || h->second != a) rd.bad("property 'previous_revision' is not a hash of the repository's algorithm");
    if (h->first != hash256{}) p.previous = h->first;
  }
  std::string prefix = prop("root_prefix") ? *prop("root_prefix") : std::string();
  if (!prefix.empty() && (prefix[0] != '/' || !valid_path(prefix.substr(1)) || prefix.size() > max_path))
    rd.bad("property 'root_prefix' is not an absolute path: '" + prefix.substr(0, 200) + "'");
  const bool nested_catalog = !prefix.empty();
  if (auto* ttl = prop("TTL"); ttl && !nested_catalog) {
    auto t = rd.parse_int("TTL", *ttl);
    if (t < 0) rd.bad("property 'TTL' is negative");
    p.ttl = static_cast<std::uint64_t>(t);
  }
  if (db.prepare("SELECT 1 FROM bind_mountpoints LIMIT 1").step())
    rd.bad("the catalog has bind mount points, which stratum does not read");

  // The tree: children by parent key, walked from the root in pre-order.
  const auto rows = rd.rows(out.schema_revision);
  std::unordered_map<path_hash, std::size_t, key_hash> by_key;
  std::unordered_map<path_hash, std::vector<std::size_t>, key_hash> children;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!by_key.emplace(rows[i].key, i).second) rd.bad("two rows have the same path key");
    children[rows[i].parent].push_back(i);
  }
  auto root_it = by_key.find(md5_path(prefix));
  if (root_it == by_key.end()) rd.bad("no row for the catalog's root '" + prefix + "'");
  const row& root = rows[root_it->second];
  auto last_slash = prefix.rfind('/');
  const path_hash root_parent = nested_catalog ? md5_path(prefix.substr(0, last_slash)) : path_hash{};
  if (root.parent != root_parent || root.name != (nested_catalog ? prefix.substr(last_slash + 1) : ""))
    rd.bad("the root row of '" + prefix + "' has the wrong parent or name");

  auto& c = out.tree;
  c.root_path = nested_catalog ? prefix.substr(1) : std::string();
  std::vector<std::uint8_t> seen(rows.size(), 0);
  // Rebuilt paths exist only in memory: cap them in total at 16 times the
  // file (real catalogs need about 1-2 times: each row stores its name and
  // ~100 bytes besides), so a deep crafted tree cannot blow up memory.
  const std::size_t path_budget = 16 * image.size() + (1u << 20);
  std::size_t path_bytes = 0;
  std::vector<std::pair<std::size_t, std::string>> stack;
  stack.emplace_back(root_it->second, c.root_path);
  std::vector<std::size_t> order;  // row of each entry
  while (!stack.empty()) {
    auto [i, path] = std::move(stack.back());
    stack.pop_back();
    if (seen[i]++) rd.bad("the rows form a cycle at '" + schema::absolute(path) + "'");
    const bool is_root = order.empty();
    if (md5_path(schema::absolute(path)) != rows[i].key)
      rd.bad("the key of row '" + schema::absolute(path) + "' is not the MD5 of its path");
    c.entries.push_back(rd.convert(rows[i], path, is_root, nested_catalog, p));
    order.push_back(i);
    const auto& e = c.entries.back();
    auto kids = children.find(rows[i].key);
    if (kids == children.end()) continue;
    if (e.type != entry_type::directory || e.nested_root)
      rd.bad("'" + schema::absolute(path) + "' has rows below it but is " +
             (e.nested_root ? "a nested catalog's mount point" : "no directory"));
    auto list = kids->second;
    for (auto k : list) {
      const auto& n = rows[k].name;
      if (n.empty() || n == "." || n == ".." || n.find_first_of(std::string("/\0", 2)) != std::string::npos)
        rd.bad("below '" + schema::absolute(path) + "': an invalid name '" + n.substr(0, 200) + "'");
    }
    // Siblings by name bytes: stratum's pre-order (path_before).
    std::sort(list.begin(), list.end(), [&](std::size_t x, std::size_t y) { return rows[x].name > rows[y].name; });
    for (auto k : list) {
      std::string sub = path.empty() ? rows[k].name : path + "/" + rows[k].name;
      if (sub.size() > max_path) rd.bad("a path longer than " + std::to_string(max_path) + " bytes");
      if ((path_bytes += sub.size()) > path_budget) rd.bad("paths far longer than the catalog's size allows");
      stack.emplace_back(k, std::move(sub));
    }
  }
  if (order.size() != rows.size())
    rd.bad(std::to_string(rows.size() - order.size()) + " rows are not reachable from the catalog's root");

  // Regular files must agree on compression: the reader inflates every object alike.
  bool seen_file = false, compressed = true;
  std::uint64_t bytes_total = 0;
  for (std::size_t k = 0; k < c.entries.size(); ++k) {
    if (c.entries[k].type != entry_type::regular) continue;
    // At most 2^62 bytes of files (4 EiB), so the counters' sums below
    // (with subtree counters of at most 2^60) stay within 63 bits.
    if (c.entries[k].size > (std::uint64_t{1} << 62) - bytes_total) rd.bad("files of more than 4 EiB in total");
    bytes_total += c.entries[k].size;
    bool z = ((rows[order[k]].flags >> schema::compression_shift) & 7) == 0;
    if (seen_file && z != compressed) rd.bad("files of both compressed and uncompressed objects");
    seen_file = true;
    compressed = z;
  }
  p.compressed = compressed;

  // Chunks: contiguous from offset 0, adding up to the file's size.
  std::unordered_map<path_hash, std::size_t, key_hash> entry_of;
  for (std::size_t k = 0; k < order.size(); ++k) entry_of[rows[order[k]].key] = k;
  std::vector<std::uint64_t> done(c.entries.size(), 0);  // bytes of each file's chunks so far
  for (auto s = db.prepare("SELECT md5path_1, md5path_2, offset, size, hash FROM chunks"
                           " ORDER BY md5path_1, md5path_2, offset");
       s.step();) {
    auto it = entry_of.find({s.integer(0), s.integer(1)});
    if (it == entry_of.end()) rd.bad("a chunk of no entry");
    auto& e = c.entries[it->second];
    const std::string shown = schema::absolute(e.path);
    if (e.type != entry_type::regular || !(rows[order[it->second]].flags & schema::flag_chunked))
      rd.bad("chunks of '" + shown + "', which is not a chunked file");
    auto& sum = done[it->second];
    if (s.integer(2) < 0 || static_cast<std::uint64_t>(s.integer(2)) != sum)
      rd.bad("the chunks of '" + shown + "' are not contiguous from offset 0");
    // Checked against what is left before adding, so the sum cannot wrap.
    if (s.integer(3) <= 0 || static_cast<std::uint64_t>(s.integer(3)) > e.size - sum)
      rd.bad("the chunks of '" + shown + "' add up to more than its size, or one is empty");
    sum += static_cast<std::uint64_t>(s.integer(3));
    e.chunks.push_back({static_cast<std::uint64_t>(s.integer(3)), rd.digest_of(s.blob(4), shown)});
  }
  for (std::size_t k = 0; k < c.entries.size(); ++k) {
    const auto& e = c.entries[k];
    if (!(rows[order[k]].flags & schema::flag_chunked) || e.type != entry_type::regular) continue;
    if (e.chunks.empty() || done[k] != e.size)
      rd.bad("the chunks of '" + schema::absolute(e.path) + "' do not add up to its size");
  }

  // Nested catalogs: exactly one per mount point row.
  std::unordered_map<std::string_view, bool> mounts;
  for (std::size_t k = 1; k < c.entries.size(); ++k)
    if (c.entries[k].nested_root) mounts[c.entries[k].path] = false;
  for (auto s = db.prepare("SELECT path, sha1, size FROM nested_catalogs"); s.step();) {
    nested_ref n;
    auto path = s.text(0);
    if (path.size() < 2 || path[0] != '/') rd.bad("nested catalog path '" + path.substr(0, 200) + "' is not absolute");
    n.path = path.substr(1);
    auto m = mounts.find(n.path);
    if (m == mounts.end() || m->second)
      rd.bad("nested catalog '" + path.substr(0, 200) + "' has no mount point row, or is listed twice");
    m->second = true;
    auto h = from_text(s.text(1));
    if (!h || h->second != a) rd.bad("nested catalog '" + path + "': its hash is not one of the repository's algorithm");
    n.hash = h->first;
    if (!s.is_null(2)) {
      if (!s.is_integer(2) || s.integer(2) <= 0) rd.bad("nested catalog '" + path + "' has an invalid size");
      n.size = static_cast<std::uint64_t>(s.integer(2));
    }
    c.nested.push_back(std::move(n));
  }
  for (const auto& [path, found] : mounts)
    if (!found) rd.bad("mount point '/" + std::string(path) + "' has no nested catalog");
  std::sort(c.nested.begin(), c.nested.end(), [](const nested_ref& x, const nested_ref& y) { return path_before(x.path, y.path); });

  // Statistics: self recounted from the rows, subtree as stored (the sums
  // of nested catalogs that are not here to count).
  std::map<std::string, std::int64_t> stored;
  for (auto s = db.prepare("SELECT counter, value FROM statistics"); s.step();) {
    if (!s.is_integer(1) || s.integer(1) < 0) rd.bad("statistics counter '" + s.text(0).substr(0, 40) + "' is not a count");
    stored[s.text(0)] = s.integer(1);
  }
  catalog_params counting;
  out.counters = count_catalog(c, counting);
  for (auto [name, field] : schema::counter_fields()) {
    auto it = stored.find("subtree_" + std::string(name));
    if (it == stored.end()) rd.bad("no statistics counter 'subtree_" + std::string(name) + "'");
    // Sums of subtree and self stay far below 2^63 in any real catalog;
    // capping each at 2^60 keeps the additions below from overflowing.
    if (it->second > (std::int64_t{1} << 60)) rd.bad("statistics counter 'subtree_" + std::string(name) + "' is too large");
    out.counters.subtree.*field = it->second;
  }
  if (out.counters.subtree.nested < 0) rd.bad("negative nested count");
  c.stats = schema::native_stats(out.counters);
  out.summary.total = out.counters.self;
  out.summary.total += out.counters.subtree;
  for (std::size_t k = 1; k < c.entries.size(); ++k)
    if (c.entries[k].type == entry_type::directory && c.entries[k].parent() == c.root_path) ++out.summary.root_subdirs;
  return out;
}

}  // namespace stratum::cvmfs
