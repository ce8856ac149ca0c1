// Merges concurrent requests for the same thing: the first caller for a key
// runs the work, later callers for that key wait for it and share its result
// (or its exception). A mount uses it so that 64 readers of one file fetch its
// object once, and 64 lookups in one directory load its catalog once.
// Thread: one executor (the I/O thread); not thread-safe.
#pragma once

#include "async/async.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <exception>
#include <map>
#include <memory>
#include <optional>

namespace stratum {

template <class Key, class T>
class flight_map {
 public:
  // Runs make() (a callable returning awaitable<T>) unless a run for `k` is
  // under way; then waits for that one. make must outlive no caller: it runs
  // inside this call.
  template <class Make>
  awaitable<T> run(Key k, Make make) {
    if (auto it = pending_.find(k); it != pending_.end()) {
      std::shared_ptr<pending> p = it->second;
      boost::system::error_code ec;
      co_await p->done.async_wait(asio::redirect_error(use_awaitable, ec));
      if (p->error) std::rethrow_exception(p->error);
      // Woken without a result: this waiter itself was cancelled.
      if (!p->value) throw boost::system::system_error(asio::error::operation_aborted);
      co_return *p->value;
    }
    auto p = std::make_shared<pending>(co_await asio::this_coro::executor);
    pending_.emplace(k, p);
    try {
      p->value.emplace(co_await make());
    } catch (...) {
      p->error = std::current_exception();
    }
    pending_.erase(k);
    p->done.cancel();
    if (p->error) std::rethrow_exception(p->error);
    co_return *p->value;
  }

  std::size_t in_flight() const { return pending_.size(); }

 private:
  struct pending {
    explicit pending(asio::any_io_executor ex) : done(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer done;  // cancelled when the result is in
    std::optional<T> value;
    std::exception_ptr error;
  };
  std::map<Key, std::shared_ptr<pending>> pending_;
};

}  // namespace stratum
