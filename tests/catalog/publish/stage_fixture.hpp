// What the publish stages' unit tests share: a journal in a temporary STATE,
// an in-memory store, the I/O thread's context, the CPU and blocking pools,
// a started run and the sink, as publisher.cpp wires them.
#pragma once

#include "catalog/format/native_format.hpp"
#include "catalog/publish/object_sink.hpp"
#include "catalog/publish/run_state.hpp"
#include "storage/journal/group_writer.hpp"
#include "support.hpp"

namespace stratum::test {

struct stage_fixture {
  temp_dir state;
  std::unique_ptr<journal> j = journal::open(state.path);
  std::unique_ptr<backend> store = make_memory_backend("stage-" + state.path);
  asio::io_context io;
  asio::thread_pool cpu{2};
  asio::thread_pool blocking{2};
  std::unique_ptr<format_writer> fmt = make_native_writer({});
  run_state run{*j, "/source", store->describe(), "key"};
  publish_stats stats;
  std::unique_ptr<group_writer> writes;
  std::unique_ptr<object_sink> sink;

  // Starts run 1 (or resumes the journal's) and builds the stages.
  explicit stage_fixture(bool resume = false) {
    if (resume) run.resume();
    else run.start(1, "", false, true);
    run.open_intents(store->caps().puts_here);
    writes = std::make_unique<group_writer>(*j, io, blocking, !run.fixed().store_here);
    sink = std::make_unique<object_sink>(*store, run, *writes, *fmt, io, stats);
  }
  ~stage_fixture() {
    cpu.join();
    blocking.join();
  }
};

}  // namespace stratum::test
