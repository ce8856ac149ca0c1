// The io_uring reader. One ring per reader, owned by the I/O thread: every
// submission and every completion happens there, so the ring needs no lock.
//
// Bridge into Asio: the ring signals an eventfd on each completion; a
// posix::stream_descriptor waits on it while operations are pending, and the
// handler drains *every* completion. Asio's epoll reactor is edge-triggered and
// async_wait does not look before it sleeps (reactive_descriptor_service
// start_op with allow_speculative=false), so a completion landing between a
// drain and the next wait would be lost: after arming the wait we look at the
// completion queue once more and drain again if anything is there.
#include "io/reader.hpp"

#include "async/budget.hpp"
#include "async/error.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <fcntl.h>
#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <thread>

namespace stratum {
namespace {

// One logical operation: up to four linked submissions whose results land in
// res[] (the low bits of user_data say which). Lives in the awaiting
// coroutine's frame until the last completion.
struct uring_op {
  std::optional<asio::any_completion_handler<void()>> handler;
  int res[4] = {0, 0, 0, 0};
  unsigned remaining = 0;
};

class uring_reader final : public file_reader {
 public:
  uring_reader(asio::io_context& io, unsigned max_open)
      : io_(io), ev_(io), slots_(io.get_executor(), max_open) {
    io_uring_params p{};
    p.flags = IORING_SETUP_CQSIZE;
    // Three entries per small read (open, read, close) at the slot limit.
    unsigned entries = std::max(64u, std::bit_ceil(max_open * 3));
    p.cq_entries = entries * 2;
    if (int r = io_uring_queue_init_params(entries, &ring_, &p); r < 0)
      throw std::system_error(-r, std::system_category(), "io_uring_queue_init");
    // Registered file slots let open, read and close be one linked chain.
    if (int r = io_uring_register_files_sparse(&ring_, max_open); r < 0) {
      io_uring_queue_exit(&ring_);
      throw std::system_error(-r, std::system_category(), "io_uring_register_files_sparse");
    }
    // io-wq runs the opens and the reads that miss the page cache. Without a
    // cap the kernel may start one worker per pending request; 4 per core
    // keeps an NVMe queue busy without thousands of threads.
    unsigned workers[2] = {4 * std::max(1u, std::thread::hardware_concurrency()), 4 * std::max(1u, std::thread::hardware_concurrency())};
    io_uring_register_iowq_max_workers(&ring_, workers);
    efd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd_ < 0 || io_uring_register_eventfd(&ring_, efd_) < 0) {
      int err = errno;
      if (efd_ >= 0) ::close(efd_);
      io_uring_queue_exit(&ring_);
      throw std::system_error(err, std::system_category(), "io_uring eventfd");
    }
    ev_.assign(efd_);
    free_slots_.resize(max_open);
    for (unsigned i = 0; i < max_open; ++i) free_slots_[i] = max_open - 1 - i;
  }

  ~uring_reader() override {
    ev_.close();
    io_uring_queue_exit(&ring_);
  }

  awaitable<whole_read> read_small(int dir, std::string path, std::size_t size) override {
    auto slot_lease = co_await lease(slots_, 1);
    unsigned slot = free_slots_.back();
    free_slots_.pop_back();
    whole_read out;
    out.data.resize(size);
    uring_op op;
    co_await run(op, 3, [&](io_uring_sqe** s) {
      io_uring_prep_openat_direct(s[0], dir, path.c_str(), O_RDONLY | O_NOFOLLOW, 0, slot);
      s[0]->flags |= IOSQE_IO_LINK;
      io_uring_prep_read(s[1], static_cast<int>(slot), out.data.data(), static_cast<unsigned>(size), 0);
      // A hard link: the close runs even when the read fails or is short.
      s[1]->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
      io_uring_prep_close_direct(s[2], slot);
    });
    free_slots_.push_back(slot);
    if (op.res[0] < 0) {
      out.error = op.res[0];
      out.data.clear();
    } else if (op.res[1] < 0) {
      out.error = op.res[1];
      out.data.clear();
    } else {
      out.data.resize(static_cast<std::size_t>(op.res[1]));
    }
    co_return out;
  }

