// The fixed parts of a CernVM-FS catalog database, shared by its writer
// (catalog_sql.cpp) and reader (catalog_sql_read.cpp): the flag bits of a
// row, the statistics counters' names, and the schema as CernVM-FS 2.12
// creates it (catalog_sql.cc, sql_impl.h; the SQL text is kept as CernVM-FS
// writes it, because SQLite stores it verbatim in the file and `.dump` of
// ours and theirs should read the same). Thread: any (constants).
#pragma once

#include "catalog/format/cvmfs/catalog_sql.hpp"

#include <array>
#include <string>
#include <string_view>
#include <utility>

namespace stratum::cvmfs::schema {

constexpr std::string_view version = "2.5";
constexpr unsigned revision = 7;
// Revision 5 gave special files their flag and counters; 7 added mtimens.
constexpr unsigned oldest_revision = 5;
constexpr unsigned mtimens_revision = 7;

// Row flags (catalog_sql.h).
constexpr std::uint32_t flag_dir = 1;
constexpr std::uint32_t flag_mountpoint = 2;  // nested catalog's mount point, in the parent
constexpr std::uint32_t flag_file = 4;        // regular files, symlinks, special files
constexpr std::uint32_t flag_link = 8;
constexpr std::uint32_t flag_special = 16;
constexpr std::uint32_t flag_nested_root = 32;  // the root row of a nested catalog
constexpr std::uint32_t flag_chunked = 64;
constexpr std::uint32_t flag_external = 128;
constexpr unsigned hash_shift = 8;  // 3 bits: algorithm - 1
constexpr unsigned compression_shift = 11;  // 3 bits: 0 zlib, 1 none
constexpr std::uint32_t flag_bind_mountpoint = 0x4000;
constexpr std::uint32_t flag_hidden = 0x8000;
constexpr std::uint32_t flag_direct_io = 0x10000;
constexpr std::uint32_t known_flags = 0x1ffff;

constexpr std::uint32_t hash_bits(algorithm a) { return (static_cast<std::uint32_t>(a) - 1) << hash_shift; }

// Statements in CernVM-FS's order of creation: properties first (the
// generic database layer), then the catalog's own tables.
constexpr std::array<std::string_view, 7> create_tables = {
    "CREATE TABLE properties (key TEXT, value TEXT, CONSTRAINT pk_properties PRIMARY KEY (key));",
    "CREATE TABLE catalog (md5path_1 INTEGER, md5path_2 INTEGER, parent_1 INTEGER, parent_2 INTEGER,"
    " hardlinks INTEGER, hash BLOB, size INTEGER, mode INTEGER, mtime INTEGER,"
    " mtimens INTEGER, flags INTEGER, name TEXT, symlink TEXT, uid INTEGER,"
    " gid INTEGER, xattr BLOB,  CONSTRAINT pk_catalog PRIMARY KEY (md5path_1, md5path_2));",
    "CREATE INDEX idx_catalog_parent ON catalog (parent_1, parent_2);",
    "CREATE TABLE chunks (md5path_1 INTEGER, md5path_2 INTEGER, offset INTEGER, size INTEGER,  hash BLOB,"
    "  CONSTRAINT pk_chunks PRIMARY KEY (md5path_1, md5path_2, offset, size),"
    "  FOREIGN KEY (md5path_1, md5path_2) REFERENCES    catalog(md5path_1, md5path_2));",
    "CREATE TABLE nested_catalogs (path TEXT, sha1 TEXT, size INTEGER,"
    " CONSTRAINT pk_nested_catalogs PRIMARY KEY (path));",
    "CREATE TABLE bind_mountpoints (path TEXT, sha1 TEXT, size INTEGER,"
    " CONSTRAINT pk_bind_mountpoints PRIMARY KEY (path));",
    "CREATE TABLE statistics (counter TEXT, value INTEGER, CONSTRAINT pk_statistics PRIMARY KEY (counter));",
};

// The 12 counters of each half, in the order CernVM-FS inserts them
// (alphabetical: it walks a std::map of the names).
inline std::array<std::pair<std::string_view, std::int64_t counters::*>, 12> counter_fields() {
  return {{{"chunked", &counters::chunked},
           {"chunked_size", &counters::chunked_size},
           {"chunks", &counters::chunks},
           {"dir", &counters::dir},
           {"external", &counters::external},
           {"external_file_size", &counters::external_file_size},
           {"file_size", &counters::file_size},
           {"nested", &counters::nested},
           {"regular", &counters::regular},
           {"special", &counters::special},
           {"symlink", &counters::symlink},
           {"xattr", &counters::xattr}}};
}

// A stratum path ("" root, "a/b") as CernVM-FS writes it ("", "/a/b").
inline std::string absolute(std::string_view path) { return path.empty() ? std::string() : "/" + std::string(path); }

// stratum's totals (each directory once, nested catalogs included) from
// CernVM-FS's counters, where a mount point counts in the parent's self and
// again, as the nested root, in its subtree.
catalog_stats native_stats(const catalog_counters& c);

}  // namespace stratum::cvmfs::schema
