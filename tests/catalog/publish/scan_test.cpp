// The scan (catalog/publish/scan.hpp): the walker thread's memory stays
// bounded by its limits, not by the width of a directory.
#include "catalog/publish/record.hpp"
#include "catalog/publish/scan.hpp"
#include "stage_fixture.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/stat.h>

using namespace stratum;
using namespace stratum::test;

namespace {

struct scanned {
  std::size_t files = 0;       // handed over to be read
  std::size_t cached_peak = 0;  // scan_stage::cached_dirs_peak
};

// Scans `source` with the fixture's run.
scanned scan_all(stage_fixture& f, const std::string& source) {
  walk_channel walked(f.io, 64);
  auto stage = std::make_unique<scan_stage>(f.run, source, walked, f.blocking);
  std::size_t files = 0;
  bool done = false;
  asio::co_spawn(
      f.io,
      [&]() -> awaitable<void> {
        for (;;) {
          auto b = co_await walked.async_receive(asio::use_awaitable);
          if (!b) break;
          files += b->jobs.size();
        }
        done = true;
      },
      asio::detached);
  stage->start();
  f.io.run();
  REQUIRE(done);
  REQUIRE_FALSE(stage->error());
  return {files, stage->cached_dirs_peak()};
}

}  // namespace

TEST_CASE("a directory of many subdirectories does not hold all their records in memory, and all are walked") {
  stage_fixture f;
  temp_dir src;
  const int wide = 3000;  // past scan_stage::cached_dirs_limit
  ::mkdir((src / "wide").c_str(), 0755);
  for (int i = 0; i < wide; ++i) {
    std::string d = src / ("wide/d" + std::to_string(i));
    ::mkdir(d.c_str(), 0755);
    write_file(d + "/f", "x");
  }
  ::mkdir((src / "narrow").c_str(), 0755);
  for (int i = 0; i < 3; ++i) {
    ::mkdir((src / ("narrow/n" + std::to_string(i))).c_str(), 0755);
    write_file(src / ("narrow/n" + std::to_string(i) + "/f"), "y");
  }
  auto s = scan_all(f, src.path);
  CHECK(s.files == wide + 3);
  CHECK(s.cached_peak <= scan_stage::cached_dirs_limit + 8);
  CHECK(s.cached_peak >= 3);  // the narrow directory's are still cached
  // Every directory was listed by this run and its file recorded.
  for (int i : {0, wide / 2, wide - 1}) {
    auto key = pj::entry_key("wide/d" + std::to_string(i));
    auto v = f.j->get(key);
    REQUIRE(v);
    CHECK(pj::decode_entry(*v, key).listed_run == f.run.fixed().run);
    CHECK(f.j->get(pj::entry_key("wide/d" + std::to_string(i) + "/f")));
  }
}
