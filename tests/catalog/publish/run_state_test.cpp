// The run's journal records (catalog/publish/run_state.hpp): start, resume,
// finish, belonging, dirtiness, problems and intents.
#include "catalog/publish/record.hpp"
#include "catalog/publish/run_state.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

TEST_CASE("a STATE belongs to one source and one store") {
  temp_dir d;
  auto j = journal::open(d.path);
  run_state a(*j, "/src", "store-a", "k");
  a.check_belongs(true);  // an empty journal belongs to anyone
  a.start(1, "", false, true);
  a.check_belongs(false);
  run_state other_store(*j, "/src", "store-b", "k");
  CHECK_THROWS_WITH_AS(other_store.check_belongs(false), doctest::Contains("belongs to the publish of '/src' to 'store-a'"),
                       std::system_error);
  run_state other_source(*j, "/elsewhere", "store-a", "k");
  CHECK_THROWS_AS(other_source.check_belongs(false), std::system_error);
  // --new on an interrupted run of the same pair is refused: it would lose it.
  CHECK_THROWS_WITH_AS(a.check_belongs(true), doctest::Contains("without --new to resume"), std::system_error);
  a.finish("1 x y");
  CHECK_NOTHROW(other_store.check_belongs(true));  // a finished STATE may start over elsewhere with --new
}

TEST_CASE("a resumed run takes up its number, its mode and its dirtiness, and finish records the result") {
  temp_dir d;
  auto j = journal::open(d.path);
  {
    run_state r(*j, "/src", "s", "k");
    r.start(4, "3 a b", true, false);
    CHECK(r.fixed().run == 4);
    CHECK_FALSE(r.dirty());
    journal::batch b;
    r.mark_dirty(b);
    r.mark_dirty(b);  // once only
    CHECK(b.size() == 1);
    j->write(b);
    r.report("some/file", "cannot read: Permission denied; not published");
  }
  run_state again(*j, "/src", "s", "k");
  CHECK(again.running());
  again.resume();
  CHECK(again.fixed().run == 4);
  CHECK(again.fixed().resumed);
  CHECK(again.fixed().verify_with_store);
  CHECK(again.dirty());
  auto problems = again.problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].path == "some/file");
  again.finish("4 c d");
  CHECK_FALSE(again.running());
  CHECK(again.meta_or("published", "") == "4 c d");
}

TEST_CASE("objects sent without a confirmation before a stop are found by the resumed run") {
  temp_dir d;
  auto j = journal::open(d.path);
  const std::string sent = pj::object_key(sha256(as_bytes("sent")), object_kind::file);
  const std::string confirmed = pj::object_key(sha256(as_bytes("confirmed")), object_kind::file);
  {
    run_state r(*j, "/src", "remote", "k");
    r.start(1, "", false, true);
    CHECK(r.open_intents(false) == 0);  // a remote store: intents are kept
    CHECK_FALSE(r.fixed().store_here);
    CHECK_FALSE(r.begin_sending(sent));
    CHECK_FALSE(r.begin_sending(confirmed));
    j->put(confirmed, r.confirmation(10));
  }  // stopped here
  run_state resumed(*j, "/src", "remote", "k");
  resumed.resume();
  CHECK(resumed.open_intents(false) == 1);  // `sent` only
  CHECK(resumed.begin_sending(sent));
  CHECK_FALSE(resumed.begin_sending(pj::object_key(sha256(as_bytes("new")), object_kind::file)));
  resumed.finish("1 a b");
  run_state next(*j, "/src", "remote", "k");
  next.start(2, "1 a b", false, false);
  CHECK(next.open_intents(false) == 0);  // finish emptied them
}

TEST_CASE("a store that writes from the calling thread keeps no intents") {
  temp_dir d;
  auto j = journal::open(d.path);
  run_state r(*j, "/src", "local", "k");
  r.start(1, "", false, true);
  CHECK(r.open_intents(true) == 0);
  CHECK(r.fixed().store_here);
  run_state verifying(*j, "/src", "local", "k");
  verifying.start(1, "", true, true);
  verifying.open_intents(true);
  CHECK_FALSE(verifying.fixed().store_here);  // the store is asked first
}
