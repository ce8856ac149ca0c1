// Publishing a source tree as the next revision of a repository.
//
// Pipeline: a walker thread lists directories (getdents64 + statx), compares
// each listing with the journal's record of that directory, writes what
// changed, and hands the files to read to the I/O thread through a bounded
// channel. `max_files` worker coroutines each read a file (whole, or chunk by
// chunk above the chunking threshold), hash and compress it on the CPU pool,
// store the objects the journal does not know, and record the file as done.
// One byte budget bounds the file data in memory. When every file is done,
// catalogs are built bottom-up from the journal, then the history, then —
// after a sync of the store — the signed manifest, last.
//
// The journal (catalog/publish/record.hpp) makes every step resumable: the
// same call after a crash continues where the last one stopped, and after a
// finished publish it publishes the next revision, reading only the files
// whose inode changed. docs/DESIGN.md, "The journal", has the details.
#pragma once

#include "catalog/format/format.hpp"
#include "catalog/publish/catalog_layout.hpp"
#include "catalog/publish/owner_map.hpp"
#include "io/chunker.hpp"
#include "io/compress.hpp"
#include "io/reader.hpp"
#include "storage/backend.hpp"
#include "storage/journal/journal.hpp"

#include <functional>
#include <optional>

namespace stratum {

struct publish_options {
  std::string source;  // absolute, as recorded in the journal
  bool fresh = false;  // --new: the store must be empty; this is revision 1
  compression comp;
  chunk_params chunks;
  // Files in flight. 128 keeps the io_uring queue and both cores busy on
  // small files; more does not help from a warm page cache (docs/STACK.md).
  unsigned max_files = 128;
  // Bytes of file data in memory at once (reads, chunks, compressed bodies).
  // 64 MiB: four 16 MiB chunks; on the Linux tree 64 and 192 MiB ran equally
  // fast (10.4 s) with peak RSS 156 vs 389 MiB.
  std::size_t memory = std::size_t(64) << 20;
  reader_kind reader = reader_kind::automatic;
  std::optional<std::string> tag;
  std::string tag_message;
  // How long the manifest stays valid after it is signed (its signed
  // `expires`, docs/SECURITY.md); 0: it never expires.
  std::int64_t expiry_seconds = 0;
  std::function<void(const std::string&)> log;  // one-off notices
  // Where nested catalogs go besides marker files (catalog_layout.hpp).
  layout_options layout;
  // What the layout was decided from (the dirtab's text and the weights),
  // "" for markers only: a change publishes a new revision even when no
  // file changed.
  std::string layout_id;
  // The uid/gid maps catalog-chown left in STATE, applied to every entry
  // published (the journal keeps the source's ids); empty: none.
  owner_map owners;
};

struct problem {
  std::string path;
  std::string message;
};

// Counters for the progress line; written and read on the I/O thread only.
struct publish_stats {
  std::uint64_t dirs = 0, files = 0, bytes = 0;       // scanned
  std::uint64_t files_done = 0, bytes_done = 0;       // read and stored, or unchanged
  std::uint64_t files_read = 0;                        // read this time
  std::uint64_t files_unchanged = 0;                   // same inode as recorded: not read
  std::uint64_t objects_stored = 0, bytes_stored = 0;  // sent to the store
  std::uint64_t objects_deduplicated = 0;              // identical content found
  std::uint64_t objects_resent = 0;                    // sent again after a crash
  std::uint64_t in_flight_at_stop = 0;                 // objects the last run was sending when it stopped
  std::uint64_t objects_lost_in_restart = 0;           // confirmed, but gone after a machine restart
  bool resumed = false;
  std::uint64_t catalogs = 0;
  std::uint64_t in_flight = 0;                         // files being processed
  bool scan_done = false;
  const char* phase = "starting";
  const char* reader = "";
};

struct publish_result {
  manifest m;
  bool unchanged = false;          // nothing changed: no new revision was published
  bool already_published = false;  // the interrupted run had written its manifest
  catalog_stats totals;
  layout_stats layout;
  std::string root_text;  // m.root as the format writes it (format_writer::hash_text)
  std::vector<problem> problems;
};

class publisher {
 public:
  // The repository format is stratum's own (compressed with opt.comp)
  // unless `fmt` is given.
  publisher(backend& store, journal& j, asio::io_context& io, asio::thread_pool& cpu, asio::thread_pool& blocking,
            signing_key key, publish_options opt, std::unique_ptr<format_writer> fmt = nullptr);
  ~publisher();

  // Runs the whole publish, or resumes the one the journal holds. Throws
  // (errc::usage for bad input or a STATE that belongs elsewhere, other codes
  // for store or journal failures) with nothing published and the journal
  // resumable; per-file problems do not throw, they are returned and the
  // rest is published.
  awaitable<publish_result> run();

  const publish_stats& stats() const { return stats_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  publish_stats stats_;
};

}  // namespace stratum
