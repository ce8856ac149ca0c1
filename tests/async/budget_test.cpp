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
