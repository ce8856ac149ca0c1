// Comparing two revisions (differ.hpp): a merge of two pre-order walks.
// Thread: the I/O thread that awaits diff().
#include "catalog/read/differ.hpp"

#include "async/error.hpp"

#include <algorithm>
#include <cstdlib>
#include <iterator>

namespace stratum {

std::vector<std::string> change_names(std::uint32_t changes) {
  static const char* const names[] = {"content", "size", "type", "mode", "owner", "mtime", "xattrs", "target", "device"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < std::size(names); ++i)
    if (changes & (1u << i)) out.emplace_back(names[i]);
  return out;
}

std::uint32_t entry_changes(const entry& a, const entry& b) {
  std::uint32_t c = 0;
  if (a.type != b.type) {
    c |= change_type;
  } else if (a.type == entry_type::regular) {
    if (a.object != b.object || a.chunks != b.chunks) c |= change_content;
    if (a.size != b.size) c |= change_size;
  } else if (a.type == entry_type::symlink) {
    if (a.link_target != b.link_target) c |= change_target;
  } else if (a.rdev != b.rdev) {
    c |= change_device;
  }
  if (a.mode != b.mode) c |= change_mode;
  if (a.uid != b.uid || a.gid != b.gid) c |= change_owner;
  if (a.mtime_sec != b.mtime_sec || a.mtime_nsec != b.mtime_nsec) c |= change_mtime;
  if (a.xattrs != b.xattrs) c |= change_xattrs;
  return c;
}

hash256 revision_root(repository& repo, const std::string& spec) {
  const auto& h = repo.history();
  if (h.find(spec) || spec.empty() || spec.find_first_not_of("0123456789") != std::string::npos) return repo.root_for(spec);
  const std::uint64_t n = std::strtoull(spec.c_str(), nullptr, 10);
  if (n == repo.head().revision) return repo.head().root;
  for (const auto& v : h.revisions)
    if (v.revision == n) return v.root;
  for (const auto& t : h.tags)
    if (t.revision == n) return t.root;
  std::string tags;
  for (const auto& t : h.tags) tags += (tags.empty() ? "" : ", ") + t.name + " (revision " + std::to_string(t.revision) + ")";
  const std::string store = repo.store().describe();
  if (h.revisions.empty())
    fail(errc::usage, "no revision " + spec + " in " + store + ": its history lists tags only (a CernVM-FS history has no list of " +
                          "revisions), so a number must be a tagged revision's or the current one (" +
                          std::to_string(repo.head().revision) + "); tags: " + tags);
  // The newest 20 at most: a long history would bury the message.
  std::string known = h.revisions.size() > 20 ? "..." : "";
  for (std::size_t i = h.revisions.size() > 20 ? h.revisions.size() - 20 : 0; i < h.revisions.size(); ++i)
    known += (known.empty() ? "" : ", ") + std::to_string(h.revisions[i].revision);
  fail(errc::usage, "no revision " + spec + " in " + store + " (revisions: " + known + "; tags: " + tags + ")");
}

namespace {

// One side's tree in pre-order (path_before), nested catalogs entered only
// when asked to (descend), so that an equal one can be passed over unread.
// Entries of a catalog are in pre-order and hold nothing below its mount
// points; a nested catalog's paths therefore follow its mount point
// directly, and entering it there keeps the order of the whole tree.
class walk {
 public:
  walk(repository& repo, std::shared_ptr<const catalog> root, std::uint64_t& read) : repo_(repo), read_(read) {
    stack_.push_back({std::move(root), 0});
  }

  // The entry the walk stands at, or nullptr at the end.
  const entry* current() {
    while (!stack_.empty() && stack_.back().i >= stack_.back().cat->entries.size()) stack_.pop_back();
    return stack_.empty() ? nullptr : &stack_.back().cat->entries[stack_.back().i];
  }
  // The reference of the nested catalog mounted at the current entry, or
  // nullptr when it is none (a nested catalog's own root is not a mount point
  // of the catalog it roots).
  const nested_ref* mount() {
    const entry* e = current();
    if (!e || !e->nested_root || e->path == stack_.back().cat->root_path) return nullptr;
    const auto& nested = stack_.back().cat->nested;
    auto it = std::lower_bound(nested.begin(), nested.end(), e->path,
                               [](const nested_ref& n, const std::string& p) { return path_before(n.path, p); });
    if (it == nested.end() || it->path != e->path)
      fail(errc::corrupt, "'" + e->path + "' is the mount point of a nested catalog that the catalog of '" +
                              stack_.back().cat->root_path + "' does not name");
    return &*it;
  }
  // Replaces the current mount point by the root entry of its nested
  // catalog, which is then walked before the rest of the parent.
  awaitable<void> descend() {
    auto& top = stack_.back();
    auto parent = top.cat;
    const entry& m = parent->entries[top.i++];
    auto child = co_await repo_.load_nested(*parent, m);
    ++read_;
    stack_.push_back({std::move(child), 0});
  }
  // Past the current entry; at a mount point, past the nested catalog too,
  // which is not read.
  void next() { ++stack_.back().i; }

 private:
  struct frame {
    std::shared_ptr<const catalog> cat;
    std::size_t i;
  };
  repository& repo_;
  std::uint64_t& read_;
  std::vector<frame> stack_;
};

}  // namespace

awaitable<diff_result> diff(repository& repo, const hash256& a, const hash256& b) {
  diff_result r;
  if (a == b) co_return r;
  walk wa(repo, co_await repo.load_root(a), r.catalogs_read);
  walk wb(repo, co_await repo.load_root(b), r.catalogs_read);
  r.catalogs_read += 2;
  for (;;) {
    const entry* ea = wa.current();
    const entry* eb = wb.current();
    if (!ea && !eb) break;
    if (ea && eb && ea->path == eb->path) {
      const nested_ref* ma = wa.mount();
      const nested_ref* mb = wb.mount();
      if (ma && mb && ma->hash == mb->hash) {
        // The same catalog: the same subtree. Its mount point entries are
        // still compared (a writer keeps them equal to the nested root).
        if (auto c = entry_changes(*ea, *eb)) r.changes.push_back({path_change::modified, ea->path, c});
        wa.next();
        wb.next();
        continue;
      }
      // The nested root's entry stands for the directory on that side.
      if (ma) {
        co_await wa.descend();
        continue;
      }
      if (mb) {
        co_await wb.descend();
        continue;
      }
      if (auto c = entry_changes(*ea, *eb)) r.changes.push_back({path_change::modified, ea->path, c});
      wa.next();
      wb.next();
    } else if (ea && (!eb || path_before(ea->path, eb->path))) {
      // Only in A: removed, with all below it (a nested catalog below is read).
      if (wa.mount()) {
        co_await wa.descend();
        continue;
      }
      r.changes.push_back({path_change::removed, ea->path, 0});
      wa.next();
    } else {
      if (wb.mount()) {
        co_await wb.descend();
        continue;
      }
      r.changes.push_back({path_change::added, eb->path, 0});
      wb.next();
    }
  }
  co_return r;
}

}  // namespace stratum
