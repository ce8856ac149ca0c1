// Opening and reading a repository through its format (repository.hpp).
// Thread: the I/O thread; inflating, hashing and decoding on the CPU pool.
#include "catalog/read/repository.hpp"

#include "async/error.hpp"
#include "catalog/format/cvmfs/cvmfs_format.hpp"
#include "catalog/format/cvmfs/cvmfs_reader.hpp"
#include "catalog/format/native_format.hpp"
#include "io/compress.hpp"
#include "catalog/read/validator.hpp"

#include <algorithm>
#include <ctime>

namespace stratum {

const nested_ref* nested_for(const catalog& c, std::string_view path) {
  for (const auto& n : c.nested)
    if (path_within(path, n.path)) return &n;
  return nullptr;
}

namespace {

std::string too_large(const backend& store, const std::string& key, std::size_t most) {
  return store.describe() + ": " + key + " is larger than " + std::to_string(most) +
         " bytes, more than any such file; the store is damaged or was tampered with: remove it, or publish again";
}

}  // namespace

awaitable<std::unique_ptr<repository>> repository::open(backend& store, asio::thread_pool& cpu, trust_options trust,
                                                        std::unique_ptr<format_reader> fmt, read_limits limits) {
  const bool detect = !fmt;
  if (!fmt) fmt = make_native_reader();
  // One byte more than a manifest may hold tells a larger one apart, without
  // reading it whole (a sparse 3 GiB one was).
  auto text = co_await store.get(fmt->manifest_key(), 0, fmt->manifest_max_size() + 1);
  if (!text && detect) {
    // No stratum manifest: a CernVM-FS repository, if the store holds one.
    constexpr std::size_t cvmfs_most = 64 << 10;
    text = co_await store.get(cvmfs::manifest_file, 0, cvmfs_most + 1);
    if (text && text->size() <= cvmfs_most) fmt = cvmfs::reader_for(*text, store.describe());
  }
  std::unique_ptr<repository> r(new repository(store, cpu, std::move(fmt), limits));
  const format_reader& f = *r->fmt_;
  const std::string mkey = f.manifest_key();
  const std::size_t most = f.manifest_max_size();
  if (!text) fail(errc::not_found, "store '" + store.describe() + "' holds no repository (no " + mkey + "); publish one with 'stratum publish --new'");
  if (text->size() > most) fail(errc::corrupt, too_large(store, mkey, most));
  auto p = f.parse_manifest(*text, store.describe());
  // The key object's size is bounded by the format: a hostile store cannot
  // make this inflate more before the signature is checked.
  const bool exact = f.public_key_size_exact();
  auto key = co_await r->read(p.m.public_key, object_kind::public_key, exact ? std::optional(f.public_key_size()) : std::nullopt,
                              f.public_key_size());
  if (!f.verify_manifest(p, key))
    fail(errc::corrupt, store.describe() + ": the manifest's signature does not verify; the repository may have been tampered with");
  co_await r->trust(p, key, trust);
  r->head_ = p.m;
  if (p.m.root_size) r->catalog_sizes_.emplace(p.m.root, *p.m.root_size);
  // A bad history is damage to list (check exits 1), not a repository that
  // cannot be trusted: the signed manifest names the current root without it.
  // A store that is down still ends the command. A CernVM-FS manifest may
  // name no history: no tags, then.
  if (p.m.history != hash256{}) try {
      auto h = co_await r->read(p.m.history, object_kind::history, p.m.history_size);
      r->history_ = f.decode_history(h, f.object_key(p.m.history, object_kind::history));
    } catch (const std::exception& e) {
      if (ends_run(e) || !(is(e, errc::corrupt) || is(e, errc::not_found))) throw;
      r->history_problem_ = std::string("the history (tags, earlier revisions) is damaged: ") + e.what();
    }
  // Tagged revisions' root catalogs, at the sizes the history recorded.
  for (const auto& t : r->history_.tags)
    if (t.root_size) r->catalog_sizes_.emplace(t.root, t.root_size);
  for (const auto& v : r->history_.revisions)
    if (v.root_size) r->catalog_sizes_.emplace(v.root, v.root_size);
  co_return r;
}

awaitable<void> repository::trust(const parsed_manifest& p, byte_view key, trust_options& t) {
  const format_reader& f = *fmt_;
  if (t.repository.empty()) t.repository = store_.describe();
  std::vector<std::optional<bytes>> files;
  for (const auto& name : f.chain_files()) {
    auto b = co_await store_.get(name, 0, f.manifest_max_size() + 1);
    if (b && b->size() > f.manifest_max_size()) fail(errc::corrupt, too_large(store_, name, f.manifest_max_size()));
    files.push_back(std::move(b));
  }
  // The anchor: pinned, else (for a format that cannot learn it from the
  // store) the one kept when it was first given.
  bytes anchor = t.pinned_key;
  if (anchor.empty() && f.anchor_required())
    if (auto rec = read_known(t.known_file, t.repository))
      if (auto kept = read_anchor(t.known_file, rec->key)) anchor = std::move(*kept);
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  bytes canonical = co_await run_on(cpu_, [&] { return f.vouch(p, key, files, anchor, t.allow_expired, now); });
  // A format that verified with the pinned key has made it canonical.
  if (f.anchor_required() && !t.pinned_key.empty()) t.pinned_key = canonical;
  trust_manifest(t, p.m, canonical, now);
  anchor_ = canonical;
  if (f.anchor_required())
    if (auto why = keep_anchor(t.known_file, canonical); !why.empty() && t.notice)
      t.notice("cannot keep the master key of " + t.repository + " beside " + t.known_file + ": " + why +
               "; give it with --pubkey next time");
}

const history& repository::history() const {
  if (history_problem_) fail(errc::corrupt, *history_problem_);
  return history_;
}

hash256 repository::root_for(const std::optional<std::string>& tag) const {
  if (!tag) return head_.root;
  if (auto* t = history().find(*tag)) return t->root;
  std::string names;
  for (auto& t : history_.tags) names += (names.empty() ? "" : ", ") + t.name;
  fail(errc::usage, "no tag '" + *tag + "' in " + store_.describe() + " (tags: " + names + ")");
}

awaitable<bytes> repository::read_object(const hash256& h, object_kind k, std::uint64_t size) { return read(h, k, size); }

awaitable<bytes> repository::read_object(const hash256& h, object_kind k, std::uint64_t size,
                                         const std::function<void(const bytes&)>& then) {
  return read(h, k, size, std::nullopt, nullptr, &then);
}

awaitable<bytes> repository::read(const hash256& h, object_kind k, std::optional<std::uint64_t> size,
                                  std::optional<std::uint64_t> limit, std::uint64_t* stored_size,
                                  const std::function<void(const bytes&)>* then) {
  auto key = fmt_->object_key(h, k);
  const std::uint64_t most = limit ? *limit : limits_.max_catalog_size;
  // Stored bytes beyond what any zlib stream of the content can take are not
  // fetched: one byte more is enough to know the object is not what it says.
  const std::uint64_t content = size ? *size : most;
  const std::uint64_t bound = max_stored_size(content);
  auto stored = co_await store_.get(key, 0, bound == UINT64_MAX ? 0 : bound + 1);
  if (!stored)
    fail(errc::not_found, store_.describe() + ": object " + key + " is missing" +
                              (head_.garbage_collectable ? " (the repository is garbage-collected: an old revision's "
                                                           "objects may have been deleted by stratum gc)"
                                                         : ""));
  if (stored->size() > bound)
    fail(errc::corrupt, store_.describe() + ": object " + key + " is larger than any zlib stream of " +
                            (size ? "its " + std::to_string(content) + "-byte content"
                                  : "up to " + std::to_string(content) + " bytes (the limit for an object of unknown size)") +
                            "; remove it or restore the object");
  if (stored_size) *stored_size = stored->size();
  auto result_ = co_await run_on(cpu_, [&] {
    auto plain = fmt_->open_object(*stored, h, k, size, most);
    if (then) (*then)(plain);
    return plain;
  });
  co_return result_;
}

awaitable<catalog_object> repository::fetch_catalog(const hash256& h) {
  std::optional<std::uint64_t> size;
  if (auto it = catalog_sizes_.find(h); it != catalog_sizes_.end()) size = it->second;
  catalog_object out;
  auto plain = co_await read(h, object_kind::catalog, size, std::nullopt, &out.stored_size);
  out.inflated_size = plain.size();
  auto key = fmt_->object_key(h, object_kind::catalog);
  out.cat = std::make_shared<const catalog>(co_await run_on(cpu_, [&] {
    const std::string what = "catalog " + key;
    auto decoded = fmt_->decode_catalog(plain, what);
    validate_catalog(decoded, what);
    return decoded;
  }));
  for (const auto& n : out.cat->nested)
    if (n.size) catalog_sizes_.emplace(n.hash, *n.size);
  co_return out;
}

awaitable<std::shared_ptr<const catalog>> repository::load_catalog(const hash256& h) {
  if (auto it = catalogs_.find(h); it != catalogs_.end()) co_return it->second;
  auto c = (co_await fetch_catalog(h)).cat;
  if (keep_catalogs_) catalogs_[h] = c;
  co_return c;
}

awaitable<catalog_object> repository::read_root(const hash256& h) {
  auto c = co_await fetch_catalog(h);
  validate_root(*c.cat, "catalog " + fmt_->object_key(h, object_kind::catalog));
  co_return c;
}

awaitable<catalog_object> repository::read_nested(const std::string& parent_root, const nested_ref& ref, const entry& mount) {
  if (ref.path != mount.path || !mount.nested_root)
    fail(errc::corrupt, "'" + mount.path + "' is not the mount point of a nested catalog in the catalog of '" + parent_root + "'");
  auto child = co_await fetch_catalog(ref.hash);
  validate_mount(mount, *child.cat, "catalog " + fmt_->object_key(ref.hash, object_kind::catalog));
  co_return child;
}

awaitable<std::shared_ptr<const catalog>> repository::load_root(const hash256& h) {
  auto c = co_await load_catalog(h);
  validate_root(*c, "catalog " + fmt_->object_key(h, object_kind::catalog));
  co_return c;
}

awaitable<std::shared_ptr<const catalog>> repository::load_nested(const catalog& parent, const entry& mount) {
  auto it = std::lower_bound(parent.nested.begin(), parent.nested.end(), mount.path,
                             [](const nested_ref& n, const std::string& p) { return path_before(n.path, p); });
  if (it == parent.nested.end() || it->path != mount.path || !mount.nested_root)
    fail(errc::corrupt, "'" + mount.path + "' is not the mount point of a nested catalog in the catalog of '" + parent.root_path + "'");
  auto child = co_await load_catalog(it->hash);
  validate_mount(mount, *child, "catalog " + fmt_->object_key(it->hash, object_kind::catalog));
  co_return child;
}

awaitable<located> repository::find(const hash256& root, std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  auto cat = co_await load_root(root);
  for (;;) {
    auto* n = nested_for(*cat, path);
    if (!n) break;
    const entry* mount = entry_at(*cat, n->path);
    if (!mount) fail(errc::corrupt, "nested catalog at '" + n->path + "' has no mount point entry");
    cat = co_await load_nested(*cat, *mount);
  }
  const entry* e = entry_at(*cat, path);
  if (!e) co_return located{};
  co_return located{cat, e};
}

const entry* entry_at(const catalog& c, std::string_view path) {
  auto it = std::lower_bound(c.entries.begin(), c.entries.end(), path,
                             [](const entry& e, std::string_view p) { return path_before(e.path, p); });
  return it == c.entries.end() || it->path != path ? nullptr : &*it;
}

awaitable<std::vector<const entry*>> repository::children(const located& dir, std::vector<std::shared_ptr<const catalog>>& keep) {
  std::vector<const entry*> out;
  auto cat = dir.cat;
  const entry* d = dir.e;
  if (d->nested_root && d->path != cat->root_path) {
    cat = co_await load_nested(*cat, *d);
    d = &cat->entries.front();
  }
  keep.push_back(cat);
  auto it = cat->entries.begin() + (d - cat->entries.data()) + 1;
  for (; it != cat->entries.end() && path_within(it->path, d->path); ++it)
    if (it->parent() == d->path) out.push_back(&*it);
  co_return out;
}

}  // namespace stratum
