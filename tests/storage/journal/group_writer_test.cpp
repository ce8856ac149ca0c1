// Group commit of the I/O thread's journal writes (storage/journal/group_writer.hpp).
#include "async/group.hpp"
#include "storage/journal/group_writer.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

TEST_CASE("writers of one turn share one journal write, and each returns once its records are in") {
  for (bool off_thread : {false, true}) {
    CAPTURE(off_thread);
    temp_dir d;
    auto j = journal::open(d.path);
    asio::io_context io;
    asio::thread_pool blocking(1);
    group_writer w(*j, io, blocking, off_thread);
    int returned = 0;
    auto writer = [&](int i) -> awaitable<void> {
      journal::batch b;
      b.put("k" + std::to_string(i), "v");
      co_await w.write(b);
      CHECK(b.empty());
      CHECK(j->contains("k" + std::to_string(i)));  // in the journal when write() returns
      ++returned;
    };
    run_io(io, [&]() -> awaitable<void> {
      std::vector<awaitable<void>> first;
      for (int i = 0; i < 10; ++i) first.push_back(writer(i));
      co_await run_all(std::move(first));
    });
    CHECK(returned == 10);
    CHECK(w.groups_written() == 1);
    run_io(io, [&] { return writer(10); });
    CHECK(w.groups_written() == 2);
    blocking.join();
  }
}
