// The scan: the walker thread lists the source tree (io/walker.hpp), compares
// each directory's listing with the journal's record of it, writes what
// changed, and hands the files to read to the I/O thread, one scan_batch per
// directory, through a bounded channel.
//
// Resuming: a directory this run already took in full (before a crash) is
// not listed again; its unfinished files come from the journal. An entry
// whose inode is as recorded keeps the recorded symlink target and xattrs
// (a change to either moves ctime), saving their system calls.
//
// Thread: everything in scan_stage runs on the walker thread it starts;
// the channel is the only thing it shares with the I/O thread.
#pragma once

#include "catalog/publish/file_job.hpp"
#include "catalog/publish/publisher.hpp"
#include "io/walker.hpp"

#include <boost/asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <exception>
#include <thread>
#include <unordered_map>

namespace stratum {

class run_state;

// Directory batches, walker thread -> I/O thread; a null batch ends the walk.
using walk_channel = asio::experimental::concurrent_channel<void(boost::system::error_code, std::shared_ptr<scan_batch>)>;

class scan_stage {
 public:
  // `blocking`: where a send blocked on a full channel completes (the I/O
  // thread may be busy joining the walker then).
  scan_stage(run_state& run, std::string source, walk_channel& out, asio::thread_pool& blocking);
  // Stops the walk and joins the thread.
  ~scan_stage();

  // Starts the walker thread. After it sends the null batch, error() says
  // whether the walk failed.
  void start();
  std::exception_ptr error() const { return error_; }

  // A directory of 100,000 subdirectories had put 100,000 records in the
  // walker's cache of directory records (~30 MB) at once; past this many
  // subdirectories their records are read back from the journal instead (a
  // lookup per directory is cheap next to listing it).
  static constexpr std::size_t cached_dirs_limit = 1024;
  // The most records that cache held at once (for the tests: bounded by the
  // limit, not by a directory's width). Read after the walk.
  std::size_t cached_dirs_peak() const { return w_.dirs_peak; }

 private:
  // Walker thread only.
  struct walker_owned {
    std::unique_ptr<journal::cursor> cursor;  // the journal as the walk began
    // Recorded children of the directory being listed (filled by prefill).
    std::vector<std::pair<std::string, pj::entry_record>> children;
    // Current records of directories taken from their parent's listing and
    // not yet walked (saves a lookup per directory), for listings of at most
    // `cached_dirs_limit` subdirectories; the others' come from the journal.
    std::unordered_map<std::string, pj::entry_record> dirs;
    std::size_t dirs_peak = 0;
    // Listings not yet written: written together, before any file they hold
    // is handed to a worker, or every `pending_limit` records.
    journal::batch pending;
  };
  static constexpr std::size_t pending_limit = 4096;

  void walk();
  void send(std::shared_ptr<scan_batch> b);
  std::optional<std::vector<std::string>> recorded(const std::string& path);
  void prefill(const std::string& path, std::vector<walk_entry>& entries);
  std::shared_ptr<scan_batch> take_listing(walk_dir& d);
  std::optional<pj::entry_record> dir_record(const std::string& path);
  void cache_dir(std::string path, pj::entry_record r);

  run_state& run_;
  journal& j_;
  const std::string source_;
  walk_channel& out_;
  asio::thread_pool& blocking_;
  walker_owned w_;
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;  // written by the walker before its last send
  std::thread thread_;
};

}  // namespace stratum
