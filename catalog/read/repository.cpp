// Opening and reading a repository through its format (repository.hpp).
// Thread: the I/O thread; inflating, hashing and decoding on the CPU pool.
#include "catalog/read/repository.hpp"

#include "async/error.hpp"
#include "catalog/format/native_format.hpp"
#include "catalog/read/validator.hpp"

#include <algorithm>

namespace stratum {

const nested_ref* nested_for(const catalog& c, std::string_view path) {
  for (const auto& n : c.nested)
    if (path_within(path, n.path)) return &n;
  return nullptr;
}

awaitable<std::unique_ptr<repository>> repository::open(backend& store, asio::thread_pool& cpu, bytes pinned_key,
                                                        std::unique_ptr<format_reader> fmt) {
  if (!fmt) fmt = make_native_reader();
  std::unique_ptr<repository> r(new repository(store, cpu, std::move(fmt)));
  const format_reader& f = *r->fmt_;
  const std::string mkey = f.manifest_key();
  auto text = co_await store.get(mkey);
  if (!text) fail(errc::not_found, "store '" + store.describe() + "' holds no repository (no " + mkey + "); publish one with 'stratum publish --new'");
  auto p = f.parse_manifest(*text, store.describe());
  // The key object's size is fixed by the format: a hostile store cannot
  // make this inflate more before the signature is checked.
  auto key = co_await r->read(p.m.public_key, object_kind::public_key, f.public_key_size());
  if (!pinned_key.empty() && key != pinned_key)
    fail(errc::corrupt, store.describe() + ": the manifest is signed with key " + p.m.public_key.hex() + ", not the one given with --pubkey");
  if (!f.verify_manifest(p, key))
    fail(errc::corrupt, store.describe() + ": the manifest's signature does not verify; the repository may have been tampered with");
  r->head_ = p.m;
  // A bad history is damage to list (check exits 1), not a repository that
  // cannot be trusted: the signed manifest names the current root without it.
  // A store that is down still ends the command.
  try {
    auto h = co_await r->read(p.m.history, object_kind::history, std::nullopt);
    r->history_ = f.decode_history(h, f.object_key(p.m.history, object_kind::history));
  } catch (const std::exception& e) {
    if (ends_run(e) || !(is(e, errc::corrupt) || is(e, errc::not_found))) throw;
    r->history_problem_ = std::string("the history (tags, earlier revisions) is damaged: ") + e.what();
  }
  co_return r;
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

awaitable<bytes> repository::read(const hash256& h, object_kind k, std::optional<std::uint64_t> size) {
  auto key = fmt_->object_key(h, k);
  auto stored = co_await store_.get(key);
  if (!stored) fail(errc::not_found, store_.describe() + ": object " + key + " is missing");
  auto result_ = co_await run_on(cpu_, [&] { return fmt_->open_object(*stored, h, k, size, std::uint64_t(1) << 32); });
  co_return result_;
}

awaitable<std::shared_ptr<const catalog>> repository::load_catalog(const hash256& h) {
  if (auto it = catalogs_.find(h); it != catalogs_.end()) co_return it->second;
  auto plain = co_await read(h, object_kind::catalog, std::nullopt);
  auto key = fmt_->object_key(h, object_kind::catalog);
  auto c = std::make_shared<const catalog>(co_await run_on(cpu_, [&] {
    const std::string what = "catalog " + key;
    auto decoded = fmt_->decode_catalog(plain, what);
    validate_catalog(decoded, what);
    return decoded;
  }));
  catalogs_[h] = c;
  co_return c;
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
