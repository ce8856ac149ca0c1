// `stratum check`: every catalog of every kept revision decodes, every object
// it names exists (or, with -i, verifies). Thread: the I/O thread; objects
// are verified on the CPU pool.
#include "async/error.hpp"
#include "async/group.hpp"
#include "catalog/read/restorer.hpp"

#include <set>

namespace stratum {

awaitable<check_result> check(repository& repo, const check_options& opt) {
  check_result res;
  struct ref {
    hash256 h;
    object_kind kind;
    std::uint64_t size;
    std::string path;
  };
  std::vector<ref> refs;
  std::set<hash256> seen_catalogs;
  std::set<std::pair<hash256, object_kind>> seen_objects;

  // Catalogs are checked as they are walked; objects are queued.
  auto walk = [&](const hash256& root) -> awaitable<void> {
    std::vector<std::pair<hash256, std::string>> todo{{root, ""}};
    while (!todo.empty()) {
      auto [h, mount] = todo.back();
      todo.pop_back();
      if (!seen_catalogs.insert(h).second) continue;
      std::shared_ptr<const catalog> c;
      std::string why;
      try {
        c = co_await repo.load_catalog(h);
      } catch (const std::exception& e) {
        if (ends_run(e)) throw;
        why = e.what();
      }
      if (!c) {
        res.problems.push_back({mount.empty() ? "." : mount, why});
        continue;
      }
      ++res.catalogs;
      for (const auto& e : c->entries) {
        if (!opt.subtree.empty() && !path_within(e.path, opt.subtree) && !path_within(opt.subtree, e.path)) continue;
        if (e.object && seen_objects.emplace(*e.object, object_kind::file).second)
          refs.push_back({*e.object, object_kind::file, e.size, e.path});
        for (const auto& ch : e.chunks)
          if (seen_objects.emplace(ch.hash, object_kind::chunk).second) refs.push_back({ch.hash, object_kind::chunk, ch.size, e.path});
      }
      for (const auto& n : c->nested)
        if (opt.subtree.empty() || path_within(n.path, opt.subtree) || path_within(opt.subtree, n.path)) todo.push_back({n.hash, n.path});
    }
  };
  co_await walk(repo.head().root);
  for (const auto& t : repo.history().tags) co_await walk(t.root);

  std::size_t next = 0;
  auto worker = [&]() -> awaitable<void> {
    while (next < refs.size()) {
      const ref& r = refs[next++];
      auto key = repo.format().object_key(r.h, r.kind);
      std::string why;
      try {
        if (opt.integrity) {
          co_await repo.read_object(r.h, r.kind, r.size);
        } else if (!co_await repo.store().stat(key)) {
          why = "object " + key + " is missing";
        }
      } catch (const std::exception& e) {
        if (ends_run(e)) throw;
        why = e.what();
      }
      if (!why.empty()) res.problems.push_back({r.path, why});
      ++res.objects;
      res.bytes += r.size;
    }
  };
  std::vector<awaitable<void>> workers;
  for (unsigned i = 0; i < std::max(1u, opt.parallel); ++i) workers.push_back(worker());
  co_await run_all(std::move(workers));
  std::sort(res.problems.begin(), res.problems.end(), [](auto& a, auto& b) { return a.path < b.path; });
  co_return res;
}

}  // namespace stratum
