// catalog-chown: the current revision's catalogs, read from the store, with
// every entry's uid and gid mapped (owner_map.hpp), published as a new
// revision — no file read, no data object sent, as cvmfs_server's
// catalog-chown does (docs/DESIGN.md, "catalog-chown").
//
// The walk is depth-first, children before parents, with one catalog in
// memory at a time (a parent is read again once its children are done; only
// their references and notes are kept on the path). A catalog in which no id
// changes and no nested catalog changed keeps its object; the others are
// encoded with the repository's format (the new revision, its time, the
// catalog they replace) and stored. Then the history (trunk moves, the old
// head is trunk-previous) and the signed manifest, through the journal and
// its lock as a tag edit does (tag_edit.hpp): nothing changes on a STATE
// that does not fit, and a run killed once the manifest is written is
// adopted by the next publish, tag, rollback or catalog-chown.
//
// Thread: the I/O thread that awaits chown_catalogs; decoding and encoding
// on the CPU pool.
#pragma once

#include "catalog/format/format.hpp"
#include "catalog/publish/owner_map.hpp"
#include "storage/backend.hpp"
#include "storage/journal/journal.hpp"

#include <functional>

namespace stratum {

struct chown_result {
  bool published = false;  // false: no id changed, no revision was made
  manifest m;              // the current manifest afterwards
  std::uint64_t from = 0;  // the revision whose catalogs were read
  std::uint64_t catalogs_rewritten = 0, catalogs_kept = 0;
  std::uint64_t entries = 0;         // every entry walked (a mount point once)
  std::uint64_t entries_mapped = 0;  // those whose uid or gid changed
  // Catalogs, the history, the side files and the manifest; data objects
  // are never sent and no file is read.
  std::uint64_t objects_sent = 0;
};

// Maps the owners of the current revision of the repository in `store`
// (written with `fmt`, signed with `key`) with `owners`. `remembered`: the
// maps STATE holds afterwards (the source's ids to the new ones), which the
// journal records as those the new revision was made with (meta "owners",
// which a publish compares with its maps). `remember` runs once the STATE
// checks passed and every new catalog and the history are stored, before the
// manifest (or, when nothing changes, instead of it): the command saves the
// maps into STATE there. `expiry_seconds`: the new manifest's validity (0:
// none). Throws errc::usage with nothing changed for a STATE that does not
// fit the store; other codes for store failures, after which the same call
// can be made again.
awaitable<chown_result> chown_catalogs(backend& store, journal& j, const format_writer& fmt, const signing_key& key,
                                       asio::thread_pool& cpu, const owner_map& owners, const owner_map& remembered,
                                       std::int64_t expiry_seconds,
                                       const std::function<void()>& remember);

}  // namespace stratum
