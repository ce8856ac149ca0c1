// The mounted tree (mount_tree.hpp): catalogs indexed for lookups, inode
// numbers, attributes and the catalogs kept while the kernel holds them.
// Thread: the I/O thread; building an index runs on the CPU pool.
#include "catalog/read/mount_tree.hpp"

#include "async/error.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <unordered_map>

namespace stratum {

namespace {

// Entries of recently used catalogs kept loaded beyond those the kernel
// holds (~100 bytes each decoded): what a walk revisits stays in memory.
constexpr std::uint64_t recent_entries_most = 400000;

}  // namespace

struct mount_tree::indexed : std::enable_shared_from_this<indexed> {
  hash256 hash;
  std::shared_ptr<const catalog> cat;
  std::uint64_t base = 0;
  // Children of entry i: kids[first[i] .. first[i + 1]), in name order.
  std::vector<std::uint32_t> first, kids;
  // The hardlink group's first member (its inode), or i itself.
  std::vector<std::uint32_t> leader;
  std::vector<std::uint32_t> nlink;
  std::uint64_t kernel_refs = 0;
  // The range of entries small_files_below() went through last.
  std::size_t scanned_from = 0, scanned_to = 0;
  bool in_recent = false;
  std::list<indexed*>::iterator recent;
};

namespace {

std::shared_ptr<mount_tree::indexed> make_index(std::shared_ptr<const catalog> cat, const hash256& h, const std::string& what);

}  // namespace

std::size_t file_content::unit_at(std::uint64_t at) const {
  auto it = std::upper_bound(units.begin(), units.end(), at, [](std::uint64_t a, const unit& u) { return a < u.offset; });
  return static_cast<std::size_t>(it - units.begin()) - 1;
}

mount_tree::where mount_tree::at(std::uint64_t ino) const {
  if (ino == root_ino) return {root_.get(), 0};
  auto it = by_base_.upper_bound(ino);
  if (it != by_base_.begin()) {
    --it;
    if (ino - it->first < it->second->cat->entries.size()) return {it->second, static_cast<std::uint32_t>(ino - it->first)};
  }
  throw std::system_error(ESTALE, std::generic_category(), "inode " + std::to_string(ino) + " is not in the mounted tree");
}

const entry& mount_tree::entry_of(const where& w) const { return w.cat->cat->entries[w.index]; }

std::uint64_t mount_tree::ino_of(const indexed& c, std::uint32_t index) const {
  if (&c == root_.get() && index == 0) return root_ino;
  return c.base + c.leader[index];
}

struct stat mount_tree::stat_of(const indexed& c, std::uint32_t index, std::uint64_t ino) const {
  const entry& e = c.cat->entries[index];
  struct stat st{};
  st.st_ino = ino;
  st.st_mode = st_mode_type(e.type) | e.mode;
  st.st_nlink = c.nlink[index];
  st.st_uid = e.uid;
  st.st_gid = e.gid;
  st.st_size = static_cast<off_t>(e.type == entry_type::directory ? 4096 : e.size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>((static_cast<std::uint64_t>(st.st_size) + 511) / 512);
  st.st_mtim = {e.mtime_sec, static_cast<long>(e.mtime_nsec)};
  st.st_atim = st.st_mtim;
  st.st_ctim = st.st_mtim;
  if (e.type == entry_type::char_device || e.type == entry_type::block_device) st.st_rdev = static_cast<dev_t>(e.rdev);
  return st;
}

awaitable<std::vector<std::string>> mount_tree::show(repository& repo, hash256 root, std::uint64_t revision) {
  repo_ = &repo;
  repo.keep_catalogs(false);  // this tree keeps them (by_hash_), and drops them
  auto fresh = co_await load(root, nullptr, nullptr);
  std::vector<std::string> names;
  auto old = root_;
  revision_ = revision;
  if (old == fresh) co_return names;
  for (auto* c : {old.get(), fresh.get()})
    if (c)
      for (auto i = c->first[0]; i < c->first[1]; ++i) names.emplace_back(c->cat->entries[c->kids[i]].name());
  root_ = fresh;
  if (old) maybe_drop(*old);
  co_return names;
}

awaitable<mount_tree::where> mount_tree::inside(where w) {
  const entry& e = entry_of(w);
  if (e.type != entry_type::directory) throw std::system_error(ENOTDIR, std::generic_category(), e.path);
  if (!e.nested_root || w.index == 0) co_return w;
  // A mount point in its parent catalog: its children are the nested one's.
  auto parent = w.cat->cat;
  auto it = std::lower_bound(parent->nested.begin(), parent->nested.end(), e.path,
                             [](const nested_ref& n, const std::string& p) { return path_before(n.path, p); });
  if (it == parent->nested.end() || it->path != e.path)
    fail(errc::corrupt, "'" + e.path + "' is not the mount point of a nested catalog in the catalog of '" + parent->root_path + "'");
  auto child = co_await load(it->hash, parent, &e);
  co_return where{child.get(), 0};
}

awaitable<std::shared_ptr<mount_tree::indexed>> mount_tree::load(const hash256& h, std::shared_ptr<const catalog> parent,
                                                                 const entry* mount) {
  if (auto it = by_hash_.find(h); it != by_hash_.end()) {
    used(*it->second);
    co_return it->second;
  }
  auto c = co_await loading_.run(h, [&]() -> awaitable<std::shared_ptr<indexed>> {
    std::shared_ptr<const catalog> cat;  // (g++ 12: no co_await inside ?:)
    if (mount) cat = co_await repo_->load_nested(*parent, *mount);
    else cat = co_await repo_->load_root(h);
    const std::string what = "catalog " + repo_->format().object_key(h, object_kind::catalog);
    auto ix = co_await run_on(cpu_, [&] { return make_index(cat, h, what); });
    co_return adopt(std::move(ix));
  });
  used(*c);
  co_return c;
}

std::shared_ptr<mount_tree::indexed> mount_tree::adopt(std::shared_ptr<indexed> c) {
  if (auto it = by_hash_.find(c->hash); it != by_hash_.end()) return it->second;
  c->base = next_base_;
  next_base_ += c->cat->entries.size();
  by_hash_.emplace(c->hash, c);
  by_base_.emplace(c->base, c.get());
  ++loaded_;
  return c;
}

void mount_tree::used(indexed& c) {
  if (c.in_recent) {
    recent_.splice(recent_.end(), recent_, c.recent);
    return;
  }
  c.recent = recent_.insert(recent_.end(), &c);
  c.in_recent = true;
  recent_entries_ += c.cat->entries.size();
  // The least recently used go, down to the bound; the one just used stays.
  while (recent_entries_ > recent_entries_most && recent_.size() > 1) {
    indexed* old = recent_.front();
    recent_.pop_front();
    old->in_recent = false;
    recent_entries_ -= old->cat->entries.size();
    maybe_drop(*old);
  }
}

void mount_tree::maybe_drop(indexed& c) {
  if (c.kernel_refs || c.in_recent || &c == root_.get()) return;
  by_base_.erase(c.base);
  by_hash_.erase(c.hash);  // may free c: nothing after this
}

awaitable<std::optional<struct stat>> mount_tree::lookup(std::uint64_t parent, std::string name) {
  where d = co_await inside(at(parent));
  auto keep = d.cat->shared_from_this();  // held across the fetch below
  const indexed& c = *d.cat;
  const auto b = c.kids.begin() + c.first[d.index], e = c.kids.begin() + c.first[d.index + 1];
  auto it = std::lower_bound(b, e, name, [&](std::uint32_t k, const std::string& n) { return c.cat->entries[k].name() < n; });
  if (it == e || c.cat->entries[*it].name() != name) co_return std::nullopt;
  where w{d.cat, *it};
  if (entry_of(w).nested_root) w = co_await inside(w);
  const std::uint64_t ino = ino_of(*w.cat, w.index);
  if (ino != root_ino) ++w.cat->kernel_refs;
  co_return stat_of(*w.cat, w.index, ino);
}

std::optional<struct stat> mount_tree::hold(std::uint64_t ino) {
  const where w = at(ino);
  if (w.index != 0 && entry_of(w).nested_root) return std::nullopt;
  if (ino != root_ino) ++w.cat->kernel_refs;
  return stat_of(*w.cat, w.index, ino);
}

void mount_tree::forget(std::uint64_t ino, std::uint64_t n) {
  if (ino == root_ino) return;
  where w;
  try {
    w = at(ino);
  } catch (const std::exception&) {
    return;
  }
  w.cat->kernel_refs -= std::min(w.cat->kernel_refs, n);
  maybe_drop(*w.cat);
}

struct stat mount_tree::attr(std::uint64_t ino) const {
  const where w = at(ino);
  return stat_of(*w.cat, w.index, ino);
}

awaitable<std::vector<dir_row>> mount_tree::list(std::uint64_t ino) {
  where d = co_await inside(at(ino));
  const indexed& c = *d.cat;
  std::vector<dir_row> rows;
  rows.reserve(c.first[d.index + 1] - c.first[d.index]);
  for (auto i = c.first[d.index]; i < c.first[d.index + 1]; ++i) {
    const std::uint32_t k = c.kids[i];
    const entry& e = c.cat->entries[k];
    // A mount point's inode is its nested catalog's, known once that is
    // loaded; before, the number of its entry here (never another's).
    std::uint64_t n = ino_of(c, k);
    if (e.nested_root)
      if (auto nested = nested_for(*c.cat, e.path))
        if (auto it = by_hash_.find(nested->hash); it != by_hash_.end()) n = it->second->base;
    rows.push_back({std::string(e.name()), n, st_mode_type(e.type) | e.mode});
  }
  co_return rows;
}

const std::string& mount_tree::link(std::uint64_t ino) const {
  const entry& e = entry_of(at(ino));
  if (e.type != entry_type::symlink) throw std::system_error(EINVAL, std::generic_category(), e.path);
  return e.link_target;
}

std::vector<small_file> mount_tree::small_files_below(std::uint64_t ino, std::uint64_t max_size, std::size_t most, bool& continued) {
  std::vector<small_file> out;
  const where w = at(ino);
  indexed& c = *w.cat;
  const auto& es = c.cat->entries;
  const std::string& dir = es[w.index].path;
  // A walker going down a subtree lists each directory of a range an
  // ancestor's listing already went through: carry on where that stopped,
  // so the files are scanned once, not once a directory above them.
  std::size_t k = w.index + 1;
  continued = k >= c.scanned_from && k < c.scanned_to;
  if (continued) k = c.scanned_to;
  else c.scanned_from = k;
  for (; k < es.size() && out.size() < most && path_within(es[k].path, dir); ++k) {
    const entry& e = es[k];
    if (e.type == entry_type::regular && e.object && e.size <= max_size) out.push_back({ino_of(c, static_cast<std::uint32_t>(k)), {0, e.size, *e.object, object_kind::file},
                     e.path.find('/', dir.empty() ? 0 : dir.size() + 1) == std::string::npos});
  }
  c.scanned_to = std::max<std::size_t>(c.scanned_to, k);
  return out;
}

std::shared_ptr<const file_content> mount_tree::content(std::uint64_t ino) const {
  const entry& e = entry_of(at(ino));
  if (e.type != entry_type::regular)
    throw std::system_error(e.type == entry_type::directory ? EISDIR : EINVAL, std::generic_category(), e.path);
  auto f = std::make_shared<file_content>();
  f->size = e.size;
  if (e.object) f->units.push_back({0, e.size, *e.object, object_kind::file});
  std::uint64_t off = 0;
  for (const auto& ch : e.chunks) {
    f->units.push_back({off, ch.size, ch.hash, object_kind::chunk});
    off += ch.size;
  }
  return f;
}

std::vector<std::string> mount_tree::xattr_names(std::uint64_t ino) const {
  std::vector<std::string> names;
  for (const auto& x : entry_of(at(ino)).xattrs) names.push_back(x.first);
  return names;
}

std::optional<std::string> mount_tree::xattr(std::uint64_t ino, const std::string& name) const {
  const where w = at(ino);
  const entry& e = entry_of(w);
  for (const auto& x : e.xattrs)
    if (x.first == name) return x.second;
  const auto& f = repo_->format();
  if (name == "user.stratum.revision") return std::to_string(revision_);
  if (name == "user.stratum.catalog") return f.hash_text(w.cat->hash);
  if (name == "user.stratum.hash" && e.object) return f.hash_text(*e.object);
  if (name == "user.stratum.chunks" && !e.chunks.empty()) return std::to_string(e.chunks.size());
  return std::nullopt;
}

std::string mount_tree::path(std::uint64_t ino) const {
  try {
    return "/" + entry_of(at(ino)).path;
  } catch (const std::exception&) {
    return "inode " + std::to_string(ino);
  }
}

const catalog_stats& mount_tree::totals() const { return root_->cat->stats; }

mount_tree_stats mount_tree::stats() const {
  mount_tree_stats s;
  s.catalogs_loaded = loaded_;
  s.catalogs_live = by_hash_.size();
  for (const auto& [h, c] : by_hash_) s.entries_live += c->cat->entries.size();
  return s;
}

namespace {

std::shared_ptr<mount_tree::indexed> make_index(std::shared_ptr<const catalog> cat, const hash256& h, const std::string& what) {
  auto c = std::make_shared<mount_tree::indexed>();
  c->hash = h;
  c->cat = std::move(cat);
  const auto& es = c->cat->entries;
  const auto n = static_cast<std::uint32_t>(es.size());
  if (n == 0) fail(errc::corrupt, what + " has no entries");
  // Pre-order: an entry's parent is the nearest directory above it on the
  // path from the root, which a stack of open directories holds.
  std::vector<std::uint32_t> parent(n, 0), open{0};
  for (std::uint32_t i = 1; i < n; ++i) {
    const std::string_view up = es[i].parent();
    while (!open.empty() && es[open.back()].path != up) open.pop_back();
    if (open.empty()) fail(errc::corrupt, what + ": '" + es[i].path + "' has no parent directory in the catalog");
    parent[i] = open.back();
    if (es[i].type == entry_type::directory) open.push_back(i);
  }
  c->first.assign(n + 1, 0);
  for (std::uint32_t i = 1; i < n; ++i) ++c->first[parent[i] + 1];
  for (std::uint32_t i = 0; i < n; ++i) c->first[i + 1] += c->first[i];
  c->kids.resize(n > 0 ? n - 1 : 0);
  std::vector<std::uint32_t> fill(c->first.begin(), c->first.end() - 1);
  for (std::uint32_t i = 1; i < n; ++i) c->kids[fill[parent[i]]++] = i;
  // Link counts: a hardlink group's size; a directory's 2 + subdirectories.
  c->leader.resize(n);
  c->nlink.assign(n, 1);
  std::unordered_map<std::uint32_t, std::uint32_t> group_first, group_size;
  for (std::uint32_t i = 0; i < n; ++i) {
    c->leader[i] = i;
    if (const auto g = es[i].hardlink_group) {
      c->leader[i] = group_first.emplace(g, i).first->second;
      ++group_size[g];
    }
    if (es[i].type == entry_type::directory) {
      std::uint32_t subdirs = 0;
      for (auto k = c->first[i]; k < c->first[i + 1]; ++k) subdirs += es[c->kids[k]].type == entry_type::directory;
      c->nlink[i] = 2 + subdirs;
    }
  }
  for (std::uint32_t i = 0; i < n; ++i)
    if (const auto g = es[i].hardlink_group) c->nlink[i] = group_size[g];
  return c;
}

}  // namespace

}  // namespace stratum
