// The retry layer (storage/retrying_backend) around a store that fails on
// demand: what is retried, what is not, what leaves it when the run is
// cancelled, and how remove_many() splits a long list into retried requests.
#include "async/error.hpp"
#include "storage/retrying_backend.hpp"
#include "support.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>

using namespace stratum;
using namespace stratum::test;
using namespace std::chrono_literals;

namespace {

// A store whose stat() fails with `kind` the first `failures` times.
class failing_backend final : public backend {
 public:
  failing_backend(errc kind, int failures) : kind_(kind), failures_(failures) {}
  int calls = 0;
  awaitable<void> put(std::string, put_body) override { co_return; }
  awaitable<std::optional<bytes>> get(std::string, std::uint64_t, std::uint64_t) override { co_return std::nullopt; }
  awaitable<std::optional<object_info>> stat(std::string key) override {
    if (++calls <= failures_) fail(kind_, "stat " + key + ": injected");
    co_return object_info{key, 1};
  }
  awaitable<std::vector<object_info>> list(std::string, std::size_t) override { co_return std::vector<object_info>{}; }
  awaitable<void> remove(std::string) override { co_return; }
  awaitable<void> sync() override { co_return; }
  std::string describe() const override { return "failing"; }

 private:
  errc kind_;
  int failures_;
};

// The memory store behind a wrapper that counts each key's removes and the
// removes in flight, fails `flaky`'s first remove with errc::transient, and
// declares `batch` (0: one key a request). Each remove yields once, so
// removes sent together overlap.
class counting_removes final : public backend {
 public:
  counting_removes(std::size_t batch, std::string flaky) : inner_(make_memory_backend("t")), batch_(batch), flaky_(std::move(flaky)) {}
  std::map<std::string, int> removes;  // per key, attempts included
  int requests = 0, in_flight = 0, peak = 0;

  store_caps caps() const override { return {.remove_batch = batch_}; }
  awaitable<void> put(std::string key, put_body body) override { co_await inner_->put(key, body); }
  awaitable<std::optional<bytes>> get(std::string key, std::uint64_t o, std::uint64_t n) override { co_return co_await inner_->get(key, o, n); }
  awaitable<std::optional<object_info>> stat(std::string key) override { co_return co_await inner_->stat(key); }
  awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit) override { co_return co_await inner_->list(prefix, limit); }
  awaitable<void> remove(std::string key) override {
    std::vector<std::string> one{key};  // named: g++ 12 rejects a braced list in co_await
    co_await request(std::move(one));
  }
  awaitable<void> remove_many(std::vector<std::string> keys) override {
    REQUIRE(batch_ > 0);  // a store without batches is sent single removes
    CHECK(keys.size() <= batch_);
    co_await request(keys);
  }
  awaitable<void> sync() override { co_return; }
  std::string describe() const override { return "counting"; }

 private:
  awaitable<void> request(std::vector<std::string> keys) {
    ++requests;
    peak = std::max(peak, ++in_flight);
    co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
    --in_flight;
    for (auto& k : keys) ++removes[k];
    for (auto& k : keys)
      if (k == flaky_ && !failed_) {
        failed_ = true;
        fail(errc::transient, "remove " + k + ": injected");
      }
    for (auto& k : keys) co_await inner_->remove(k);
  }
  std::unique_ptr<backend> inner_;
  std::size_t batch_;
  std::string flaky_;
  bool failed_ = false;
};

retry_policy quick() {
  retry_policy p;
  p.base = 1ms;
  p.cap = 2ms;
  return p;
}

}  // namespace

TEST_CASE("transient failures are retried, others are not") {
  asio::io_context io;
  for (auto [kind, failures, retried] : {std::tuple{errc::transient, 3, true}, std::tuple{errc::corrupt, 1, false},
                                          std::tuple{errc::permanent, 1, false}, std::tuple{errc::not_found, 1, false}}) {
    CAPTURE(static_cast<int>(kind));
    auto inner = std::make_unique<failing_backend>(kind, failures);
    auto* raw = inner.get();
    auto b = make_retrying_backend(std::move(inner), io, quick());
    if (retried) {
      auto info = run_io(io, [&]() { return b->stat("k"); });
      CHECK(info->size == 1);
      CHECK(raw->calls == failures + 1);
      CHECK(b->stats()->retries == std::uint64_t(failures));
    } else {
      CHECK_THROWS(run_io(io, [&]() { return b->stat("k"); }));
      CHECK(raw->calls == 1);
    }
  }
}

TEST_CASE("a run cancelled while a request waits to be retried gets a stratum error, not an Asio one") {
  asio::io_context io;
  retry_policy p;
  p.base = 10s;  // the retry waits; the cancellation comes first
  p.cap = 10s;
  auto b = make_retrying_backend(std::make_unique<failing_backend>(errc::transient, 100), io, p);
  asio::cancellation_signal cancel;
  std::exception_ptr thrown;
  asio::co_spawn(io, b->stat("k"), asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, std::optional<object_info>) {
                   thrown = e;
                 }));
  asio::steady_timer later(io, 50ms);
  later.async_wait([&](auto) { cancel.emit(asio::cancellation_type::terminal); });
  io.run();
  REQUIRE(thrown);
  try {
    std::rethrow_exception(thrown);
  } catch (const error& e) {
    CHECK(is(e, errc::transient));
    CHECK(std::string(e.what()).find("failing: waiting to retry") != std::string::npos);
  } catch (const std::exception& e) {
    FAIL("not a stratum error: " << std::string(e.what()));
  }
}

TEST_CASE("remove_many repeats only the request that failed, with many in flight and no more than the window") {
  for (std::size_t batch : {std::size_t{0}, std::size_t{10}}) {
    CAPTURE(batch);
    asio::io_context io;
    auto inner = std::make_unique<counting_removes>(batch, "k/0937");
    auto* raw = inner.get();
    std::vector<std::string> keys;
    for (int i = 0; i < 2000; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "k/%04d", i);
      keys.push_back(name);
      run_io(io, [&]() { return raw->put(name, std::make_shared<const bytes>(bytes{1})); });
    }
    keys.push_back("k/never-there");  // a missing key succeeds
    auto p = quick();
    p.max_in_flight = 16;
    auto b = make_retrying_backend(std::move(inner), io, p);
    run_io(io, [&]() { return b->remove_many(keys); });
    CHECK(run_io(io, [&]() { return b->list("k/", SIZE_MAX); }).empty());
    CHECK(b->stats()->retries == 1);
    // The failed key's request was sent again (its batch: 930..939), no other.
    for (auto& k : keys) {
      CAPTURE(k);
      const bool again = batch ? k.compare(0, 5, "k/093") == 0 : k == "k/0937";
      CHECK(raw->removes[k] == (again ? 2 : 1));
    }
    CHECK(raw->requests == (batch ? 201 + 1 : 2001 + 1));
    CHECK(raw->peak > 1);
    CHECK(raw->peak <= (batch ? 8 : 16));
  }
}
