// Garbage collection (`stratum gc`, `publish --gc`): mark and sweep, as
// cvmfs_server gc does, over every store (docs/DESIGN.md, "Garbage
// collection").
//
//  1. The STATE fits: the publisher's, of this store, nothing half
//     published (its lock is held by the caller's open journal, so no
//     publish, tag or rollback of this STATE runs meanwhile).
//  2. The store's clock is read (a marker object's modified time): objects
//     modified within a second of it or later are never deleted — a
//     concurrent publish from elsewhere may still be naming them.
//  3. Mark (marker.hpp): every object of the kept revisions, into an on-disk
//     set.
//  4. The journal forgets its confirmations of unmarked objects, so a later
//     publish sends one again if it needs it; before anything is deleted.
//  5. The manifest says garbage-collectable (signed again, same revision).
//  6. Sweep: list the store shard by shard (data/00/ … data/ff/), delete
//     the unmarked objects older than the clock in batches.
//  7. CernVM-FS: the reflog without the deleted objects, the manifest signed
//     again with its hash.
// Killed anywhere, the kept revisions are whole (nothing they reference is
// deleted) and the next collection finishes the job.
//
// Thread: the I/O thread that awaits it; decoding on the CPU pool.
#pragma once

#include "catalog/format/format.hpp"
#include "catalog/gc/marker.hpp"
#include "storage/backend.hpp"
#include "storage/journal/journal.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace stratum {

struct gc_options {
  std::int64_t keep_since = 0;  // revisions published at or after this (unix seconds) are kept
  bool dry_run = false;         // mark and list; delete nothing, change nothing
  std::string deletion_log;     // a file each deleted object's key is appended to ("": none)
  std::int64_t expiry_seconds = 0;  // of a manifest signed again (publish_options::expiry_seconds)
  std::function<void(const std::string&)> notice;                 // what happens, for the log
  std::function<void(const object_info&)> condemned;              // each object that goes (or would go)
};

struct gc_result {
  std::vector<kept_revision> kept;
  mark_stats marking;
  std::uint64_t objects_marked = 0;   // distinct objects the kept revisions reference
  std::uint64_t objects_listed = 0;   // objects in the store's shards
  std::uint64_t objects_young = 0;    // unreferenced, but too new to delete
  std::uint64_t objects_deleted = 0;  // (dry run: that would be)
  std::uint64_t bytes_deleted = 0;
  std::uint64_t others = 0;           // keys in the shards that are no object name: left alone
  std::uint64_t confirmations_forgotten = 0;
  unsigned manifests_signed = 0;
  double mark_seconds = 0, sweep_seconds = 0;
};

// Collects the garbage of the repository in `store`, written with `fmt` and
// signed with `key` (ignored by a format with keys of its own), whose
// publisher's journal `j` lives in `state_dir`. Throws errc::usage with
// nothing changed for a STATE that does not fit the store; other codes for
// failures, after which the same call can be made again.
awaitable<gc_result> collect_garbage(backend& store, journal& j, const std::string& state_dir, const format_writer& fmt,
                                     const signing_key& key, asio::thread_pool& cpu, const gc_options& o);

// A keep-since argument: a duration back from `now` ("3d", "1w", "12h",
// "30m", "90s"; a number alone is days), a date "YYYY-MM-DD[THH:MM[:SS]][Z]"
// (UTC), "@SECONDS", or "now" (no revision is kept for its age: only the
// current and the tagged ones). Throws errc::usage naming it otherwise.
std::int64_t parse_keep_since(const std::string& text, std::int64_t now);

}  // namespace stratum
