// The byte budget (budget.hpp). Thread: the budget's executor (the I/O thread).
#include "async/budget.hpp"

#include <boost/asio/as_tuple.hpp>

#include <algorithm>

namespace stratum {

budget::budget(asio::any_io_executor ex, std::size_t capacity)
    : ex_(std::move(ex)), capacity_(std::max<std::size_t>(capacity, 1)) {}

awaitable<std::size_t> budget::acquire(std::size_t n) {
  n = std::min(n, capacity_);
  if (waiters_.empty() && used_ + n <= capacity_) {
    used_ += n;
    co_return n;
  }
  auto it = waiters_.emplace(waiters_.end(), waiter{n, asio::steady_timer(ex_, asio::steady_timer::time_point::max())});
  co_await it->timer.async_wait(asio::as_tuple(use_awaitable));
  if (it->granted) {  // grant() already added it->n to used_
    n = it->n;        // less than asked if the capacity was lowered meanwhile
    waiters_.erase(it);
    co_return n;
  }
  // Cancelled from outside: leave the queue, and let those behind us try.
  waiters_.erase(it);
  grant();
  throw boost::system::system_error(asio::error::operation_aborted, "waiting for budget");
}

void budget::set_capacity(std::size_t n) {
  capacity_ = std::max<std::size_t>(n, 1);
  grant();
}

void budget::release(std::size_t n) {
  used_ -= std::min(n, used_);
  grant();
}

void budget::grant() {
  for (auto& w : waiters_) {
    if (w.granted) continue;
    // The capacity may have been lowered since w queued: clamp it as acquire
    // clamps a new request, or w (and everyone behind it) would never fit.
    w.n = std::min(w.n, capacity_);
    if (used_ + w.n > capacity_) break;  // first come, first served
    used_ += w.n;
    w.granted = true;
    w.timer.cancel();
  }
}

}  // namespace stratum
