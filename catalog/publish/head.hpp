// The head of a repository as its publisher's STATE sees it, for every
// command that writes a new manifest — publish, tag, gc (and rollback): the
// checks that the STATE fits the store before anything changes, opening the
// repository with the publisher's own key, and writing the manifest with the
// files beside it, everything it names durable first.
//
// Thread: the I/O thread that awaits them; decoding on the CPU pool.
#pragma once

#include "catalog/format/format.hpp"
#include "catalog/read/repository.hpp"
#include "storage/backend.hpp"
#include "storage/journal/journal.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stratum {

// The repository in `store` as its publisher reads it: only its own key
// (fmt.trust_anchor(key)) is trusted, an expired manifest is accepted
// (renewing it is the publisher's job), and catalogs without a recorded size
// are read up to 4 GiB.
awaitable<std::unique_ptr<repository>> open_own(backend& store, asio::thread_pool& cpu, const format_writer& fmt,
                                                const signing_key& key);

// Refuses (errc::usage, nothing changed) a STATE that holds an interrupted
// publish or publishes to another store than `store`; `doing` says what the
// command does ("edit tags"). With `published_required`, also a STATE that
// has not published to any store.
void require_state_fits(const journal& j, const backend& store, const std::string& doing, bool published_required);

// Refuses (errc::usage, nothing changed) a store whose manifest `head` is
// not the one the journal recorded as published — something else has
// written it since, or an older one was put back — after adopting the
// manifest of a tag edit killed once it was written.
void require_head_published(journal& j, const backend& store, const manifest& head);

// Writes the side files of `m` (format_writer::side_files), makes
// everything durable, then writes the manifest signed with `key` and makes
// it durable too. `kept`: what the store has of fmt.kept_files(), in that
// order (read from the store when null). `before`/`after`: crash points
// (async/crash_point.hpp) just before and after the manifest, or null.
// (Plain arguments: g++ 12 frees an aggregate holding a container twice
// when it is passed by value into a coroutine, docs/DESIGN.md.)
awaitable<void> write_head(backend& store, const format_writer& fmt, const signing_key& key, const manifest& m,
                           std::int64_t now, const std::vector<std::optional<bytes>>* kept, const char* before,
                           const char* after);

}  // namespace stratum
