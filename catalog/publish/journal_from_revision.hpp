// A publish journal made from a published revision, so that the next publish
// merges its scan against THAT tree: only what differs is read, and only
// what the store lacks is sent. `stratum import` fills a new journal with it;
// `stratum rollback` rebases an existing journal on a rolled-back tree.
//
// For every entry of the revision (nested catalogs included, one catalog in
// memory at a time) it writes an entry record (`e…`, record.hpp) marked
// catalog_only: a catalog keeps no device, inode or ctime, so the scan
// matches such a record by what the catalog keeps (entry_record::
// same_as_catalog) and then adopts the source's inode with the recorded
// content. A record whose mtime cannot tell a change (the format keeps
// seconds only, or the mtime is within 2 s of the revision's publish time)
// is marked mtime_unsure and never matches: the file is read, and the
// object sink finds its object confirmed and does not send it. Every object
// the tree references — files, chunks, catalogs — is recorded as confirmed
// (`o…`), so nothing the store holds is sent again.
//
// No catalog records (`c…`) are written: what keeps an unchanged nested
// CernVM-FS catalog is the SHA-256 of stratum's encoding of the tree the
// publisher built it from, with the source's inodes (hard links) and
// nanoseconds, which a catalog that keeps neither cannot reproduce. Such a
// catalog is written again by the next publish (docs/DESIGN.md, "Import").
//
// Thread: the I/O thread that awaits it (journal writes included; catalogs
// are fetched and decoded by the repository, on its CPU pool).
#pragma once

#include "catalog/publish/record.hpp"
#include "catalog/read/repository.hpp"
#include "storage/journal/journal.hpp"

namespace stratum {

struct revision_load_options {
  // The run number the confirmations (`o` records) name (run_state::
  // confirmation's "SIZE RUN"; the stored size is not known and written 0).
  std::uint64_t run = 1;
  // Keep a strong record already in the journal (one a publish wrote, with
  // inode and ctime) whose entry is exactly the revision's: same type,
  // content, size, mtime, mode, owner, xattrs and symlink target. rollback
  // uses it so that files identical in both trees are not read again.
  // Without it every entry record is replaced. Either way, entry records of
  // paths the revision does not hold are removed.
  bool keep_matching = false;
};

struct revision_load_stats {
  std::uint64_t entries = 0;   // entry records the revision gave
  std::uint64_t kept = 0;      // of them, strong records kept (keep_matching)
  std::uint64_t unsure = 0;    // files with content written mtime_unsure: will be read
  std::uint64_t removed = 0;   // entry records of paths not in the revision
  std::uint64_t catalogs = 0;  // catalogs read
  std::uint64_t objects = 0;   // confirmation records written (with repeats)
};

// Writes the tree of the revision whose root catalog is `root` (of `repo`)
// into `j`. `published_at`: that revision's publish time (manifest or tag
// timestamp), for the 2-second rule. Throws what the repository throws for
// a catalog it cannot read or verify (errc::corrupt, not_found), or a
// journal error; the journal is then partly written (callers write it to a
// journal they discard, or run it again).
awaitable<revision_load_stats> journal_from_revision(repository& repo, const hash256& root, std::int64_t published_at,
                                                     journal& j, revision_load_options o = {});

// The entry record a catalog entry gives: catalog_only, with mtime_unsure
// set when `keeps_nsec` is false or the mtime is within 2 s of (or after)
// `published_at`. Exposed for tests.
pj::entry_record record_from_catalog(const entry& e, bool keeps_nsec, std::int64_t published_at);

}  // namespace stratum
