// The file stage: `max_files` worker coroutines on the I/O thread, each
// taking a file from the scan, reading it (whole, or chunk by chunk above the
// chunking threshold), having it hashed and compressed on the CPU pool,
// storing its objects through the object sink, and recording it as done.
// A file that changes while being read is read again, a few times, then left
// out with a problem record. One byte budget bounds the file data in memory.
//
// Thread: the I/O thread (an io_context with one thread); hashing,
// compression and the stat after a small file's read run on the CPU pool.
#pragma once

#include "async/budget.hpp"
#include "catalog/publish/file_job.hpp"
#include "catalog/publish/scan.hpp"
#include "io/chunker.hpp"
#include "io/reader.hpp"

#include <boost/asio/experimental/channel.hpp>

#include <fcntl.h>

namespace stratum {

// The bytes of the memory budget one large file holds: its read buffer of
// one maximal chunk plus the compressed body of the chunk being stored,
// which is at most the chunk and the stored-block framing (io/compress.hpp).
std::size_t large_file_lease(const chunk_params& p);

// Where the reader finds a source file: AT_FDCWD and its absolute path, or —
// for a path of PATH_MAX bytes or more, which every system call that takes a
// path refuses with ENAMETOOLONG — its directory, opened a part at a time
// (the walker opens each directory relative to its parent), and its name.
struct source_file {
  int dir = AT_FDCWD;  // or a descriptor this object closes
  std::string path;
  source_file() = default;
  source_file(const source_file&) = delete;
  source_file& operator=(const source_file&) = delete;
  ~source_file();
};

class file_stage {
 public:
  file_stage(run_state& run, object_sink& sink, group_writer& writes, file_reader& reader, budget& memory,
             asio::io_context& io, asio::thread_pool& cpu, const publish_options& opt, publish_stats& stats);

  // Takes the scan's batches until the null one and processes every file in
  // them with opt.max_files workers. Returns when all are recorded.
  awaitable<void> run(walk_channel& walked);

  // Reads, stores and records one file (for tests; run() calls it).
  awaitable<void> process(file_job& n);

 private:
  using job_channel = asio::experimental::channel<void(boost::system::error_code, file_job*)>;
  awaitable<void> feed(walk_channel& walked, job_channel& jobs);
  awaitable<void> worker(job_channel& jobs);
  awaitable<std::optional<std::string>> process_small(file_job& n);
  awaitable<std::optional<std::string>> process_large(file_job& n);
  std::optional<std::string> changed_while_read(file_job& n, const source_file& f, const std::optional<file_stat>& after,
                                                std::uint64_t read);
  std::string abs(const std::string& rel) const;
  // Fills `f` for the file at `rel` when its absolute path is PATH_MAX bytes
  // or more. False when its directory cannot be opened (reported).
  awaitable<bool> locate(const std::string& rel, source_file& f);

  run_state& run_;
  object_sink& sink_;
  group_writer& writes_;
  file_reader& reader_;
  budget& memory_;
  asio::io_context& io_;
  asio::thread_pool& cpu_;
  const publish_options& opt_;
  publish_stats& stats_;  // I/O thread only
};

}  // namespace stratum
