// async/ — the asynchronous core of stratum.
//
// Everything above this layer runs as C++20 coroutines (`awaitable<T>`) on one
// I/O thread's io_context. Blocking or CPU-heavy work is sent to a thread pool
// with run_on() and the coroutine resumes on its own executor afterwards.
// Key terms: a *group* runs tasks concurrently and cancels the rest on the first
// error (group.hpp); a *budget* bounds what is in flight (budget.hpp); errors
// are std::system_error with stratum's category (error.hpp).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <thread>
#include <type_traits>
#include <utility>

namespace stratum {

namespace asio = boost::asio;
template <class T = void> using awaitable = asio::awaitable<T>;
using asio::use_awaitable;

// Runs fn() on `pool` and resumes the calling coroutine on its own executor
// with fn's result. An exception thrown by fn propagates to the caller.
// fn must not touch state owned by the I/O thread unless it is thread-safe.
//
// Pass lambdas that capture by reference ([&]): the caller is suspended until
// fn has run, so its locals stay valid. g++ 12 copies a lambda temporary that
// owns a std::string out of the caller's coroutine frame bitwise and frees
// the string twice (seen under valgrind); reference captures avoid that.
//
// Not co_spawn: Asio 1.81's co_spawn forwards a cancellation to the pool
// through a pointer into its handler, which may be gone by the time the pool
// runs it (seen as a crash when a run failed with work on the pool). The work
// here is short and always runs to the end; the caller sees the cancellation
// at its next operation.
template <class F>
awaitable<std::invoke_result_t<F&>> run_on(asio::thread_pool& pool, F fn) {
  using result = std::invoke_result_t<F&>;
  if constexpr (std::is_void_v<result>) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(
        [&pool](auto handler, F f) {
          auto work = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
          asio::post(pool, [h = std::move(handler), f = std::move(f), work = std::move(work)]() mutable {
            std::exception_ptr e;
            try {
              f();
            } catch (...) {
              e = std::current_exception();
            }
            asio::dispatch(work, [h = std::move(h), e]() mutable { std::move(h)(e); });
          });
        },
        use_awaitable, std::move(fn));
  } else {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, result)>(
        [&pool](auto handler, F f) {
          auto work = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
          asio::post(pool, [h = std::move(handler), f = std::move(f), work = std::move(work)]() mutable {
            std::exception_ptr e;
            result r{};
            try {
              r = f();
            } catch (...) {
              e = std::current_exception();
            }
            asio::dispatch(work, [h = std::move(h), e, r = std::move(r)]() mutable { std::move(h)(e, std::move(r)); });
          });
        },
        use_awaitable, std::move(fn));
  }
}

// Pools shared by a run: `cpu` has one thread per core for hashing and
// compression (and, for a local store, the object write that follows, see
// backend::put_here); `blocking` runs system calls that may sleep (the
// thread-pool file reader, restore writes, store reads), so the I/O thread
// never blocks. Blocking threads: 16, enough to keep cold reads of a
// fallback reader in flight.
struct pools {
  explicit pools(unsigned cpu_threads = 0, unsigned blocking_threads = 16)
      : cpu(cpu_threads ? cpu_threads : cores()), blocking(blocking_threads) {}
  static unsigned cores() { return std::max(1u, std::thread::hardware_concurrency()); }
  asio::thread_pool cpu;
  asio::thread_pool blocking;
};

}  // namespace stratum
