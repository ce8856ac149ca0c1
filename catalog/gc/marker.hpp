// The mark phase of a garbage collection: which revisions are kept, and every
// object they reference, as cvmfs_server gc decides it — the current
// revision, every revision a tag names, and every revision published at or
// after the keep-since time (CVMFS_AUTO_GC_TIMESPAN's role). Objects go into
// the on-disk mark set (mark_set.hpp) by their store keys; a catalog already
// marked is not read again, since a catalog's name is its content: its whole
// subtree was marked with it. So 20 revisions of a tree that changes in a few
// directories read each changed catalog once.
//
// Thread: mark() runs on the I/O thread that awaits it; catalogs are fetched
// through the repository (decoded on the CPU pool), one path of catalogs in
// memory at a time.
#pragma once

#include "catalog/gc/mark_set.hpp"
#include "catalog/read/repository.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace stratum {

struct kept_revision {
  std::uint64_t revision = 0;  // 0: not known (a CernVM-FS reflog's root)
  hash256 root;
  std::int64_t timestamp = 0;
  std::string why;  // "current", "tag NAME", "since"
};

// The revisions to keep, each root once: `head`, the tags of `h`, and every
// revision of `h` (stratum's format lists them all) or of `logged` (the
// roots a CernVM-FS reflog names) published at or after `keep_since`.
std::vector<kept_revision> revisions_to_keep(const manifest& head, const history& h,
                                             const std::vector<revision_record>& logged, std::int64_t keep_since);

struct mark_stats {
  std::uint64_t catalogs_read = 0;
  std::uint64_t revisions_gone = 0;  // kept by the rule, already collected
};

// Marks everything `keep` references in `marks`: catalogs, file contents,
// chunks. A kept revision whose root catalog is missing is one an earlier
// collection took (it was then outside the window): `repo` must be
// garbage-collectable, and `notice` is told; a missing object of the
// current revision or of a tag is damage, and throws errc::corrupt naming it
// (run `stratum check`). Catalogs are read without keeping them
// (repository::keep_catalogs(false)).
awaitable<mark_stats> mark(repository& repo, const std::vector<kept_revision>& keep, mark_set& marks,
                           const std::function<void(const std::string&)>& notice);

}  // namespace stratum
