// Comparing two revisions of a repository: which paths were added, removed
// or modified, and what changed in each modified one. The tree logic is the
// format's seam (catalog entries, nested catalogs through load_nested), so it
// serves every format. Thread: the I/O thread that awaits it; catalogs are
// decoded on the CPU pool by repository::load_catalog.
#pragma once

#include "catalog/read/repository.hpp"

namespace stratum {

// What differs in a path present on both sides.
enum change_bits : std::uint32_t {
  change_content = 1 << 0,  // a regular file's objects or chunks
  change_size = 1 << 1,     // a regular file's content size
  change_type = 1 << 2,     // e.g. a file became a directory
  change_mode = 1 << 3,     // permission bits
  change_owner = 1 << 4,    // uid or gid
  change_mtime = 1 << 5,    // seconds or nanoseconds
  change_xattrs = 1 << 6,   // names or values
  change_target = 1 << 7,   // a symlink's target
  change_device = 1 << 8,   // a device's number
};
// The changes' names, in the order of the bits: "content", "size", ...
std::vector<std::string> change_names(std::uint32_t changes);
// What differs between two entries of one path. Not compared: the hard link
// group (a number the writer assigns per catalog, not a property of the file)
// and whether a directory starts a nested catalog (how the repository is
// split, not what it holds). Content, size and target only count between
// entries of one type: a type change implies them.
std::uint32_t entry_changes(const entry& a, const entry& b);

struct path_change {
  enum kind_t : char { added = 'A', removed = 'R', modified = 'M' } kind;
  std::string path;
  std::uint32_t changes = 0;  // modified: change_bits
};

struct diff_result {
  std::vector<path_change> changes;  // in the catalogs' path order (path_before)
  std::uint64_t catalogs_read = 0;   // catalogs walked, on both sides (equal subtrees are not)
};

// The root catalog of revision `spec`: a tag name, or else a revision
// number the history lists (stratum's history lists every kept revision; a
// CernVM-FS one only tagged ones) or the current one. Throws errc::usage
// naming what the history holds when there is no such revision.
hash256 revision_root(repository& repo, const std::string& spec);

// The differences from the revision whose root catalog is `a` to the one at
// `b`. Every path below an added (removed) directory is listed as added
// (removed). A nested catalog that both sides mount at one path with the same
// hash is not loaded, nor is anything when the roots are equal: a change in
// one file reads only the catalogs on its path (in a format whose unchanged
// catalogs keep their hash: stratum's own; CernVM-FS's publisher keeps them).
// Throws errc::corrupt/not_found naming a catalog that must be read and cannot.
awaitable<diff_result> diff(repository& repo, const hash256& a, const hash256& b);

}  // namespace stratum
