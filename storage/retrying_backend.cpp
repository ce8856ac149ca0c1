// Retries and throttling around any backend (storage/backend.hpp).
//
// Transient failures (5xx, 429, SlowDown, resets, timeouts) are retried with
// capped exponential backoff and equal jitter (a random wait between half and
// all of the interval), never sooner than a Retry-After the server gave; a
// put resends the identical body, the whole of it. Anything
// else (auth, bad request, missing bucket) is rethrown at once: the run
// stops, resumable.
//
// Requests in flight are limited by an adaptive window: each throttling
// answer halves it (not more often than once per 100 ms, so one burst of
// 503s counts once), and every `limit` successes add one, up to the maximum
// (additive increase, multiplicative decrease).
//
// remove_many() of a long list (garbage collection's sweep) is split into
// requests: batches of the store's caps().remove_batch, or single removes
// for a store without a batch call (Azure), each its own retried attempt
// through the window, so a failure at key 900 repeats that request only.
#include "storage/retrying_backend.hpp"

#include "async/budget.hpp"
#include "async/error.hpp"
#include "async/group.hpp"
#include "storage/system_error.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <random>

namespace stratum {
namespace {

class retrying_backend final : public backend {
 public:
  retrying_backend(std::unique_ptr<backend> inner, asio::io_context& io, const retry_policy& p)
      : inner_(std::move(inner)), io_(io), policy_(p), window_(io.get_executor(), p.max_in_flight),
        rng_(std::random_device{}()) {
    stats_.limit = p.max_in_flight;
  }

  store_caps caps() const override { return inner_->caps(); }

  // Every attempt sends the same body with the same digests.
  awaitable<void> put(std::string key, put_body body) override { co_await attempt_void([&] { return inner_->put(key, body); }); }

  awaitable<std::optional<bytes>> get(std::string key, std::uint64_t offset, std::uint64_t length) override {
    co_return co_await attempt([&]() { return inner_->get(key, offset, length); });
  }

  awaitable<std::optional<object_info>> stat(std::string key) override {
    co_return co_await attempt([&]() { return inner_->stat(key); });
  }

  awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit) override {
    co_return co_await attempt([&]() { return inner_->list(prefix, limit); });
  }

  awaitable<void> remove(std::string key) override { co_await attempt_void([&] { return inner_->remove(key); }); }

  awaitable<void> remove_many(std::vector<std::string> keys) override {
    const std::size_t batch = inner_->caps().remove_batch;
    const std::size_t requests = batch ? (keys.size() + batch - 1) / batch : keys.size();
    // A fixed set of workers pulls the next request from the list (all on
    // this executor, so a plain counter), not one coroutine per key: a
    // million keys are a few thousand frames. Single removes fill the
    // window. Batches need few: S3 takes about 3,500 deletes a second per
    // prefix (a DeleteObjects counts each of its keys), and each batch in
    // flight holds a copy of its keys.
    const std::size_t workers = std::min<std::size_t>(requests, batch ? std::min(8u, policy_.max_in_flight) : policy_.max_in_flight);
    std::size_t next = 0;
    auto worker = [&]() -> awaitable<void> {
      while (next < requests) {
        const std::size_t at = next++;
        if (batch) {
          const auto first = keys.begin() + static_cast<std::ptrdiff_t>(at * batch);
          const std::vector<std::string> part(first, first + static_cast<std::ptrdiff_t>(std::min(batch, keys.size() - at * batch)));
          co_await attempt_void([&] { return inner_->remove_many(part); });
        } else {
          co_await attempt_void([&] { return inner_->remove(keys[at]); });
        }
      }
    };
    std::vector<awaitable<void>> tasks;
    for (std::size_t i = 0; i < workers; ++i) tasks.push_back(worker());
    co_await run_all(std::move(tasks));
  }

  awaitable<void> sync() override { co_await attempt_void([&] { return inner_->sync(); }); }

  std::string describe() const override { return inner_->describe(); }

  std::string status() const override {
    std::string s = std::to_string(stats_.in_flight) + " requests in flight (≤ " + std::to_string(stats_.limit) + ")";
    if (stats_.throttled) s += " (slowed down " + std::to_string(stats_.throttled) + "×)";
    if (stats_.retries) s += ", " + std::to_string(stats_.retries) + " retried";
    return s;
  }

