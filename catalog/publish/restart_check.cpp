// The objects of an interrupted run checked after a machine restart
// (restart_check.hpp). Thread: the I/O thread.
#include "catalog/publish/restart_check.hpp"

#include "async/error.hpp"
#include "async/group.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/publish/run_state.hpp"

#include <charconv>
#include <cstring>
#include <unordered_set>

namespace stratum {
namespace {

struct confirmed {
  std::string jkey;
  std::string key;
  std::uint64_t size;
};

// An object record's value is "SIZE RUN" (run_state::confirmation).
bool parse_confirmation(std::string_view v, std::uint64_t& size, std::uint64_t& run) {
  auto space = v.find(' ');
  if (space == std::string_view::npos) return false;
  auto a = std::from_chars(v.data(), v.data() + space, size);
  auto b = std::from_chars(v.data() + space + 1, v.data() + v.size(), run);
  return a.ec == std::errc{} && a.ptr == v.data() + space && b.ec == std::errc{} && b.ptr == v.data() + v.size();
}

}  // namespace

awaitable<std::uint64_t> recheck_after_restart(run_state& run, backend& store, const format_writer& fmt,
                                               const std::function<void(const std::string&)>& log) {
  journal& j = run.records();
  const std::uint64_t this_run = run.fixed().run;
  std::vector<confirmed> mine;
  {
    auto c = j.scan();
    const std::string end = pj::prefix_end('o');
    for (c->seek(pj::prefix_begin('o'), end); c->valid(); c->next()) {
      auto k = c->key();
      std::uint64_t size = 0, by = 0;
      // A record that does not parse is not this run's (versions before
      // the run number was recorded wrote the size alone).
      if (k.size() != 34 || !parse_confirmation(c->value(), size, by) || by != this_run) continue;
      hash256 h;
      std::memcpy(h.v.data(), k.data() + 1, 32);
      mine.push_back({std::string(k), fmt.object_key(h, static_cast<object_kind>(k[33])), size});
    }
  }
  if (log)
    log("the machine restarted since the interrupted run: checking the " + std::to_string(mine.size()) +
        " object(s) it stored");
  std::unordered_set<std::string> lost;  // journal object keys
  std::size_t next = 0;
  auto checker = [&]() -> awaitable<void> {
    while (next < mine.size()) {
      const confirmed& o = mine[next++];
      std::optional<object_info> info;
      try {
        info = co_await store.stat(o.key);
      } catch (const std::exception& e) {
        if (!is(e, errc::corrupt)) throw;  // not an object (a FIFO, a symbolic link): lost, stored again
      }
      // Size 0: confirmed by a catalog that names it (journal_from_revision.hpp),
      // whose stored size is not known; present is all that can be checked.
      if (!info || (o.size != 0 && info->size != o.size)) lost.insert(o.jkey);
    }
  };
  std::vector<awaitable<void>> checkers;
  for (int i = 0; i < 64; ++i) checkers.push_back(checker());
  co_await run_all(std::move(checkers));
  if (lost.empty()) co_return 0;
  if (log) log(std::to_string(lost.size()) + " object(s) did not survive the restart; the files naming them are read again");
  journal::batch b;
  for (auto& k : lost) b.erase(k);
  auto names_lost = [&](const pj::entry_record& r) {
    if (r.object && lost.count(pj::object_key(*r.object, object_kind::file))) return true;
    for (auto& ch : r.chunks)
      if (lost.count(pj::object_key(ch.hash, object_kind::chunk))) return true;
    return false;
  };
  {
    auto c = j.scan();
    const std::string end = pj::prefix_end('e');
    for (c->seek(pj::prefix_begin('e'), end); c->valid(); c->next()) {
      auto r = pj::decode_entry(c->value(), c->key());
      if (r.state != pj::file_state::done || !names_lost(r)) continue;
      r.state = pj::file_state::pending;
      r.object.reset();
      r.chunks.clear();
      b.put(c->key(), pj::encode_entry(r));
    }
  }
  b.erase_range(pj::prefix_begin('c'), pj::prefix_end('c'));
  b.put(pj::meta_key("phase"), "files");
  j.write(b);
  j.sync();
  co_return lost.size();
}

}  // namespace stratum
