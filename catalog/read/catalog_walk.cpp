// The depth-first walk over a revision's catalogs (catalog_walk.hpp).
// Thread: the I/O thread; decoding on the CPU pool (repository).
#include "catalog/read/catalog_walk.hpp"

#include "async/error.hpp"
#include "async/group.hpp"

#include <algorithm>
#include <exception>

namespace stratum {
namespace {

// What the walk keeps of a catalog once it has been read: its row and what
// reading its nested catalogs needs (the reference and the mount point's
// entry), not its entries.
struct summary {
  catalog_row row;
  std::vector<std::pair<nested_ref, entry>> kids;
};

summary summarize(const catalog_object& o, const hash256& h, unsigned depth) {
  const catalog& c = *o.cat;
  summary s;
  s.row.path = c.root_path;
  s.row.depth = depth;
  s.row.hash = h;
  s.row.weight = catalog_weight(c);
  s.row.stored_size = o.stored_size;
  s.row.inflated_size = o.inflated_size;
  s.row.nested = c.nested.size();
  s.kids.reserve(c.nested.size());
  for (const auto& n : c.nested) {
    const entry* mount = entry_at(c, n.path);
    if (!mount) fail(errc::corrupt, "nested catalog at '" + n.path + "' has no mount point entry in the catalog of '" + c.root_path + "'");
    s.kids.emplace_back(n, *mount);
  }
  return s;
}

awaitable<void> load_kid(repository& repo, const std::string& parent_root, const std::pair<nested_ref, entry>& kid,
                         unsigned depth, summary& out, std::exception_ptr& failed) {
  try {
    auto o = co_await repo.read_nested(parent_root, kid.first, kid.second);
    out = summarize(o, kid.first.hash, depth);
  } catch (...) {
    failed = std::current_exception();
  }
}

awaitable<void> visit_below(repository& repo, const summary& parent, const std::function<void(const catalog_row&)>& visit,
                            std::size_t siblings) {
  const auto& kids = parent.kids;
  for (std::size_t i = 0; i < kids.size(); i += siblings) {
    const std::size_t n = std::min(siblings, kids.size() - i);
    // A batch of siblings is fetched at once; only their summaries are
    // kept while the first one's subtree is walked.
    std::vector<summary> batch(n);
    std::vector<std::exception_ptr> failed(n);
    std::vector<awaitable<void>> loads;
    for (std::size_t k = 0; k < n; ++k)
      loads.push_back(load_kid(repo, parent.row.path, kids[i + k], parent.row.depth + 1, batch[k], failed[k]));
    co_await run_all(std::move(loads));
    // The first failure in listing order, not in time: the same damaged
    // repository always gets the same message.
    for (auto& e : failed)
      if (e) std::rethrow_exception(e);
    for (auto& s : batch) {
      visit(s.row);
      co_await visit_below(repo, s, visit, siblings);
      s = summary{};
    }
  }
}

}  // namespace

awaitable<void> walk_catalogs(repository& repo, hash256 root, std::function<void(const catalog_row&)> visit,
                              std::size_t siblings) {
  repo.keep_catalogs(false);
  summary top = summarize(co_await repo.read_root(root), root, 0);
  visit(top.row);
  co_await visit_below(repo, top, visit, std::max<std::size_t>(siblings, 1));
}

}  // namespace stratum
