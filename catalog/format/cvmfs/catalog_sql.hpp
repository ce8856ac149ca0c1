// catalog/format/cvmfs/ — the CernVM-FS repository format (docs/FORMAT-cvmfs.md).
//
// catalog_sql: stratum's in-memory catalog (catalog/format/catalog.hpp) as a
// CernVM-FS catalog — the SQLite database of schema 2.5, revision 7, that
// CernVM-FS 2.12 reads — and back. What the native model does not carry
// (hash algorithm, revision, previous revision, last_modified, TTL, what a
// parent needs of its nested catalogs) comes in catalog_params.
//
// Writing is deterministic: the same catalog and params give the same bytes
// (with the same libsqlite3: its version number is in the file header).
// Rows go in the catalog's pre-order, page size 4096, one transaction, no
// VACUUM: a database that only ever received inserts has no free pages, so
// VACUUM would rewrite it for nothing.
//
// Hardlinks: CernVM-FS keeps a hardlink group within one directory. Of a
// stratum group, the members that share a directory stay a group (link
// count = how many they are) when there are two or more of them; a member
// alone in its directory is written as a separate file with link count 1 —
// what cvmfs_server does with CVMFS_IGNORE_XDIR_HARDLINKS. A device's
// number goes into the size column (as cvmfs_server's sync_item.cc puts it
// and the client's DirectoryEntry::rdev() reads it).
// Thread: any (pure functions; each call has its own SQLite connection).
#pragma once

#include "catalog/format/catalog.hpp"
#include "catalog/format/cvmfs/digest.hpp"

#include <optional>
#include <vector>

namespace stratum::cvmfs {

// One half (self_ or subtree_) of a catalog's statistics table, by
// CernVM-FS's counter names. Signed, as CernVM-FS keeps them.
struct counters {
  std::int64_t chunked = 0, chunked_size = 0, chunks = 0, dir = 0, external = 0, external_file_size = 0,
               file_size = 0, nested = 0, regular = 0, special = 0, symlink = 0, xattr = 0;
  counters& operator+=(const counters& o);
  auto operator<=>(const counters&) const = default;
};

// self: the rows of this catalog (its root and the mount points of its
// nested catalogs are directories here); subtree: self + subtree of every
// direct nested catalog.
struct catalog_counters {
  counters self, subtree;
  auto operator<=>(const catalog_counters&) const = default;
};

// What a parent catalog must know of a nested catalog that its own entries
// do not say. Keep it from encoding the nested catalog (summarize()) or read
// it back (read_catalog()).
struct nested_summary {
  counters total;                  // self + subtree of the nested catalog
  std::uint64_t root_subdirs = 0;  // subdirectories of its root: the mount point's link count is this + 2
  auto operator<=>(const nested_summary&) const = default;
};

struct catalog_params {
  algorithm alg = algorithm::sha1;  // of every content hash; written into the flags
  std::uint64_t revision = 1;       // property `revision`: this catalog's own counter
  std::optional<hash256> previous;  // `previous_revision`: the catalog this one replaces; absent: zeros
  std::int64_t last_modified = 0;   // unix seconds
  std::optional<std::uint64_t> ttl;  // `TTL` seconds, root catalog only; absent: clients use 240
  bool compressed = true;            // objects are zlib (compression bits 0), else stored plain (1)
  bool mtime_ns = true;              // write `mtimens` (else NULL, as cvmfs_server without -j)
  // The object of an empty regular file (CernVM-FS stores even those, and
  // its check wants a hash for every unchunked file): the digest of the
  // compressed empty content. Needed when the catalog has empty files
  // without an object; otherwise encode_catalog throws errc::usage.
  std::optional<hash256> empty_object;
  std::vector<nested_summary> nested;  // one per catalog::nested, in the same order
};

// The statistics encode_catalog writes.
catalog_counters count_catalog(const catalog& c, const catalog_params& p);
// What this catalog's parent needs of it.
nested_summary summarize(const catalog& c, const catalog_params& p);

// The database file. Throws errc::usage for what the format cannot express
// (names of xattrs over 255 bytes, a hash that is not a 20-byte digest, a
// missing nested summary or size, a TTL in a nested catalog, stats that
// disagree with the entries and the nested summaries).
bytes encode_catalog(const catalog& c, const catalog_params& p);

struct decoded_catalog {
  catalog tree;
  // As the database says; `nested` stays empty (a parent holds only the
  // sums of its nested catalogs), `empty_object` is the hash of the first
  // empty file, if any.
  catalog_params params;
  // self recounted from the rows (the truth), subtree as stored.
  catalog_counters counters;
  nested_summary summary;
  unsigned schema_revision = 0;
};

// Reads a CernVM-FS catalog (schema 2.5, revisions 5 to 7: everything since
// special files got their flag; written by stratum or by cvmfs_server) from
// the database bytes `db`, as hostile input (sqlite_db::open_image). Every
// content hash must be of algorithm `a`. Entries come out in pre-order,
// paths rebuilt from names and checked against their MD5 keys. Throws
// errc::corrupt naming `what` for an unsupported schema, external files,
// bind mount points, hidden entries, flags that contradict the mode, rows
// not reachable from the root, broken chunk lists or nested references.
// An empty file's hash is dropped (stratum's entries hold objects only for
// sizes > 0).
decoded_catalog read_catalog(byte_view db, const std::string& what, algorithm a);
inline catalog decode_catalog(byte_view db, const std::string& what, algorithm a) {
  return read_catalog(db, what, a).tree;
}

}  // namespace stratum::cvmfs
