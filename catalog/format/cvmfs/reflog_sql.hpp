// The CernVM-FS reflog, `.cvmfsreflog` at a repository's root (stored
// uncompressed; the manifest's Y line holds its hash): an SQLite database of
// schema 1.0, revision 0 — the properties schema, schema_revision, fqrn and
// the table `refs` (hash TEXT, type INTEGER, timestamp INTEGER, primary key
// hash), one row per object the repository has published: root catalogs,
// certificates, histories, meta-info. Garbage collection starts from it;
// `cvmfs_swissknife check` requires the current root catalog, certificate,
// history and meta-info in it. Written in the order given, each hash once
// (a repeated hash replaces the earlier row, as CernVM-FS's INSERT OR
// REPLACE does), so the same list gives the same bytes.
// Thread: any (pure functions).
#pragma once

#include "catalog/format/cvmfs/digest.hpp"

#include <string>
#include <vector>

namespace stratum::cvmfs {

enum class ref_kind : std::uint8_t { catalog = 0, certificate = 1, history = 2, meta_info = 3 };  // CernVM-FS's values

struct reflog_entry {
  hash256 hash;
  ref_kind kind = ref_kind::catalog;
  std::int64_t timestamp = 0;  // unix seconds: when it was added
  auto operator<=>(const reflog_entry&) const = default;
};

struct reflog {
  std::string fqrn;
  std::vector<reflog_entry> refs;  // in the order of the rows
};

// Throws errc::usage for a hash that is not a 20-byte digest.
bytes encode_reflog(const reflog& r, algorithm a);
// Reads a reflog as hostile input (sqlite_db::open_image); every hash must
// be of algorithm `a`, every type one of the four. Rows in rowid order.
// Throws errc::corrupt naming `what` otherwise.
reflog decode_reflog(byte_view db, const std::string& what, algorithm a);

}  // namespace stratum::cvmfs
