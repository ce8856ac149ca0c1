// Rebasing the journal's records of the source tree onto a published
// revision, so that the next publish compares the source with that
// revision's tree (after `stratum rollback`, catalog/publish/rollback.hpp).
//
// The journal's entry records describe the source as the last publish saw
// it (inode, ctime, content) and, for an unchanged inode, let the next
// publish skip the file. After a rollback they describe another tree than
// the current revision's. The rebase keeps a record only where it says
// exactly what the target revision holds at that path (type, mode, owner,
// size, mtime, xattrs, symlink target, device, content), so an unchanged
// file there is still not read again; a record that differs, and every
// entry of the target without one, becomes a record made from the
// target's entry with no inode (dev = ino = 0, which no stat returns): the
// next publish reads that path again if the source has it, and takes it
// for deleted if not (either way the revision changes); records of paths
// the target does not hold go. Catalog records and problems, which
// describe the previous tree, go too (catalogs are built again).
//
// Thread: the I/O thread that awaits it (the repository's); it writes
// nothing itself: everything goes into the caller's batch, which the caller
// writes with its own bookkeeping in one atomic write.
#pragma once

#include "catalog/read/repository.hpp"
#include "storage/journal/journal.hpp"

namespace stratum {

struct rebase_counts {
  std::uint64_t kept = 0;      // records that match the target
  std::uint64_t replaced = 0;  // target entries recorded anew (no inode)
  std::uint64_t erased = 0;    // records of paths the target does not hold
};

// Adds to `b` the writes that rebase `j`'s entry records onto the tree
// whose root catalog is `root` in `repo`. Throws what reading the catalogs
// throws (errc::corrupt, store errors); `b` is then to be dropped.
awaitable<rebase_counts> rebase_journal(journal& j, repository& repo, const hash256& root, journal::batch& b);

}  // namespace stratum
