// catalog-chown's walk and new revision (catalog_chown.hpp). Thread: the I/O
// thread; decoding, mapping and encoding on the CPU pool.
#include "catalog/publish/catalog_chown.hpp"

#include "async/error.hpp"
#include "catalog/publish/head.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/publish/run_state.hpp"
#include "catalog/publish/tag_edit.hpp"
#include "catalog/read/repository.hpp"
#include "catalog/read/validator.hpp"

#include <ctime>

namespace stratum {
namespace {

// What a parent needs of a walked catalog.
struct walked {
  hash256 h;
  std::optional<std::uint64_t> size;  // content size (absent: a version-1 reference, kept)
  bytes note;                         // format_writer::catalog_note
  bool changed = false;
};

// A catalog rewritten, for the journal's catalog records.
struct rewritten {
  std::string path;
  hash256 old_hash;
  walked now;
};

class chown_walk {
 public:
  chown_walk(repository& repo, backend& store, const format_writer& fmt, asio::thread_pool& cpu, const owner_map& owners,
             catalog_context base, chown_result& r)
      : repo_(repo), store_(store), fmt_(fmt), cpu_(cpu), owners_(owners), base_(std::move(base)), r_(r) {}

  std::vector<rewritten> done;

  // The catalog `h` (the root when `mount` is null), its nested ones first.
  // (`mount` by pointer, into the caller's frame: g++ 12 frees an aggregate
  // holding containers twice when it is passed by value into a coroutine,
  // and miscompiles co_await inside ?:, docs/DESIGN.md.)
  awaitable<walked> visit(hash256 h, std::optional<std::uint64_t> size, const entry* mount) {
    const std::string what = "catalog " + fmt_.object_key(h, object_kind::catalog);
    std::shared_ptr<const catalog> cat;
    if (mount) {
      cat = co_await repo_.load_catalog(h);
      validate_mount(*mount, *cat, what);
    } else {
      cat = co_await repo_.load_root(h);
    }
    std::vector<walked> kids;
    if (!cat->nested.empty()) {
      // Only the references and mount points stay while the children are
      // walked; the catalog itself is read again after them.
      std::vector<std::pair<nested_ref, entry>> refs;
      for (const auto& n : cat->nested) {
        const entry* m = entry_at(*cat, n.path);
        if (!m) fail(errc::corrupt, what + ": nested catalog '" + n.path + "' has no mount point entry; run 'stratum check'");
        refs.emplace_back(n, *m);
      }
      cat.reset();
      for (const auto& [n, m] : refs) kids.push_back(co_await visit(n.hash, n.size, &m));
      cat = co_await repo_.load_catalog(h);
    }
    walked out{h, size, {}, false};
    struct mapped {
      bytes encoded, stored;
      hash256 h;
    };
    auto e = co_await run_on(cpu_, [&]() -> std::optional<mapped> {
      catalog c = *cat;
      for (std::size_t i = 0; i < c.entries.size(); ++i) {
        auto& en = c.entries[i];
        const std::uint32_t uid = owners_.map_uid(en.uid), gid = owners_.map_gid(en.gid);
        const bool moved = uid != en.uid || gid != en.gid;
        out.changed |= moved;
        en.uid = uid;
        en.gid = gid;
        // A mount point is also its nested catalog's first entry: counted there.
        if (en.nested_root && i != 0) continue;
        ++r_.entries;
        if (moved) ++r_.entries_mapped;
      }
      catalog_context ctx = base_;
      ctx.previous = h;
      for (std::size_t i = 0; i < kids.size(); ++i) {
        out.changed |= kids[i].changed;
        c.nested[i].hash = kids[i].h;
        c.nested[i].size = kids[i].size;
        ctx.nested_notes.push_back(kids[i].note);
      }
      out.note = fmt_.catalog_note(c, ctx);
      if (!out.changed) return std::nullopt;
      mapped m;
      m.encoded = fmt_.encode_catalog(c, ctx);
      m.stored = fmt_.compress(m.encoded, object_kind::catalog);
      m.h = fmt_.names_by_content() ? fmt_.object_hash(m.encoded) : fmt_.object_hash(m.stored);
      return m;
    });
    const std::string path = cat->root_path;
    cat.reset();
    if (!e) {
      ++r_.catalogs_kept;
      co_return out;
    }
    out.h = e->h;
    out.size = e->encoded.size();
    co_await store_.put(fmt_.object_key(e->h, object_kind::catalog), std::make_shared<const bytes>(std::move(e->stored)));
    ++r_.catalogs_rewritten;
    ++r_.objects_sent;
    done.push_back({path, h, out});
    co_return out;
  }

