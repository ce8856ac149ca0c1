// The journal (storage/journal/journal.hpp): batches, the lock, group commit,
// the append log.
#include "async/error.hpp"
#include "storage/journal/journal.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <thread>

using namespace stratum;
using namespace stratum::test;

namespace {

std::vector<std::pair<std::string, std::string>> all(const journal& j) {
  std::vector<std::pair<std::string, std::string>> out;
  auto c = j.scan();
  for (c->seek(""); c->valid(); c->next()) out.emplace_back(std::string(c->key()), std::string(c->value()));
  return out;
}

}  // namespace

TEST_CASE("journal batches apply atomically, in order, and survive a reopen") {
  temp_dir d;
  {
    auto j = journal::open(d.path);
    journal::batch b;
    b.put("a1", "one");
    b.put("a2", "two");
    b.put("b1", "three");
    CHECK(b.size() == 3);
    j->write(b);
    CHECK(b.empty());
    CHECK(j->get("a2") == "two");
    CHECK(j->contains("b1"));
    CHECK(!j->contains("b2"));
    CHECK(!j->get("zz"));
    b.erase("a1");
    b.erase_range("b", "c");
    b.put("c", "four");
    j->write(b);
    j->sync();
    CHECK(j->syncs() >= 1);
    CHECK(j->writes() == 6);
  }
  auto j = journal::open(d.path);
  CHECK(all(*j) == std::vector<std::pair<std::string, std::string>>{{"a2", "two"}, {"c", "four"}});
}

TEST_CASE("appended batches apply as one, in order, with every kind of record") {
  temp_dir d;
  auto j = journal::open(d.path);
  journal::batch first, second, group;
  first.put("k1", "a");
  first.put("k2", "b");
  first.put("r1", "c");
  second.erase("k1");
  second.erase_range("r", "s");
  second.put("k2", "replaced");
  group.append(first);
  group.append(second);
  CHECK(first.empty());
  CHECK(second.empty());
  CHECK(group.size() == 6);
  j->write(group);
  CHECK(all(*j) == std::vector<std::pair<std::string, std::string>>{{"k2", "replaced"}});
}

TEST_CASE("a second process on the same STATE is refused with the holder's pid") {
  temp_dir d;
  auto j = journal::open(d.path);
  // The lock is an flock on STATE/lock: a second open file description
  // conflicts even within one process, as another stratum would.
  try {
    journal::open(d.path);
    FAIL("second open succeeded");
  } catch (const std::exception& e) {
    CHECK(is(e, errc::usage));
    CHECK(std::string(e.what()).find("in use by pid " + std::to_string(::getpid())) != std::string::npos);
  }
  j.reset();
  CHECK_NOTHROW(journal::open(d.path));
}

TEST_CASE("group commit syncs many records per flush") {
  temp_dir d;
  journal::options o;
  o.sync_records = 100;
  o.sync_interval = std::chrono::milliseconds(10000);  // only the record count triggers
  auto j = journal::open(d.path, o);
  for (int i = 0; i < 1000; ++i) j->put("k" + std::to_string(i), "v");
  // The syncer thread runs when 100 records are pending; give it a moment.
  for (int i = 0; i < 200 && j->syncs() < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(j->syncs() >= 1);
  CHECK(j->syncs() <= 10);  // never one flush per record
}

TEST_CASE("the append log keeps whole records from several threads, skips a torn tail and empties") {
  temp_dir d;
  const std::string path = d / "intents";
  {
    append_log log(path);
    auto work = [&](char tag) {
      for (int i = 0; i < 500; ++i) log.append(std::string(1, tag) + std::to_string(i) + std::string(i % 200, 'x'));
    };
    std::thread a(work, 'a'), b(work, 'b');
    a.join();
    b.join();
  }
  append_log log(path);  // reopened: the records are in the file
  auto all = log.read_all();
  REQUIRE(all.size() == 1000);
  std::vector<std::string> expect;
  for (char tag : {'a', 'b'})
    for (int i = 0; i < 500; ++i) expect.push_back(std::string(1, tag) + std::to_string(i) + std::string(i % 200, 'x'));
  std::sort(all.begin(), all.end());
  std::sort(expect.begin(), expect.end());
  CHECK(all == expect);

  // A record cut short at the end (a power loss) is left out, the rest stays.
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    const char torn[] = {10, 'p', 'a', 'r'};
    REQUIRE(::write(fd, torn, sizeof torn) == static_cast<ssize_t>(sizeof torn));
    ::close(fd);
  }
  CHECK(log.read_all().size() == 1000);
  CHECK_THROWS(log.append(std::string(256, 'z')));
  log.clear();
  CHECK(log.read_all().empty());
  log.append("after");
  CHECK(log.read_all() == std::vector<std::string>{"after"});
}

TEST_CASE("the journal's memory stays within its bounds while it holds many times more records") {
  temp_dir d;
  journal::options o;
  o.write_buffer_bytes = 1 << 20;
  o.cache_bytes = 1 << 20;
  auto j = journal::open(d.path, o);
  auto walk = j->scan();  // a publish's walker holds one cursor for the whole walk
  walk->seek("");
  const std::string value(100, 'v');
  auto key = [](int i) {
    char k[32];
    std::snprintf(k, sizeof k, "e%06d%c%08d", i / 20, '\0', i);  // 20 entries a directory
    return std::string(k, 16);
  };
  std::mt19937 rnd(19);
  std::uint64_t peak = 0;
  const int rounds = 12, per_round = 20000;  // ~30 MB of records in all
  for (int r = 0; r < rounds; ++r) {
    journal::batch b;
    for (int i = r * per_round; i < (r + 1) * per_round; ++i) {
      b.put(key(i), value);
      if (b.size() == 1000) j->write(b);
    }
    j->write(b);
    if (r % 3 == 2) j->checkpoint(true);
    // Lookups everywhere, present and absent, load index and filter blocks.
    for (int n = 0; n < 2000; ++n) {
      int i = static_cast<int>(rnd() % ((r + 1) * per_round));
      REQUIRE(j->get(key(i)) == value);
      CHECK_FALSE(j->contains("o" + std::to_string(rnd())));
    }
    auto m = j->memory();
    peak = std::max(peak, m.total());
    INFO("round " << r << ": memtables " << m.memtables << ", table readers " << m.table_readers << ", cache " << m.cache);
    // Two memtables, and the one the cursor made at the start still reads;
    // each may pass its size by an arena block (1/8 of it) and the skip
    // list's bookkeeping. 32 MiB buffers (before the bound) reach 18 MiB here.
    CHECK(m.memtables <= 4 * o.write_buffer_bytes);
    // Indexes and filters live in the cache, not beside it: a table file
    // keeps only its properties outside (~4 KiB; bounded by max_open_files).
    CHECK(m.table_readers <= 128 << 10);
    CHECK(m.cache <= 2 * o.cache_bytes);
  }
  CHECK(peak <= 7u << 20);
  walk.reset();
}
