// Structured concurrency: run a set of tasks together, cancel the others when
// one fails, and wait for all of them before returning.
// Thread: the awaiting coroutine's executor.
#pragma once

#include "async/async.hpp"

#include <vector>

namespace stratum {

// Runs every task concurrently on the caller's executor. When one throws, the
// others are cancelled (terminal cancellation: their next co_await throws) and
// run_all rethrows the first exception once every task has finished, so no task
// outlives the call. Returns normally when all tasks completed.
awaitable<void> run_all(std::vector<awaitable<void>> tasks);

}  // namespace stratum
