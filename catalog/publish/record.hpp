// What a publish writes to the journal (storage/journal/journal.hpp): the keys and
// record encodings. docs/DESIGN.md, "The journal", describes how they are
// used; this file only says what they are.
//
// Keys begin with one letter saying what they hold:
//   m<name>          run metadata: source, store, key, run, state, phase, base,
//                    published, intent, dirty, verify, owners
//   e<path key>      one entry of the source tree (entry_record)
//   c<path key>      a catalog built by the current run (catalog_record)
//   l<path key>      a directory that roots a nested catalog (layout_record)
//   p<path key>      a problem: the message for a path left out
//   o<hash><kind>    an object the store confirmed (value: stored size)
//   i<hash><kind>    an object being sent, as versions before STATE/intents
//                    recorded it: read by a resumed run, erased at the end
// Objects being sent are now recorded outside RocksDB, in STATE/intents:
// an append-only file of object keys (storage/journal/journal.hpp, append_log).
// A path key is the path with '/' replaced by NUL, so keys sort in the
// catalog's pre-order (a directory, then its contents, then its next sibling)
// and the children of a directory form one key range.
// Thread: any (pure functions).
#pragma once

#include "catalog/format/catalog.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace stratum::pj {

std::string path_key(std::string_view path);
std::string key_path(std::string_view key);  // inverse of path_key

std::string meta_key(std::string_view name);
std::string entry_key(std::string_view path);
// What precedes a child's name in its entry key ("e" for the root's children).
std::string child_prefix(std::string_view path);
// [children_begin, children_end): the entry keys of everything below `path`.
std::string children_begin(std::string_view path);
std::string children_end(std::string_view path);
std::string catalog_key(std::string_view path);
std::string layout_key(std::string_view path);
std::string problem_key(std::string_view path);
std::string object_key(const hash256& h, object_kind k);
// Every key of one kind: [prefix_begin(c), prefix_end(c)).
std::string prefix_begin(char kind);
std::string prefix_end(char kind);

enum class file_state : std::uint8_t {
  none = 0,      // nothing to read: not a regular file, or an empty one
  pending = 1,   // to be read and stored
  done = 2,      // stored: object or chunks are set
  excluded = 3,  // could not be read (a problem record says why)
};

struct entry_record {
  file_stat st;
  xattr_list xattrs;
  std::string link_target;
  file_state state = file_state::none;
  std::optional<hash256> object;
  std::vector<chunk_ref> chunks;
  std::uint64_t listed_run = 0;  // directories: the run that recorded its listing
  // Known by its catalog only (written by journal_from_revision.hpp from a
  // published revision): no device, inode, ctime or nlink, and the mtime to
  // the second or the nanosecond as the format keeps it.
  bool catalog_only = false;
  // catalog_only: the mtime cannot tell a change (the format keeps seconds
  // only, or the file was written while the revision was being published);
  // such a record never matches, so the file is read.
  bool mtime_unsure = false;

  // The inode and everything stratum keeps of it is unchanged: the file need
  // not be read again. (A change to content, xattrs or metadata moves ctime.)
  // When either record is catalog_only, the catalog's rule instead
  // (same_as_catalog).
  bool same_source(const entry_record& o) const;
  // What a catalog keeps matches: type, permission bits, owner, mtime (to the
  // ns), xattrs, symlink target, a regular file's size, a device's number;
  // and the catalog's record (`this` or `o`) is not mtime_unsure.
  bool same_as_catalog(const entry_record& o) const;
};

std::string encode_entry(const entry_record& r);
entry_record decode_entry(std::string_view v, std::string_view key);

struct catalog_record {
  std::uint64_t run = 0;
  hash256 hash;
  catalog_stats stats;
  // The catalog's encoded size (what a reader inflates), recorded in its
  // parent's reference and in the manifest. 0: a record of an older version,
  // which did not keep it (the catalog is built again).
  std::uint64_t size = 0;
  // What the format needs of this catalog to encode its parent
  // (format_writer::catalog_note); empty for stratum's own format, and then
  // not written, so its records are as before.
  std::string note;
  // The tree the catalog was encoded from (the SHA-256 of stratum's own
  // encoding of it), kept by formats whose catalogs carry the revision
  // (format_writer::catalogs_carry_revision): a nested catalog whose tree is
  // unchanged in the next revision is kept, not written again.
  std::optional<hash256> tree;
};
std::string encode_catalog_record(const catalog_record& r);
catalog_record decode_catalog_record(std::string_view v, std::string_view key);

// Why a directory roots a catalog (catalog/publish/catalog_layout.hpp).
enum class catalog_reason : std::uint8_t {
  root = 0,       // the repository's root
  marker = 1,     // the format's marker file is in the source directory
  dirtab = 2,     // a dirtab rule matches it
  automatic = 3,  // --autocatalogs split it off a catalog that was too heavy
};
std::string_view reason_name(catalog_reason r);

struct layout_record {
  catalog_reason reason = catalog_reason::marker;
  std::uint64_t run = 0;  // the run whose layout it belongs to
};
std::string encode_layout_record(const layout_record& r);
layout_record decode_layout_record(std::string_view v, std::string_view key);

}  // namespace stratum::pj
