// Publishing a source tree as the next revision of a repository.
//
// Pipeline: a walker thread lists directories (getdents64 + statx) into a
// bounded channel; the I/O thread turns them into a tree and hands regular
// files to `max_files` worker coroutines, each of which reads a file (whole,
// or chunk by chunk above the chunking threshold), hashes and compresses it on
// the CPU pool, and stores objects the store does not have yet. One byte
// budget bounds the file data in memory. When every file is stored, catalogs
// are built bottom-up, then the history, then — after a sync of the store —
// the signed manifest, last.
#pragma once

#include "catalog/catalog.hpp"
#include "catalog/manifest.hpp"
#include "io/chunker.hpp"
#include "io/compress.hpp"
#include "io/reader.hpp"
#include "storage/backend.hpp"

#include <functional>
#include <mutex>
#include <optional>

namespace stratum {

struct publish_options {
  std::string source;
  bool fresh = false;  // --new: the store must be empty; this is revision 1
  compression comp;
  chunk_params chunks;
  // Files in flight. 128 keeps the io_uring queue and both cores busy on
  // small files; more does not help from a warm page cache (STACK.md).
  unsigned max_files = 128;
  // Bytes of file data in memory at once (reads, chunks, compressed bodies).
  // 64 MiB: four 16 MiB chunks; on the Linux tree 64 and 192 MiB ran equally
  // fast (10.4 s) with peak RSS 156 vs 389 MiB.
  std::size_t memory = std::size_t(64) << 20;
  reader_kind reader = reader_kind::automatic;
  std::optional<std::string> tag;
  std::string tag_message;
  std::function<void(const std::string&)> log;  // one-off notices
};

struct problem {
  std::string path;
  std::string message;
};

// Counters for the progress line; written and read on the I/O thread only.
struct publish_stats {
  std::uint64_t dirs = 0, files = 0, bytes = 0;       // scanned
  std::uint64_t files_done = 0, bytes_done = 0;       // read and stored
  std::uint64_t objects_stored = 0, bytes_stored = 0;  // sent to the store
  std::uint64_t objects_deduplicated = 0;              // identical content found
  std::uint64_t catalogs = 0;
  std::uint64_t in_flight = 0;                         // files being processed
  bool scan_done = false;
  const char* phase = "starting";
  const char* reader = "";
};

struct publish_result {
  manifest m;
  catalog_stats totals;
  std::vector<problem> problems;
};

class publisher {
 public:
  publisher(backend& store, asio::io_context& io, asio::thread_pool& cpu, asio::thread_pool& blocking, signing_key key,
            publish_options opt);
  ~publisher();

  // Runs the whole publish. Throws (errc::usage for bad input, other codes
  // for store failures) with nothing published; per-file problems do not
  // throw, they are returned and the rest is published.
  awaitable<publish_result> run();

  const publish_stats& stats() const { return stats_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  publish_stats stats_;
};

}  // namespace stratum
