// One regular file to read and store, as the scan hands it to the file stage,
// and what the walker thread hands the I/O thread for one directory.
//
// A job is created on the walker thread and owned by the I/O thread from the
// moment it is received; it passes between coroutines as a plain pointer
// (g++ 12 mis-copies aggregates holding a std::string that are passed by value
// into coroutines, see async/async.hpp run_on).
#pragma once

#include "catalog/publish/object_sink.hpp"
#include "catalog/publish/record.hpp"
#include "storage/journal/journal.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace stratum {

struct file_job {
  std::string path;  // relative to the source root
  pj::entry_record rec;
  std::int64_t read_started_ns = 0;  // CLOCK_REALTIME when the current read began
  journal::batch records;            // written with the file's record
  object_claim claim;                // ends once `records` are written
};

struct scan_batch {
  std::vector<file_job*> jobs;  // owned until received
  std::uint64_t dirs = 0, files = 0, bytes = 0, unchanged = 0, unchanged_bytes = 0;
  scan_batch() = default;
  scan_batch(const scan_batch&) = delete;
  scan_batch& operator=(const scan_batch&) = delete;
  ~scan_batch() {
    for (file_job* j : jobs) delete j;
  }
};

}  // namespace stratum
