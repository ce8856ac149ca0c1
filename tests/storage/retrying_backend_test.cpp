// The retry layer (storage/retrying_backend) around a store that fails on
// demand: what is retried, what is not, and what leaves it when the run is
// cancelled.
#include "async/error.hpp"
#include "storage/retrying_backend.hpp"
#include "support.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

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
