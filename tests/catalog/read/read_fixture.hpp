// What the read-side tests share: a crafted repository in a memory store,
// and check and restore run on it in process. Thread: the test's thread.
#pragma once

#include "catalog/read/restorer.hpp"
#include "crafted.hpp"
#include "support.hpp"

namespace stratum::test {

struct read_fixture {
  temp_dir d;
  asio::io_context io;
  asio::thread_pool cpu{2}, blocking{2};
  std::unique_ptr<backend> store = make_memory_backend("crafted-" + d.path);
  crafted_store craft{io, *store};

  ~read_fixture() {
    cpu.join();
    blocking.join();
  }

  // Publishes `root` as the current revision after storing `contents`.
  void publish(const catalog& root, const std::vector<std::string>& contents = {}) {
    for (const auto& c : contents) craft.object(c);
    craft.publish(craft.put(root));
  }
  std::unique_ptr<repository> open() {
    return run_io(io, [&] { return repository::open(*store, cpu, trust_options{}); });
  }
  check_result check(const std::string& subtree = "", bool integrity = true) {
    auto repo = open();
    check_options o;  // check() keeps a reference across suspensions
    o.subtree = subtree;
    o.integrity = integrity;
    return run_io(io, [&] { return stratum::check(*repo, o); });
  }
  restore_result restore(const std::string& dest, bool force = false, const std::string& subtree = "") {
    auto repo = open();
    restore_options o;
    o.dest = dest;
    o.force = force;
    o.subtree = subtree;
    return run_io(io, [&] { return stratum::restore(*repo, blocking, o); });
  }
};

// All problems' paths and messages, one per line, for CHECK messages.
inline std::string listed(const std::vector<problem>& ps) {
  std::string s;
  for (auto& p : ps) s += p.path + ": " + p.message + "\n";
  return s;
}

}  // namespace stratum::test
