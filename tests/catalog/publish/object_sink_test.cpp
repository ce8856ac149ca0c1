// The object sink (catalog/publish/object_sink.hpp): one store per object
// however many files hold it, claims that end however their holder ends, and
// confirmations in the journal.
#include "catalog/publish/record.hpp"
#include "async/group.hpp"
#include "io/compress.hpp"
#include "stage_fixture.hpp"

using namespace stratum;
using namespace stratum::test;

TEST_CASE("the same content from two files is stored once, the second waits for the first's confirmation") {
  stage_fixture f;
  auto data = as_bytes("the same content");
  auto a = f.sink->prepare(data, object_kind::file);
  auto b = f.sink->prepare(data, object_kind::file);
  CHECK(a.body.data);
  CHECK(a.claim);
  CHECK_FALSE(b.body.data);  // another file is storing it
  CHECK_FALSE(b.claim);
  CHECK(f.sink->claims() == 1);
  bool b_done = false;
  // Named: a coroutine lambda's captures live in the lambda object.
  auto second = [&]() -> awaitable<void> {
    co_await f.sink->store(b);
    b_done = true;
  };
  auto first = [&]() -> awaitable<void> {
    CHECK_FALSE(b_done);  // b cannot finish before a is confirmed
    co_await f.sink->store(a);
  };
  run_io(f.io, [&]() -> awaitable<void> {
    std::vector<awaitable<void>> both;
    both.push_back(second());
    both.push_back(first());
    co_await run_all(std::move(both));
  });
  CHECK(b_done);
  CHECK(f.stats.objects_stored == 1);
  CHECK(f.stats.objects_deduplicated == 1);
  CHECK(f.sink->claims() == 0);
  CHECK(f.j->contains(pj::object_key(a.h, object_kind::file)));
  auto stored = run_io(f.io, [&] { return f.store->get(f.fmt->object_key(a.h, object_kind::file)); });
  REQUIRE(stored);
  CHECK(inflate_object(*stored, data.size(), "test") == bytes(data.begin(), data.end()));
}

TEST_CASE("an object the journal confirmed is not compressed or stored again") {
  stage_fixture f;
  auto data = as_bytes("known");
  auto first = f.sink->prepare(data, object_kind::file);
  run_io(f.io, [&] { return f.sink->store(first); });
  auto again = f.sink->prepare(data, object_kind::file);
  CHECK(again.known);
  CHECK_FALSE(again.body.data);
  CHECK_FALSE(again.claim);
  run_io(f.io, [&] { return f.sink->store(again); });
  CHECK(f.stats.objects_stored == 1);
  CHECK(f.stats.objects_deduplicated == 1);
}

TEST_CASE("a claim ends when its holder drops it, and the next file stores the object") {
  stage_fixture f;
  auto data = as_bytes("dropped");
  {
    auto held = f.sink->prepare(data, object_kind::file);
    CHECK(f.sink->claims() == 1);
  }  // a failing file: its prepared object is destroyed unstored
  CHECK(f.sink->claims() == 0);
  auto next = f.sink->prepare(data, object_kind::file);
  CHECK(next.body.data);
  run_io(f.io, [&] { return f.sink->store(next); });
  CHECK(f.stats.objects_stored == 1);
}

TEST_CASE("with the confirmation left to the caller, the claim lasts until the caller lets it go") {
  stage_fixture f;
  auto data = as_bytes("owner writes");
  auto p = f.sink->prepare(data, object_kind::file);
  journal::batch records;
  run_io(f.io, [&] { return f.sink->store(p, records); });
  // Confirmed by the store, but not yet in the journal: still claimed.
  CHECK(records.size() == 1);
  CHECK_FALSE(f.j->contains(pj::object_key(p.h, object_kind::file)));
  CHECK(f.sink->claims() == 1);
  f.j->write(records);
  p.claim.release();
  CHECK(f.sink->claims() == 0);
}
