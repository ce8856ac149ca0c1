// Editing the tags of a published repository (`stratum tag -a/-r`), as
// `cvmfs_server tag` does: the history gets the change, and the manifest is
// written again with the same revision, root catalog and time, naming the new
// history, and signed again (docs/DESIGN.md, "Tags"). Through the journal and
// its lock, like a publish: a STATE with an unfinished publish, or a store
// that something else has published to since, is refused with nothing
// changed; an edit killed after its manifest was written is recognised by the
// next run of tag, rollback or publish (adopt_tag_edit) rather than taken for a foreign
// publish.
//
// Threads: edit_history() is a pure function (any thread); edit_tags() runs
// on the I/O thread that awaits it, encoding on the CPU pool.
#pragma once

#include "catalog/format/format.hpp"
#include "catalog/read/repository.hpp"
#include "storage/backend.hpp"
#include "storage/journal/journal.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace stratum {

struct tag_request {
  std::optional<std::string> add;  // a tag to add
  std::string message;             // its description
  // Which revision it names: the current one unless one of these is given,
  // which must name a revision the history knows.
  std::optional<std::uint64_t> revision;
  std::optional<std::string> root;  // a root catalog hash, as the format writes it (or hex)
  std::vector<std::string> remove;  // tags to remove
};

// The history `h` of the repository whose current manifest is `head`, with
// the request applied (tags sorted by name). Throws errc::usage, naming what
// is wrong, for a tag name that is not allowed, a tag that exists already
// (tags do not move), an unknown tag or revision, trunk or trunk-previous,
// or an empty request. `fmt` writes hashes in messages; `store` names the
// repository in them.
history edit_history(const history& h, const manifest& head, const tag_request& r, const format_reader& fmt,
                     const std::string& store);

// The tag names of `h`, comma-separated, for messages ("none" when none).
std::string tag_names(const history& h);

// If the journal recorded a tag edit whose manifest is `current` (the store's
// manifest_id), the edit got as far as its manifest: records it as
// published. Returns whether it did. Any thread that owns the journal.
bool adopt_tag_edit(journal& j, const std::string& current);
// Records (synced) that manifest `id` is about to be written by a command
// whose only bookkeeping after it is "published" (a tag edit, catalog-chown),
// so that adopt_tag_edit — which publish, tag, rollback and catalog-chown run
// first — recognises it if the command is killed once it is written.
void note_head_intent(journal& j, const std::string& id);

struct tag_edit_options {
  // Readers refuse the new manifest this long after it is signed (0: never),
  // as a publish sets it (publish_options::expiry_seconds).
  std::int64_t expiry_seconds = 0;
};

// Applies `r` to the repository in `store`, written with `fmt` and signed
// with `key` (ignored by a format with keys of its own). Returns the new
// manifest. Throws errc::usage with nothing changed for bad input or a STATE
// that does not fit the store; other codes for store failures, after which
// the same call can be made again.
awaitable<manifest> edit_tags(backend& store, journal& j, const format_writer& fmt, const signing_key& key,
                              asio::thread_pool& cpu, const tag_request& r, tag_edit_options o);

}  // namespace stratum
