// Rollback (rollback.hpp). rollback_target() and rollback_history() are
// pure; roll_back() runs on the I/O thread, encoding on the CPU pool.
#include "catalog/publish/rollback.hpp"

#include "catalog/publish/head.hpp"

#include "async/crash_point.hpp"
#include "async/error.hpp"
#include "catalog/publish/journal_from_revision.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/publish/run_state.hpp"
#include "catalog/read/repository.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <limits>

namespace stratum {
namespace {

const char* journal_intent = "rollback-intent";

// The target revision's publish time, recorded with the intent: the
// rebase's 2-second rule needs it (journal_from_revision.hpp), and a run
// that adopts the rollback knows only the new revision's.
const char* journal_target_time = "rollback-target-time";

// The rollback's last step, the same whether it runs on or a later run
// adopts it: the journal rebased onto the rolled-back tree (root catalog
// `root`: the new one, or the target's, which has the same entries), then
// the manifest `id` recorded as published. The rebase writes in groups; a
// kill during it or before the last write leaves the intent, and the next
// run adopts the manifest and does the rebase again: records it replaced
// are replaced again with the same, strong records it kept still match,
// removed ones stay removed.
awaitable<void> finish_rollback(journal& j, repository& repo, const hash256& root, const std::string& id) {
  revision_load_options lo;
  lo.keep_matching = true;
  // Confirmations name the last run: a resumed next run rechecks only its own.
  lo.run = std::strtoull(j.get(pj::meta_key("run")).value_or("0").c_str(), nullptr, 10);
  // Unknown (an intent written without it): every mtime is unsure, so every
  // file the rebase recorded from the catalog is read again.
  std::int64_t published_at = std::numeric_limits<std::int64_t>::max();
  if (auto t = j.get(pj::meta_key(journal_target_time))) published_at = std::strtoll(t->c_str(), nullptr, 10);
  co_await journal_from_revision(repo, root, published_at, j, lo);
  crash_point("rollback-rebased");
  journal::batch b;
  b.put(pj::meta_key("published"), id);
  b.erase(pj::meta_key(journal_intent));
  b.erase(pj::meta_key(journal_target_time));
  j.write(b);
  j.sync();
}

}  // namespace

const tag& rollback_target(const history& h, const manifest& head, const std::string& name, const std::string& store) {
  const tag* t = h.find(name);
  if (!t)
    fail(errc::usage, "no tag '" + name + "' in '" + store + "' (its tags: " + tag_names(h) + "). Nothing was changed");
  if (t->revision >= head.revision)
    fail(errc::usage, "tag '" + name + "' names revision " + std::to_string(t->revision) + ", the current revision of '" +
                          store + "': there is nothing to roll back. Nothing was changed");
  return *t;
}

rolled_back_history rollback_history(const history& h, const tag& target, const tag& now_head) {
  rolled_back_history out;
  out.h.revisions = h.revisions;
  for (const auto& t : h.tags) {
    const bool goes = t.revision > target.revision || t.name == target.name || t.name == "trunk-previous";
    if (!goes) out.h.tags.push_back(t);
    else if (t.name != "trunk" && t.name != "trunk-previous" && t.name != target.name) out.removed.push_back(t);
  }
  std::sort(out.removed.begin(), out.removed.end(), [](const tag& a, const tag& b) { return a.revision > b.revision; });
  if (target.name != "trunk-previous") {
    tag moved = now_head;
    moved.name = target.name;
    moved.description = target.description;
    out.h.set(std::move(moved));
  }
  tag trunk = now_head;
  trunk.name = "trunk";
  trunk.description = "current revision";
  out.h.set(std::move(trunk));
  out.h.revisions.push_back({now_head.revision, now_head.root, now_head.timestamp, now_head.root_size});
  return out;
}

awaitable<bool> adopt_rollback(journal& j, repository& repo, const std::string& current) {
  auto intent = j.get(pj::meta_key(journal_intent));
  if (!intent || *intent != current) co_return false;
  co_await finish_rollback(j, repo, repo.head().root, current);
  co_return true;
}

awaitable<rollback_result> roll_back(backend& store, journal& j, const format_writer& fmt, const signing_key& key,
                                     asio::thread_pool& cpu, const std::string& target, tag_edit_options o) {
  // 1. The STATE fits (tag_edit.hpp), and the target is a tag of an earlier
  // revision whose root catalog is there and reads.
  const bool ours = j.get(pj::meta_key("store")).has_value();
  auto repo = co_await open_own_repository(store, j, fmt, key, cpu, "roll back", false);
  const manifest head = repo->head();
  const tag t = rollback_target(repo->history(), head, target, store.describe());
  co_await repo->load_root(t.root);
  std::uint64_t size = t.root_size;
  for (const auto& r : repo->history().revisions)
    if (size == 0 && r.root == t.root) size = r.root_size;

  // 2. The new revision's root catalog: the target's, or (a format whose
  // catalogs carry the revision) a copy stamped with the new revision.
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  const std::uint64_t revision = head.revision + 1;
  tag now_head{"trunk", t.root, revision, now, "", size};
  if (fmt.catalogs_carry_revision()) {
    if (size == 0)
      fail(errc::corrupt, "the history of '" + store.describe() + "' records no size for the root catalog of tag '" +
                              target + "', which a rollback must copy: run 'stratum check -i' on it");
    const bytes old = co_await repo->read_object(t.root, object_kind::catalog, size);
    struct encoded {
      hash256 h;
      bytes stored;
      std::size_t size = 0;
    };
    auto e = co_await run_on(cpu, [&]() -> encoded {
      auto content = fmt.restamp_root(old, catalog_context{.revision = revision, .timestamp = now, .previous = head.root});
      if (!content) return {t.root, {}, old.size()};
      encoded out;
      out.size = content->size();
      out.stored = fmt.compress(*content, object_kind::catalog);
      out.h = fmt.names_by_content() ? fmt.object_hash(*content) : fmt.object_hash(out.stored);
      return out;
    });
    if (!e.stored.empty())
      co_await store.put(fmt.object_key(e.h, object_kind::catalog), std::make_shared<const bytes>(std::move(e.stored)));
    now_head.root = e.h;
    now_head.root_size = e.size;
  }

  // 3. The new history, stored before anything names it.
  auto rolled = rollback_history(repo->history(), t, now_head);
  const auto eh = co_await put_history(store, fmt, cpu, rolled.h);

  // 4. The manifest of the new revision, last.
  manifest m = head;
  m.revision = revision;
  m.timestamp = now;
  m.root = now_head.root;
  m.root_size = now_head.root_size ? std::optional<std::uint64_t>(now_head.root_size) : std::nullopt;
  m.history = eh.h;
  m.history_size = eh.size;
  m.expires = o.expiry_seconds > 0 ? now + o.expiry_seconds : 0;
  // The intent lets the next publish, tag or rollback recognise this
  // manifest as ours, and rebase the journal, if this one is killed once it
  // is written.
  if (ours) {
    journal::batch b;
    b.put(pj::meta_key(journal_intent), manifest_id(m));
    b.put(pj::meta_key(journal_target_time), std::to_string(t.timestamp));
    j.write(b);
    j.sync();
  }
  co_await write_head(store, fmt, key, m, now, nullptr, "rollback-before-manifest", "rollback-after-manifest");

  // 5. The journal: rebased onto the rolled-back tree (the target's root
  // catalog has its entries, and the repository knows its size), then the
  // manifest recorded as published.
  if (ours) co_await finish_rollback(j, *repo, t.root, manifest_id(m));
  co_return rollback_result{m, head.revision, t, std::move(rolled.removed)};
}

}  // namespace stratum
