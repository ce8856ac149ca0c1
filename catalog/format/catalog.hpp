// A catalog: the entries of one subtree of the repository, with references to
// the nested catalogs below it. Encoding is deterministic: the same tree (same
// names, metadata and contents) always gives the same bytes and hash.
// Thread: any (pure functions).
#pragma once

#include "catalog/format/codec.hpp"
#include "io/file_stat.hpp"

#include <optional>

namespace stratum {

enum class entry_type : std::uint8_t {
  regular = 1, directory = 2, symlink = 3, fifo = 4, char_device = 5, block_device = 6, socket = 7,
};
std::optional<entry_type> entry_type_of(std::uint32_t st_mode);
std::uint32_t st_mode_type(entry_type t);

struct chunk_ref {
  std::uint64_t size = 0;
  hash256 hash;
  auto operator<=>(const chunk_ref&) const = default;
};

struct entry {
  std::string path;  // from the repository root, '/'-separated; "" is the root
  entry_type type = entry_type::regular;
  std::uint32_t mode = 0;  // permission bits, 07777
  std::uint32_t uid = 0, gid = 0;
  std::uint64_t size = 0;  // regular: content bytes; symlink: target length; else 0
  std::int64_t mtime_sec = 0;
  std::uint32_t mtime_nsec = 0;
  std::uint32_t hardlink_group = 0;  // 0: none; entries sharing a group are one inode
  xattr_list xattrs;                 // sorted by name
  std::optional<hash256> object;     // regular with size > 0, stored as one object
  std::vector<chunk_ref> chunks;     // regular, stored as chunks (in file order)
  std::string link_target;           // symlink
  std::uint64_t rdev = 0;            // devices
  bool nested_root = false;          // directory whose subtree is a nested catalog

  std::string_view name() const;
  std::string_view parent() const;
  auto operator<=>(const entry&) const = default;
};

struct nested_ref {
  std::string path;
  hash256 hash;
  // The nested catalog's content (inflated) size, so a reader inflates
  // exactly that much; absent in a version-1 catalog (read under a limit).
  std::optional<std::uint64_t> size;
  auto operator<=>(const nested_ref&) const = default;
};

// Totals for the catalog's subtree, nested catalogs included.
struct catalog_stats {
  std::uint64_t regular = 0, directories = 0, symlinks = 0, specials = 0, bytes = 0, chunked = 0, chunks = 0, nested = 0;
  catalog_stats& operator+=(const catalog_stats& o);
  auto operator<=>(const catalog_stats&) const = default;
};

struct catalog {
  std::string root_path;        // path of the subtree's root directory
  std::vector<entry> entries;   // pre-order: entries[0] is the root directory
  std::vector<nested_ref> nested;  // sorted by path
  catalog_stats stats;
};

// A catalog's weight: the number of its entries, which is the number of rows
// it holds in either format (a CernVM-FS catalog table row each): its root
// directory's entry, the mount point entry of each nested catalog directly
// below it, and every other entry it holds directly; nothing inside its
// nested catalogs. `list-catalogs -e` prints it; automatic catalogs split and
// merge by it, as CVMFS_AUTOCATALOGS_*_WEIGHT count rows.
std::size_t catalog_weight(const catalog& c);

// Pre-order comparison of paths: a directory before its contents, siblings by
// name bytes ('/' sorts before every other byte).
bool path_before(std::string_view a, std::string_view b);
// True if `p` is a valid relative path: no empty, "." or ".." component.
bool valid_path(std::string_view p);
// True if `p` is `dir` or lies below it.
bool path_within(std::string_view p, std::string_view dir);

// Version 2 (nested references carry their catalog's size) when every
// nested reference has its size, else version 1 (which carries none).
bytes encode_catalog(const catalog& c);
// Decodes and validates (paths, order, parents, content references); throws
// errc::corrupt naming `what` for anything a writer could not have produced,
// including names that would escape a restore destination.
catalog decode_catalog(byte_view data, const std::string& what);

// Store key of an object: "data/XX/<64 hex digits><suffix>".
enum class object_kind : char { file = 0, chunk = 'P', catalog = 'C', history = 'H', public_key = 'X', meta_info = 'M' };
std::string object_key(const hash256& h, object_kind k);

}  // namespace stratum
