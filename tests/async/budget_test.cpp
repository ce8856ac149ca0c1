// The byte budget (async/budget.hpp).
#include "async/budget.hpp"
#include "support.hpp"
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

using namespace stratum;
using namespace stratum::test;

TEST_CASE("budget serves waiters in order and never exceeds capacity") {
  asio::io_context io;
  budget b(io.get_executor(), 10);
  std::vector<int> order;
  std::size_t peak = 0;
  auto user = [&](int id, std::size_t n) -> awaitable<void> {
    auto l = co_await lease(b, n);
    peak = std::max(peak, b.in_use());
    order.push_back(id);
    asio::steady_timer t(io, std::chrono::milliseconds(1));
    co_await t.async_wait(use_awaitable);
  };
  for (int i = 0; i < 6; ++i) asio::co_spawn(io, user(i, i % 2 ? 7 : 3), asio::detached);
  asio::co_spawn(io, user(6, 100), asio::detached);  // clamped to capacity
  io.run();
  CHECK(order.size() == 7);
  CHECK(peak <= 10);
  CHECK(b.in_use() == 0);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
}

TEST_CASE("lowering the capacity below a queued request clamps it instead of stranding the queue") {
  asio::io_context io;
  budget b(io.get_executor(), 10);
  std::vector<std::pair<int, std::size_t>> served;  // (id, units granted)
  auto holder = [&]() -> awaitable<void> {
    auto l = co_await lease(b, 10);
    asio::steady_timer t(io, std::chrono::milliseconds(20));
    co_await t.async_wait(use_awaitable);
  };
  auto user = [&](int id, std::size_t n) -> awaitable<void> {
    auto got = co_await b.acquire(n);
    served.emplace_back(id, got);
    b.release(got);
  };
  auto lower = [&]() -> awaitable<void> {  // while 1 and 2 wait behind the holder
    asio::steady_timer t(io, std::chrono::milliseconds(5));
    co_await t.async_wait(use_awaitable);
    b.set_capacity(4);
  };
  asio::co_spawn(io, holder(), asio::detached);
  asio::co_spawn(io, user(1, 8), asio::detached);
  asio::co_spawn(io, user(2, 3), asio::detached);
  asio::co_spawn(io, lower(), asio::detached);
  // A stranded waiter never wakes: give up after a while rather than hang.
  io.run_for(std::chrono::seconds(2));
  CHECK(served == std::vector<std::pair<int, std::size_t>>{{1, 4}, {2, 3}});
  CHECK(b.in_use() == 0);
  // Let anything stranded finish before the budget is destroyed.
  b.set_capacity(100);
  io.restart();
  io.run();
}
