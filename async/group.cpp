// run_all: tasks joined so the first error cancels the rest (group.hpp).
// Thread: the caller's executor.
#include "async/group.hpp"

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>

namespace stratum {

awaitable<void> run_all(std::vector<awaitable<void>> tasks) {
  if (tasks.empty()) co_return;
  auto ex = co_await asio::this_coro::executor;
  using op_type = decltype(asio::co_spawn(ex, std::move(tasks.front()), asio::deferred));
  std::vector<op_type> ops;
  ops.reserve(tasks.size());
  for (auto& t : tasks) ops.push_back(asio::co_spawn(ex, std::move(t), asio::deferred));
  auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(ops))
                             .async_wait(asio::experimental::wait_for_one_error(), asio::deferred);
  // `order` is completion order: the first task in it that failed is the cause;
  // later failures are the cancellations it triggered.
  for (auto i : order)
    if (errors[i]) std::rethrow_exception(errors[i]);
}

}  // namespace stratum
