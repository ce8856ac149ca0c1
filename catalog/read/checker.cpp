// `stratum check`: every catalog of every kept revision decodes, every object
// it names exists (or, with -i, verifies). Thread: the I/O thread; objects
// are verified on the CPU pool.
#include "async/error.hpp"
#include "async/group.hpp"
#include "catalog/read/restorer.hpp"

#include <map>
#include <set>

namespace stratum {

namespace {

std::string normalized(std::string p) {
  while (!p.empty() && p.back() == '/') p.pop_back();
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  return p;
}

}  // namespace

awaitable<check_result> check(repository& repo, const check_options& opt) {
  check_result res;
  struct ref {
    hash256 h;
    object_kind kind;
    std::uint64_t size;
    std::string path;
  };
  std::vector<ref> refs;
  std::set<hash256> walked;
  std::set<std::pair<hash256, std::string>> tried;  // (catalog, where it is mounted): checked once
  std::map<hash256, std::string> mounted_at;  // nested catalog -> the path it was first found at
  std::set<std::pair<hash256, object_kind>> seen_objects;
  const std::string subtree = normalized(opt.subtree);
  auto wanted = [&](const std::string& path) {
    return subtree.empty() || path_within(path, subtree) || path_within(subtree, path);
  };

  std::vector<hash256> roots{repo.head().root};
  if (auto& why = repo.history_problem()) res.problems.push_back({".", *why + "; tagged revisions are not checked"});
  else for (const auto& t : repo.history().tags) roots.push_back(t.root);

  // A subtree that none of the revisions holds is a mistake in the command,
  // not a clean bill of health. A revision whose catalogs cannot be read
  // might hold it: the walk below reports those.
  if (!subtree.empty()) {
    bool found = false, unknown = false;
    for (const auto& r : roots) {
      try {
        if ((co_await repo.find(r, subtree)).e) found = true;
      } catch (const std::exception& e) {
        if (ends_run(e)) throw;
        unknown = true;
      }
      if (found) break;
    }
    if (!found && !unknown)
      fail(errc::usage, "no '" + subtree + "' in the current or tagged revisions of " + repo.store().describe() +
                            "; give a path that exists (stratum ls shows them)");
  }

  // Catalogs are checked as they are walked — every mount of a nested
  // catalog, even one already walked, since the same object mounted at
  // another path is what restore refuses; objects are queued.
  std::vector<std::shared_ptr<const catalog>> todo;
  auto take = [&](const hash256& h, std::shared_ptr<const catalog> c) {
    if (!walked.insert(h).second) return;
    ++res.catalogs;
    todo.push_back(std::move(c));
  };
  for (const auto& root : roots) {
    if (!tried.emplace(root, "").second) continue;  // trunk is the current revision
    std::shared_ptr<const catalog> c;
    try {
      c = co_await repo.load_root(root);
    } catch (const std::exception& e) {
      if (ends_run(e)) throw;
      res.problems.push_back({".", e.what()});
    }
    if (c) take(root, c);
    while (!todo.empty()) {
      auto cat = std::move(todo.back());
      todo.pop_back();
      for (const auto& e : cat->entries) {
        if (!wanted(e.path)) continue;
        if (e.object && seen_objects.emplace(*e.object, object_kind::file).second)
          refs.push_back({*e.object, object_kind::file, e.size, e.path});
        for (const auto& ch : e.chunks)
          if (seen_objects.emplace(ch.hash, object_kind::chunk).second) refs.push_back({ch.hash, object_kind::chunk, ch.size, e.path});
      }
      for (const auto& n : cat->nested) {
        if (!wanted(n.path)) continue;
        if (auto first = mounted_at.find(n.hash); first != mounted_at.end() && first->second != n.path) {
          res.problems.push_back({n.path, "catalog " + repo.format().object_key(n.hash, object_kind::catalog) + " is mounted at '" +
                                              n.path + "' and at '" + first->second + "'; one catalog has one root"});
          continue;
        }
        if (!tried.emplace(n.hash, n.path).second) continue;
        std::shared_ptr<const catalog> sub;
        try {
          const entry* mount = entry_at(*cat, n.path);
          if (!mount) fail(errc::corrupt, "nested catalog at '" + n.path + "' has no mount point entry");
          sub = co_await repo.load_nested(*cat, *mount);
        } catch (const std::exception& e) {
          if (ends_run(e)) throw;
          res.problems.push_back({n.path, e.what()});
        }
        if (!sub) continue;
        mounted_at.emplace(n.hash, n.path);
        take(n.hash, sub);
      }
    }
  }

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