  awaitable<int> open(int dir, std::string path) override {
    uring_op op;
    co_await run(op, 1, [&](io_uring_sqe** s) {
      io_uring_prep_openat(s[0], dir, path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    });
    co_return op.res[0];
  }

  awaitable<long> read_at(int fd, std::uint64_t offset, std::span<std::uint8_t> into) override {
    std::size_t done = 0;
    while (done < into.size()) {
      uring_op op;
      // One request reads at most 1 GiB; a file chunk is far smaller.
      unsigned len = static_cast<unsigned>(std::min<std::size_t>(into.size() - done, 1u << 30));
      co_await run(op, 1, [&](io_uring_sqe** s) { io_uring_prep_read(s[0], fd, into.data() + done, len, offset + done); });
      if (op.res[0] < 0) {
        if (op.res[0] == -EINTR || op.res[0] == -EAGAIN) continue;
        co_return op.res[0];
      }
      if (op.res[0] == 0) break;
      done += static_cast<std::size_t>(op.res[0]);
    }
    co_return static_cast<long>(done);
  }

  awaitable<void> close(int fd) override {
    uring_op op;
    co_await run(op, 1, [&](io_uring_sqe** s) { io_uring_prep_close(s[0], fd); });
  }

  awaitable<int> stat(int dir, std::string path, file_stat& out) override {
    struct statx sx;
    uring_op op;
    co_await run(op, 1, [&](io_uring_sqe** s) {
      io_uring_prep_statx(s[0], dir, path.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx);
    });
    if (op.res[0] == 0) out = file_stat::from(sx);
    co_return op.res[0];
  }

  const char* name() const override { return "io_uring"; }

 private:
  // Queues `n` linked entries prepared by `prep` and waits for all their
  // completions. `op` and everything the entries point to must outlive it.
  template <class Prep>
  awaitable<void> run(uring_op& op, unsigned n, Prep prep) {
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
        [&](auto handler) {
          op.handler.emplace(std::move(handler));  // emplace: move-assign recurses in 1.81
          op.remaining = n;
          if (io_uring_sq_space_left(&ring_) < n) io_uring_submit(&ring_);
          io_uring_sqe* s[4];
          for (unsigned i = 0; i < n; ++i) s[i] = io_uring_get_sqe(&ring_);
          prep(s);
          for (unsigned i = 0; i < n; ++i) io_uring_sqe_set_data64(s[i], reinterpret_cast<std::uintptr_t>(&op) | i);
          ++pending_;
          schedule_submit();
          arm();
        },
        use_awaitable);
  }

  // Submits once per turn of the event loop, so a burst of reads started by
  // many coroutines costs one system call.
  void schedule_submit() {
    if (submit_scheduled_) return;
    submit_scheduled_ = true;
    asio::post(io_, [this] {
      submit_scheduled_ = false;
      io_uring_submit(&ring_);
    });
  }

  void arm() {
    if (armed_ || pending_ == 0) return;
    armed_ = true;
    ev_.async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
      armed_ = false;
      if (ec) {  // cancelled when idle (see reap), or closed by the destructor
        if (ec == asio::error::operation_aborted && pending_ > 0) arm();
        return;
      }
      std::uint64_t v;
      [[maybe_unused]] auto n = ::read(efd_, &v, sizeof v);
      reap();
    });
    // See the file comment: completions that arrived before the wait was
    // queued raised no edge the reactor could see.
    if (io_uring_cq_ready(&ring_) > 0) asio::post(io_, [this] { reap(); });
  }

  void reap() {
    std::vector<uring_op*> done;
    io_uring_cqe* cqe;
    unsigned head, count = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      auto data = io_uring_cqe_get_data64(cqe);
      auto* op = reinterpret_cast<uring_op*>(data & ~std::uint64_t(7));
      op->res[data & 7] = cqe->res;
      if (--op->remaining == 0) done.push_back(op);
      ++count;
    }
    io_uring_cq_advance(&ring_, count);
    pending_ -= done.size();
    for (auto* op : done) {
      auto h = std::move(*op->handler);
      op->handler.reset();
      asio::post(io_, std::move(h));
    }
    // An idle wait would keep io_context::run() from returning.
    if (pending_ == 0 && armed_) ev_.cancel();
    else arm();
  }

  asio::io_context& io_;
  io_uring ring_{};
  int efd_ = -1;
  asio::posix::stream_descriptor ev_;
  budget slots_;
  std::vector<unsigned> free_slots_;
  std::size_t pending_ = 0;
  bool armed_ = false;
  bool submit_scheduled_ = false;
};

}  // namespace

std::unique_ptr<file_reader> make_uring_reader(asio::io_context& io, unsigned max_open) {
  return std::make_unique<uring_reader>(io, max_open);
}

}  // namespace stratum
