// Group commit of journal batches written by many coroutines of one I/O
// thread: what they write in the same turn of the event loop goes to the
// journal as one RocksDB write. Knows nothing of what the records mean.
//
// Thread: every call runs on the I/O thread that owns the writer (its
// io_context); the write itself runs there too or, with `off_thread`, on the
// blocking pool.
#pragma once

#include "async/async.hpp"
#include "storage/journal/journal.hpp"

#include <exception>
#include <memory>

namespace stratum {

class group_writer {
 public:
  // With `off_thread`, each group's write runs on `blocking`: a RocksDB
  // write costs ~15 us of locking, log append and wake-ups whatever its
  // size, and the I/O thread bounds a publish to a remote store. Without it
  // the write runs on the I/O thread (a local store's publish is bound by
  // the CPU pool; the hand-off there only doubled context switches).
  group_writer(journal& j, asio::io_context& io, asio::thread_pool& blocking, bool off_thread);
  ~group_writer();
  group_writer(const group_writer&) = delete;
  group_writer& operator=(const group_writer&) = delete;

  // Adds the records of `b` to the group being formed (and clears `b`);
  // returns once they are in the journal. The first writer of a group leads:
  // it yields once, so the others queued in the same turn join, waits for
  // the group before it (one write in flight; what arrives meanwhile joins
  // this group), then writes. Throws the write's error to every writer of
  // the group, or errc-less operation_aborted when the caller is cancelled.
  awaitable<void> write(journal::batch& b);

  std::uint64_t groups_written() const { return groups_; }

 private:
  struct group;
  awaitable<void> wait_written(group& g);

  journal& j_;
  asio::io_context& io_;
  asio::thread_pool& blocking_;
  const bool off_thread_;
  std::shared_ptr<group> open_;  // accepting records
  std::shared_ptr<group> last_;  // the latest group led
  std::uint64_t groups_ = 0;
};

}  // namespace stratum
