// check and restore (catalog/read/restorer.hpp) go on past a bad object but
// not past a store that is down: an outage after the retries ends the command
// (exit 3), it is not a list of per-path problems.
#include "async/error.hpp"
#include "catalog/publish/publisher.hpp"
#include "catalog/read/restorer.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

namespace {

// Forwards to a store; once `down`, every read fails as a store outage does
// after the retry layer gave up.
class outage_backend final : public backend {
 public:
  explicit outage_backend(backend& inner) : inner_(inner) {}
  bool down = false;
  awaitable<void> put(std::string key, put_body body) override { return inner_.put(std::move(key), std::move(body)); }
  awaitable<std::optional<bytes>> get(std::string key, std::uint64_t offset, std::uint64_t length) override {
    if (down) fail(errc::transient, "store unreachable reading " + key);
    return inner_.get(std::move(key), offset, length);
  }
  awaitable<std::optional<object_info>> stat(std::string key) override {
    if (down) fail(errc::transient, "store unreachable asking for " + key);
    return inner_.stat(std::move(key));
  }
  awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit) override {
    return inner_.list(std::move(prefix), limit);
  }
  awaitable<void> remove(std::string key) override { return inner_.remove(std::move(key)); }
  awaitable<void> sync() override { return inner_.sync(); }
  std::string describe() const override { return inner_.describe(); }

 private:
  backend& inner_;
};

struct published {
  temp_dir d;
  asio::io_context io;
  asio::thread_pool cpu{2}, blocking{2};
  std::unique_ptr<backend> mem = make_memory_backend("check-" + d.path);
  outage_backend store{*mem};
  published() {
    make_tree(d / "src", {{'d', "dir"}, {'f', "dir/a", "alpha"}, {'f', "b", "beta"}});
    auto j = journal::open(d.path);
    publish_options o;
    o.source = d / "src";
    o.fresh = true;
    publisher p(store, *j, io, cpu, blocking, signing_key::generate(), o);
    run_io(io, [&] { return p.run(); });
  }
  ~published() {
    cpu.join();
    blocking.join();
  }
};

}  // namespace

TEST_CASE("check ends with the store's error when the store is down, not with per-object problems") {
  published r;
  auto repo = run_io(r.io, [&] { return repository::open(r.store, r.cpu, trust_options{}); });
  const check_options o;  // named: check() keeps a reference across suspensions
  auto ok = run_io(r.io, [&] { return check(*repo, o); });
  CHECK(ok.problems.empty());
  r.store.down = true;
  try {
    run_io(r.io, [&] { return check(*repo, o); });
    FAIL("check returned while the store was down");
  } catch (const std::exception& e) {
    CHECK(is(e, errc::transient));
  }
}

TEST_CASE("restore ends with the store's error when the store is down, not with per-file problems") {
  published r;
  auto repo = run_io(r.io, [&] { return repository::open(r.store, r.cpu, trust_options{}); });
  run_io(r.io, [&] { return repo->load_catalog(repo->head().root); });  // the tree is known; the contents are not
  r.store.down = true;
  restore_options o;
  o.dest = r.d / "out";
  try {
    run_io(r.io, [&] { return restore(*repo, r.blocking, o); });
    FAIL("restore returned while the store was down");
  } catch (const std::exception& e) {
    CHECK(is(e, errc::transient));
  }
}
