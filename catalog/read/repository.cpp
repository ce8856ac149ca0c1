// Opening and reading a repository through its format (repository.hpp).
// Thread: the I/O thread; inflating, hashing and decoding on the CPU pool.
#include "catalog/read/repository.hpp"

#include "async/error.hpp"
#include "catalog/format/native_format.hpp"

#include <algorithm>
#include <ctime>

namespace stratum {

const nested_ref* nested_for(const catalog& c, std::string_view path) {
  for (const auto& n : c.nested)
    if (path_within(path, n.path)) return &n;
  return nullptr;
}

awaitable<std::unique_ptr<repository>> repository::open(backend& store, asio::thread_pool& cpu, trust_options trust,
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
  if (!f.verify_manifest(p, key))
    fail(errc::corrupt, store.describe() + ": the manifest's signature does not verify; the repository may have been tampered with");
  if (trust.repository.empty()) trust.repository = store.describe();
  trust_manifest(trust, p.m, key, static_cast<std::int64_t>(std::time(nullptr)));
  r->head_ = p.m;
  auto h = co_await r->read(p.m.history, object_kind::history, std::nullopt);
  r->history_ = f.decode_history(h, f.object_key(p.m.history, object_kind::history));
  co_return r;
}

hash256 repository::root_for(const std::optional<std::string>& tag) const {
  if (!tag) return head_.root;
  if (auto* t = history_.find(*tag)) return t->root;
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
  auto c = std::make_shared<const catalog>(co_await run_on(cpu_, [&] { return fmt_->decode_catalog(plain, "catalog " + key); }));
  catalogs_[h] = c;
  co_return c;
}

awaitable<located> repository::find(const hash256& root, std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  auto cat = co_await load_catalog(root);
  for (;;) {
    auto* n = nested_for(*cat, path);
    if (!n) break;
    auto sub = co_await load_catalog(n->hash);
    if (sub->root_path != n->path)
      fail(errc::corrupt, "catalog " + fmt_->object_key(n->hash, object_kind::catalog) + " is mounted at '" + n->path + "' but says '" + sub->root_path + "'");
    cat = sub;
  }
  auto it = std::lower_bound(cat->entries.begin(), cat->entries.end(), path,
                             [](const entry& e, const std::string& p) { return path_before(e.path, p); });
  if (it == cat->entries.end() || it->path != path) co_return located{};
  co_return located{cat, &*it};
}

awaitable<std::vector<const entry*>> repository::children(const located& dir, std::vector<std::shared_ptr<const catalog>>& keep) {
  std::vector<const entry*> out;
  auto cat = dir.cat;
  const entry* d = dir.e;
  if (d->nested_root && d->path != cat->root_path) {
    auto* n = nested_for(*cat, d->path);
    cat = co_await load_catalog(n->hash);
    d = &cat->entries.front();
  }
  keep.push_back(cat);
  auto it = cat->entries.begin() + (d - cat->entries.data()) + 1;
  for (; it != cat->entries.end() && path_within(it->path, d->path); ++it)
    if (it->parent() == d->path) out.push_back(&*it);
  co_return out;
}

}  // namespace stratum
