// Rolling a published repository back to a tagged revision (`stratum
// rollback`), as `cvmfs_server rollback` does (docs/DESIGN.md, "Rollback"):
// the tagged tree becomes current as a NEW revision, numbered after the
// current one, so a reader that saw the current revision is not refused it.
// Its root catalog is the target's (a format whose catalogs carry the
// revision writes a copy stamped with the new one); the tags of the
// revisions after the target, and trunk-previous, go; the target tag and
// trunk name the new revision. Through the journal and its lock like a tag
// edit (tag_edit.hpp): nothing changed on bad input or a STATE that does not
// fit; the journal's records of the source tree are rebased so that the next
// publish compares the source with the rolled-back tree; a rollback killed
// after its manifest is finished by the next publish, tag or rollback
// (adopt_rollback).
//
// Threads: rollback_history() is pure (any thread); roll_back() runs on the
// I/O thread that awaits it, encoding on the CPU pool; adopt_rollback() on
// any thread that owns the journal.
#pragma once

#include "catalog/format/format.hpp"
#include "catalog/publish/tag_edit.hpp"
#include "storage/backend.hpp"
#include "storage/journal/journal.hpp"

#include <string>
#include <vector>

namespace stratum {

// The tag `name` of `h` that a rollback of the repository whose current
// manifest is `head` may go to. Throws errc::usage (nothing changed) for an
// unknown tag (naming the tags there are) and for a tag of the current
// revision (trunk always is). `store` names the repository in messages.
const tag& rollback_target(const history& h, const manifest& head, const std::string& name, const std::string& store);

struct rolled_back_history {
  history h;
  std::vector<tag> removed;  // the tags that went, besides trunk and trunk-previous, newest first
};

// CernVM-FS's rule (SqliteHistory::Rollback, CommandTag::UpdateUndoTags):
// every tag of a revision after `target`'s, the target itself and
// trunk-previous are removed; the target tag (unless it is trunk-previous)
// and trunk are set to `now_head` (its name and description are set here).
// stratum's own history also lists `now_head` as a revision; the revisions
// in between stay listed (they were published, and garbage collection must
// see them).
rolled_back_history rollback_history(const history& h, const tag& target, const tag& now_head);

// If the journal recorded a rollback whose manifest is `current` (the
// store's manifest_id), the rollback got as far as its manifest: rebases
// the journal onto the current revision of `repo` (journal_from_revision
// with keep_matching) and records it as published. Returns whether it did.
awaitable<bool> adopt_rollback(journal& j, repository& repo, const std::string& current);

struct rollback_result {
  manifest m;                // the new current manifest
  std::uint64_t from = 0;    // the revision that was current
  tag target;                // the tag as it was (its old revision)
  std::vector<tag> removed;  // as rolled_back_history::removed
};

// Rolls the repository in `store` (written with `fmt`, signed with `key`) back
// to the tree of tag `target`. Throws errc::usage with nothing changed for
// bad input or a STATE that does not fit the store; other codes for store
// failures, after which the same call can be made again.
awaitable<rollback_result> roll_back(backend& store, journal& j, const format_writer& fmt, const signing_key& key,
                                     asio::thread_pool& cpu, const std::string& target, tag_edit_options o);

}  // namespace stratum
