// Group commit of the I/O thread's journal writes (group_writer.hpp).
// Thread: the owning I/O thread; the RocksDB write may run on the blocking pool.
#include "storage/journal/group_writer.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace stratum {

struct group_writer::group {
  journal::batch b;
  asio::steady_timer written;  // cancelled when done
  bool done = false;
  std::exception_ptr error;
  explicit group(asio::io_context& io) : written(io, asio::steady_timer::time_point::max()) {}
};

group_writer::group_writer(journal& j, asio::io_context& io, asio::thread_pool& blocking, bool off_thread)
    : j_(j), io_(io), blocking_(blocking), off_thread_(off_thread) {}

group_writer::~group_writer() = default;

awaitable<void> group_writer::wait_written(group& g) {
  while (!g.done) {
    boost::system::error_code ec;
    co_await g.written.async_wait(asio::redirect_error(use_awaitable, ec));
    auto cs = co_await asio::this_coro::cancellation_state;
    if (!g.done && cs.cancelled() != asio::cancellation_type::none)
      throw boost::system::system_error(asio::error::operation_aborted);
  }
}

awaitable<void> group_writer::write(journal::batch& b) {
  if (auto g = open_) {
    g->b.append(b);
    co_await wait_written(*g);
    if (g->error) std::rethrow_exception(g->error);
    co_return;
  }
  auto g = open_ = std::make_shared<group>(io_);
  g->b.append(b);
  auto before = std::exchange(last_, g);
  try {
    co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
    if (before) co_await wait_written(*before);  // its error is its writers'
  } catch (...) {
    g->error = std::current_exception();
  }
  open_.reset();  // only a group's leader closes it
  if (!g->error) {
    try {
      if (off_thread_) co_await run_on(blocking_, [&] { j_.write(g->b); });
      else j_.write(g->b);
      ++groups_;
    } catch (...) {
      g->error = std::current_exception();
    }
  }
  g->done = true;
  g->written.cancel();
  if (g->error) std::rethrow_exception(g->error);
}

}  // namespace stratum
