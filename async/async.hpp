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
template <class F>
awaitable<std::invoke_result_t<F&>> run_on(asio::thread_pool& pool, F fn) {
  using result = std::invoke_result_t<F&>;
  return asio::co_spawn(
      pool, [f = std::move(fn)]() mutable -> awaitable<result> { co_return f(); }, use_awaitable);
}

// Pools shared by a run: `cpu` has one thread per core for hashing and
// compression; `blocking` runs system calls that may sleep (local store writes,
// the thread-pool file reader), so the I/O thread never blocks.
// Blocking threads: 16, enough to keep a local store's open/write/rename calls
// busy. On the Linux 6.1 tree (2 cores) strace shows most system time in
// futex hand-offs to this pool; 4 threads measured 9.8-13.2 s against 10.4 s
// for 16 — within this machine's noise, so the default stays until the local
// store writes through io_uring instead of a pool.
struct pools {
  explicit pools(unsigned cpu_threads = 0, unsigned blocking_threads = 16)
      : cpu(cpu_threads ? cpu_threads : cores()), blocking(blocking_threads) {}
  static unsigned cores() { return std::max(1u, std::thread::hardware_concurrency()); }
  asio::thread_pool cpu;
  asio::thread_pool blocking;
};

}  // namespace stratum
