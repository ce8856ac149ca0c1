// The journal's rebase onto a published revision (journal_rebase.hpp).
// Thread: the I/O thread that awaits it.
#include "catalog/publish/journal_rebase.hpp"

#include "catalog/publish/record.hpp"

#include <sys/stat.h>

namespace stratum {
namespace {

// Whether the record `r` of the source says exactly what entry `t` of the
// target says. A hardlinked entry on either side is never kept: the
// grouping is the catalog builder's (from the inodes), not the record's.
bool same_as(const pj::entry_record& r, const entry& t) {
  const auto& s = r.st;
  const auto type = entry_type_of(s.mode);
  if (!type || *type != t.type || (s.mode & 07777) != t.mode || s.uid != t.uid || s.gid != t.gid) return false;
  if (s.mtime_sec != t.mtime_sec || s.mtime_nsec != t.mtime_nsec || r.xattrs != t.xattrs) return false;
  if (s.nlink > 1 && t.type != entry_type::directory) return false;
  if (t.hardlink_group != 0) return false;
  switch (t.type) {
    case entry_type::regular:
      if (s.size != t.size) return false;
      if (t.size == 0) return r.state == pj::file_state::none;
      return r.state == pj::file_state::done && r.object == t.object && r.chunks == t.chunks;
    case entry_type::symlink: return r.link_target == t.link_target;
    case entry_type::char_device:
    case entry_type::block_device: return s.rdev == t.rdev;
    default: return true;
  }
}

// A record of `t` with no inode: no stat matches it, so the next publish
// reads the path again, or takes it for deleted.
pj::entry_record record_of(const entry& t) {
  pj::entry_record r;
  r.st.mode = st_mode_type(t.type) | t.mode;
  r.st.uid = t.uid;
  r.st.gid = t.gid;
  r.st.size = t.type == entry_type::regular ? t.size : 0;
  r.st.rdev = t.rdev;
  r.st.nlink = 1;
  r.st.mtime_sec = t.mtime_sec;
  r.st.mtime_nsec = t.mtime_nsec;
  r.xattrs = t.xattrs;
  r.link_target = t.link_target;
  const bool content = t.type == entry_type::regular && t.size > 0;
  r.state = content ? pj::file_state::done : pj::file_state::none;
  if (content) {
    r.object = t.object;
    r.chunks = t.chunks;
  }
  return r;
}

struct walk {
  journal& j;
  repository& repo;
  journal::batch& b;
  rebase_counts n;

  void visit(const entry& t) {
    const std::string key = pj::entry_key(t.path);
    if (auto v = j.get(key); v && same_as(pj::decode_entry(*v, key), t)) {
      ++n.kept;
      return;
    }
    b.put(key, pj::encode_entry(record_of(t)));
    ++n.replaced;
  }

  // Every entry of catalog `c`, then of its nested catalogs (whose root
  // entry is the mount point, visited in `c`).
  awaitable<void> catalog_tree(std::shared_ptr<const catalog> c, bool nested) {
    for (std::size_t i = nested ? 1 : 0; i < c->entries.size(); ++i) visit(c->entries[i]);
    for (const auto& e : c->entries) {
      if (!e.nested_root || e.path == c->root_path) continue;
      auto child = co_await repo.load_nested(*c, e);
      co_await catalog_tree(std::move(child), true);
    }
  }
};

}  // namespace

awaitable<rebase_counts> rebase_journal(journal& j, repository& repo, const hash256& root, journal::batch& b) {
  walk w{j, repo, b, {}};
  auto top = co_await repo.load_root(root);
  co_await w.catalog_tree(std::move(top), false);
  // Records of paths the target does not hold. The cursor's view is taken
  // now; nothing is written to the journal until the caller writes `b`.
  auto c = j.scan();
  const std::string end = pj::prefix_end('e');
  for (c->seek(pj::prefix_begin('e'), end); c->valid(); c->next()) {
    const std::string path = pj::key_path(c->key().substr(1));
    const located there = co_await repo.find(root, path);
    if (!there.e) {
      b.erase(c->key());
      ++w.n.erased;
    }
  }
  for (char kind : {'c', 'p'}) b.erase_range(pj::prefix_begin(kind), pj::prefix_end(kind));
  co_return w.n;
}

}  // namespace stratum