 private:
  repository& repo_;
  backend& store_;
  const format_writer& fmt_;
  asio::thread_pool& cpu_;
  const owner_map& owners_;
  const catalog_context base_;
  chown_result& r_;
};

// The journal's catalog records of the catalogs rewritten now name the new
// objects, so the next publish gives them as the catalogs its own replace
// (CernVM-FS's previous_revision). Their tree is dropped: it was the
// source's ids, and a nested catalog is written once more by the next publish
// that maps them, which then records the mapped tree.
void update_catalog_records(journal& j, const std::vector<rewritten>& done, const std::string& owners) {
  journal::batch b;
  b.put(pj::meta_key("owners"), owners);
  for (const auto& d : done) {
    const auto key = pj::catalog_key(d.path);
    auto v = j.get(key);
    if (!v) continue;
    auto rec = pj::decode_catalog_record(*v, key);
    if (rec.hash != d.old_hash || !d.now.size) continue;
    rec.hash = d.now.h;
    rec.size = *d.now.size;
    rec.note = to_string(d.now.note);
    rec.tree.reset();
    b.put(key, pj::encode_catalog_record(rec));
  }
  j.write(b);
  j.sync();
}

}  // namespace

awaitable<chown_result> chown_catalogs(backend& store, journal& j, const format_writer& fmt, const signing_key& key,
                                       asio::thread_pool& cpu, const owner_map& owners, const owner_map& remembered,
                                       std::int64_t expiry_seconds,
                                       const std::function<void()>& remember) {
  // 1. The STATE fits the store (tag_edit.hpp's rules).
  const bool ours = j.get(pj::meta_key("store")).has_value();
  auto repo = co_await open_own_repository(store, j, fmt, key, cpu, "change the owners", false);
  repo->keep_catalogs(false);
  const manifest head = repo->head();
  chown_result r;
  r.m = head;
  r.from = head.revision;

  // 2. The catalogs, children first; only the changed ones are stored.
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  chown_walk walk(*repo, store, fmt, cpu, owners, catalog_context{.revision = head.revision + 1, .timestamp = now}, r);
  const walked top = co_await walk.visit(head.root, head.root_size, nullptr);
  if (!top.changed) {
    remember();
    if (ours) j.put(pj::meta_key("owners"), remembered.text());
    co_return r;
  }

  // 3. The history, stored before anything names it.
  const history h = next_history(repo.get(), top.h, top.size.value_or(0), now);
  const auto eh = co_await put_history(store, fmt, cpu, h);
  ++r.objects_sent;

  // 4. The manifest, last; the intent lets the next run adopt it if this one
  // is killed once it is written.
  manifest m = head;
  m.revision = head.revision + 1;
  m.timestamp = now;
  m.root = top.h;
  m.root_size = top.size;
  m.history = eh.h;
  m.history_size = eh.size;
  m.expires = expiry_seconds > 0 ? now + expiry_seconds : 0;
  remember();
  if (ours) note_head_intent(j, manifest_id(m));
  r.objects_sent += co_await write_head(store, fmt, key, m, now, nullptr, "chown-before-manifest", "chown-after-manifest");
  ++r.objects_sent;
  if (ours) {
    adopt_tag_edit(j, manifest_id(m));
    update_catalog_records(j, walk.done, remembered.text());
  }
  r.published = true;
  r.m = m;
  co_return r;
}

}  // namespace stratum
