// A counting budget (an asynchronous semaphore) for one executor: bounds bytes
// or operations in flight. Waiters are served first come, first served, so a
// large request is not starved by small ones.
// Thread: the executor it is made with (the I/O thread); not thread-safe.
#pragma once

#include "async/async.hpp"

#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <list>

namespace stratum {

class budget {
 public:
  budget(asio::any_io_executor ex, std::size_t capacity);
  budget(const budget&) = delete;
  budget& operator=(const budget&) = delete;

  // Waits until `n` units are free and takes them; returns how many it took.
  // A request larger than the capacity is clamped to it, so it proceeds alone
  // rather than never; that holds for a queued request too when set_capacity
  // lowers the capacity below it. Must be called on the budget's executor.
  // Throws if the caller is cancelled.
  awaitable<std::size_t> acquire(std::size_t n);
  // Returns units taken by acquire (pass the value acquire returned).
  void release(std::size_t n);

  // Changes the capacity. Lowering it takes effect as units are released
  // (nothing already granted is taken back) and clamps queued requests to
  // the new capacity; raising it serves waiters.
  void set_capacity(std::size_t n);

  std::size_t in_use() const noexcept { return used_; }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct waiter {
    std::size_t n;
    asio::steady_timer timer;
    bool granted = false;
  };
  void grant();

  asio::any_io_executor ex_;
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::list<waiter> waiters_;
};

// Holds units of a budget and releases them when destroyed.
class budget_lease {
 public:
  budget_lease() = default;
  budget_lease(budget& b, std::size_t n) : b_(&b), n_(n) {}
  budget_lease(budget_lease&& o) noexcept : b_(std::exchange(o.b_, nullptr)), n_(o.n_) {}
  budget_lease& operator=(budget_lease&& o) noexcept {
    if (this != &o) { reset(); b_ = std::exchange(o.b_, nullptr); n_ = o.n_; }
    return *this;
  }
  ~budget_lease() { reset(); }
  void reset() { if (b_) std::exchange(b_, nullptr)->release(n_); }

 private:
  budget* b_ = nullptr;
  std::size_t n_ = 0;
};

inline awaitable<budget_lease> lease(budget& b, std::size_t n) {
  auto got = co_await b.acquire(n);
  co_return budget_lease(b, got);
}

}  // namespace stratum