  const retry_stats* stats() const override { return &stats_; }

 private:
  template <class Op>
  auto attempt(Op op) -> decltype(op()) {
    for (unsigned n = 1;; ++n) {
      std::chrono::milliseconds wait{0};
      {
        auto slot = co_await wait_for_window();
        struct counting {
          retrying_backend& self;
          counting(retrying_backend& s) : self(s) { self.count(+1); }
          ~counting() { self.count(-1); }
        } counted{*this};
        try {
          auto r = co_await op();
          succeeded();
          co_return r;
        } catch (const error& e) {
          if (!is(e, errc::transient) || n >= policy_.max_attempts) throw;
          wait = backoff(n, e);
        }
      }
      ++stats_.retries;
      co_await sleep(wait);
    }
  }

  // The waits of this layer, whose Asio errors (a cancelled run) leave as
  // stratum errors like everything else from a store.
  awaitable<budget_lease> wait_for_window() {
    boost::system::error_code failure;
    try {
      co_return co_await lease(window_, 1);
    } catch (const boost::system::system_error& e) {
      failure = e.code();
    }
    fail_system(failure, describe() + ": waiting for a request slot");
  }

  awaitable<void> sleep(std::chrono::milliseconds wait) {
    boost::system::error_code failure;
    try {
      asio::steady_timer t(io_, wait);
      co_await t.async_wait(use_awaitable);
      co_return;
    } catch (const boost::system::system_error& e) {
      failure = e.code();
    }
    fail_system(failure, describe() + ": waiting to retry");
  }

  // attempt() for an operation without a result.
  template <class Op>
  awaitable<void> attempt_void(Op op) {
    co_await attempt([&]() -> awaitable<int> {
      co_await op();
      co_return 0;
    });
  }

  void count(int delta) {
    auto now = std::chrono::steady_clock::now();
    const double span = std::chrono::duration<double>(now - last_change_).count();
    if (stats_.in_flight > 0) stats_.in_flight_seconds += stats_.in_flight * span;
    if (stats_.in_flight > 1) {
      stats_.overlap_seconds += span;
      stats_.overlap_in_flight_seconds += stats_.in_flight * span;
    }
    last_change_ = now;
    stats_.in_flight = static_cast<unsigned>(static_cast<int>(stats_.in_flight) + delta);
    stats_.peak_in_flight = std::max(stats_.peak_in_flight, stats_.in_flight);
  }

  void succeeded() {
    if (stats_.limit < policy_.max_in_flight && ++successes_ >= stats_.limit) {
      successes_ = 0;
      window_.set_capacity(++stats_.limit);
    }
  }

  std::chrono::milliseconds backoff(unsigned n, const error& e) {
    if (e.throttled) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_cut_ > std::chrono::milliseconds(100)) {
        last_cut_ = now;
        ++stats_.throttled;
        stats_.limit = std::max(policy_.min_in_flight, stats_.limit / 2);
        window_.set_capacity(stats_.limit);
        successes_ = 0;
      }
    }
    // Equal jitter: between half and all of an exponentially growing, capped
    // interval (never 0, so retries do not come back at once).
    auto ceiling = std::min<std::int64_t>(policy_.cap.count(), policy_.base.count() << std::min(n - 1, 20u));
    std::uniform_int_distribution<std::int64_t> pick(ceiling / 2, ceiling);
    return std::max(std::chrono::milliseconds(pick(rng_)), e.retry_after);
  }

  std::unique_ptr<backend> inner_;
  asio::io_context& io_;
  retry_policy policy_;
  budget window_;
  retry_stats stats_;
  unsigned successes_ = 0;
  std::chrono::steady_clock::time_point last_cut_{}, last_change_{};
  std::mt19937_64 rng_;
};

}  // namespace

std::unique_ptr<backend> make_retrying_backend(std::unique_ptr<backend> inner, asio::io_context& io, const retry_policy& p) {
  return std::make_unique<retrying_backend>(std::move(inner), io, p);
}

}  // namespace stratum
