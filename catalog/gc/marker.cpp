// The mark phase (marker.hpp). Thread: the collection's I/O thread; decoding
// on the CPU pool through the repository.
#include "catalog/gc/marker.hpp"

#include "async/error.hpp"

#include <algorithm>
#include <set>

namespace stratum {

std::vector<kept_revision> revisions_to_keep(const manifest& head, const history& h,
                                             const std::vector<revision_record>& logged, std::int64_t keep_since) {
  std::vector<kept_revision> out;
  std::set<hash256> seen;
  auto keep = [&](std::uint64_t rev, const hash256& root, std::int64_t t, std::string why) {
    if (seen.insert(root).second) out.push_back({rev, root, t, std::move(why)});
  };
  keep(head.revision, head.root, head.timestamp, "current");
  for (const auto& t : h.tags) keep(t.revision, t.root, t.timestamp, "tag " + t.name);
  for (const auto& r : h.revisions)
    if (r.timestamp >= keep_since) keep(r.revision, r.root, r.timestamp, "since");
  for (const auto& r : logged)
    if (r.timestamp >= keep_since) keep(r.revision, r.root, r.timestamp, "since");
  return out;
}

namespace {

class walker {
 public:
  walker(repository& repo, mark_set& marks) : repo_(repo), fmt_(repo.format()), marks_(marks) {}

  // Marks the catalog `c` and its subtree; the catalog's own key last, so a
  // marked catalog always means a marked subtree.
  awaitable<void> walk(std::shared_ptr<const catalog> c, const std::string& key) {
    ++stats.catalogs_read;
    for (const auto& e : c->entries) {
      if (e.object) marks_.add(fmt_.object_key(*e.object, object_kind::file));
      for (const auto& ch : e.chunks) marks_.add(fmt_.object_key(ch.hash, object_kind::chunk));
    }
    for (const auto& n : c->nested) {
      const auto child_key = fmt_.object_key(n.hash, object_kind::catalog);
      if (marks_.contains(child_key)) continue;
      const entry* mount = entry_at(*c, n.path);
      if (!mount) fail(errc::corrupt, "catalog " + key + ": nested catalog at '" + n.path + "' has no mount point entry");
      co_await walk(co_await repo_.load_nested(*c, *mount), child_key);
    }
    marks_.add(key);
  }

  mark_stats stats;

 private:
  repository& repo_;
  const format_reader& fmt_;
  mark_set& marks_;
};

}  // namespace

awaitable<mark_stats> mark(repository& repo, const std::vector<kept_revision>& keep, mark_set& marks,
                           const std::function<void(const std::string&)>& notice) {
  repo.keep_catalogs(false);
  walker w(repo, marks);
  for (const auto& k : keep) {
    const auto key = repo.format().object_key(k.root, object_kind::catalog);
    if (marks.contains(key)) continue;
    std::shared_ptr<const catalog> root;
    try {
      root = co_await repo.load_root(k.root);
    } catch (const std::system_error& e) {
      // Only an untagged old revision of a collectable repository may be
      // gone; anything else missing is damage that a sweep would make worse.
      if (!is(e, errc::not_found) || k.why != "since" || !repo.head().garbage_collectable) throw;
      ++w.stats.revisions_gone;
      if (notice)
        notice("revision " + (k.revision ? std::to_string(k.revision) + " " : std::string()) + "(root catalog " + key +
               ") was collected before; nothing of it to keep");
      continue;
    }
    co_await w.walk(std::move(root), key);
  }
  co_return w.stats;
}

}  // namespace stratum
