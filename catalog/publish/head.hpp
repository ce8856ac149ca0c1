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

// What every command that writes a new manifest over the current one (tag,
// rollback, gc) checks first: the STATE holds no unfinished publish and
// belongs to this store (or, unless `published_required`, has no journal of
// any), the store's manifest verifies with the STATE's key (open_own), and
// it is the one the journal recorded as published — after adopting a tag
// edit or rollback killed once its manifest was written. Returns the opened
// repository. Throws errc::usage, with nothing changed, saying what does not
// fit; `doing` ("edit tags") completes the messages.
awaitable<std::unique_ptr<repository>> open_own_repository(backend& store, journal& j, const format_writer& fmt,
                                                            const signing_key& key, asio::thread_pool& cpu,
                                                            const std::string& doing, bool published_required);

struct stored_history {
  hash256 h;              // its object's name
  std::uint64_t size = 0;  // its content size, for the manifest
};
// Encodes `h` with `fmt` and stores it (compressed on the CPU pool), before
// anything names it: the history of a tag edit, a rollback.
awaitable<stored_history> put_history(backend& store, const format_writer& fmt, asio::thread_pool& cpu, const history& h);

// Writes the side files of `m` (format_writer::side_files), makes
// everything durable, then writes the manifest signed with `key` and makes
// it durable too. `kept`: what the store has of fmt.kept_files(), in that
// order (read from the store when null). `before`/`after`: crash points
// (async/crash_point.hpp) just before and after the manifest, or null.
// Returns how many side files it wrote (for the commands' counts of objects sent).
// (Plain arguments: g++ 12 frees an aggregate holding a container twice
// when it is passed by value into a coroutine, docs/DESIGN.md.)
awaitable<std::size_t> write_head(backend& store, const format_writer& fmt, const signing_key& key, const manifest& m,
                           std::int64_t now, const std::vector<std::optional<bytes>>* kept, const char* before,
                           const char* after);

// The history of the revision after `previous`'s current one (the first
// revision without one), whose root catalog is `root` of content size
// `root_size`: the previous history with trunk moved to it, the old trunk
// kept as trunk-previous, and `tag` (with `tag_message`) if given. For
// publish and catalog-chown, which both make a new revision of a new tree.
history next_history(const repository* previous, const hash256& root, std::uint64_t root_size, std::int64_t now,
                     const std::optional<std::string>& tag = std::nullopt, const std::string& tag_message = {});

}  // namespace stratum
