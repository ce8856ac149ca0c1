// The STATE's view of a repository's head (head.hpp). Thread: the I/O thread.
#include "catalog/publish/head.hpp"

#include "async/crash_point.hpp"
#include "async/error.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/publish/rollback.hpp"
#include "catalog/publish/run_state.hpp"
#include "catalog/publish/tag_edit.hpp"

namespace stratum {

awaitable<std::unique_ptr<repository>> open_own(backend& store, asio::thread_pool& cpu, const format_writer& fmt,
                                                const signing_key& key) {
  trust_options own;
  own.pinned_key = fmt.trust_anchor(key);
  own.pinned_from = "this publisher's key (--key or --keys, or STATE/keys)";
  own.allow_expired = true;
  // Its catalogs are this publisher's: an older repository's, which carry no
  // sizes, are read up to 4 GiB, as before sizes were recorded.
  co_return co_await repository::open(store, cpu, own, fmt.reader(), read_limits{std::uint64_t(1) << 32});
}

awaitable<std::unique_ptr<repository>> open_own_repository(backend& store, journal& j, const format_writer& fmt,
                                                            const signing_key& key, asio::thread_pool& cpu,
                                                            const std::string& doing, bool published_required) {
  if (j.get(pj::meta_key("state")).value_or("") == "running")
    fail(errc::usage, "STATE '" + j.where() + "' holds an interrupted publish: run it again to finish it, then " + doing +
                          ". Nothing was changed");
  const auto ours = j.get(pj::meta_key("store"));
  if (ours && *ours != store.describe())
    fail(errc::usage, "STATE '" + j.where() + "' publishes to '" + *ours + "', not to '" + store.describe() +
                          "': give the STATE of this store's publisher. Nothing was changed");
  if (!ours && published_required)
    fail(errc::usage, "STATE '" + j.where() + "' has not published to '" + store.describe() +
                          "': give the STATE of this store's publisher (or make one with stratum import). Nothing was changed");
  auto repo = co_await open_own(store, cpu, fmt, key);
  if (!ours) co_return repo;
  const manifest& head = repo->head();
  const std::string current = manifest_id(head);
  adopt_tag_edit(j, current);
  co_await adopt_rollback(j, *repo, current);
  const std::string expected = j.get(pj::meta_key("published")).value_or("");
  if (current == expected) co_return repo;
  const std::string ours_rev = expected.substr(0, expected.find(' '));
  const std::string theirs = std::to_string(head.revision);
  fail(errc::usage, "store '" + store.describe() + "' holds " +
                        (ours_rev == theirs ? "a manifest of revision " + theirs + " other than the one"
                                            : "revision " + theirs + ", not revision " + ours_rev + " which") +
                        " STATE '" + j.where() + "' published there: something else has written the manifest "
                        "since, or an older one was put back. Nothing was changed");
}

awaitable<stored_history> put_history(backend& store, const format_writer& fmt, asio::thread_pool& cpu,
                                      const history& h) {
  struct encoded {
    stored_history named;
    bytes stored;
  };
  auto e = co_await run_on(cpu, [&] {
    encoded out;
    const bytes content = fmt.encode_history(h);
    out.named.size = content.size();
    out.stored = fmt.compress(content, object_kind::history);
    out.named.h = fmt.names_by_content() ? fmt.object_hash(content) : fmt.object_hash(out.stored);
    return out;
  });
  co_await store.put(fmt.object_key(e.named.h, object_kind::history), std::make_shared<const bytes>(std::move(e.stored)));
  co_return e.named;
}

awaitable<std::size_t> write_head(backend& store, const format_writer& fmt, const signing_key& key, const manifest& m,
                           std::int64_t now, const std::vector<std::optional<bytes>>* kept, const char* before,
                           const char* after) {
  std::vector<std::optional<bytes>> read;
  if (!kept) {
    for (const auto& name : fmt.kept_files()) read.push_back(co_await store.get(name, 0, 0));
    kept = &read;
  }
  auto side = fmt.side_files(m, now, *kept);
  for (auto& [name, body] : side) co_await store.put(name, std::make_shared<const bytes>(body));
  // Everything the manifest refers to must be durable before it appears.
  co_await store.sync();
  if (before) crash_point(before);
  co_await store.put(fmt.manifest_key(), std::make_shared<const bytes>(fmt.encode_manifest(m, key, side)));
  if (after) crash_point(after);
  co_await store.sync();
  co_return side.size();
}

history next_history(const repository* previous, const hash256& root, std::uint64_t root_size, std::int64_t now,
                     const std::optional<std::string>& tag, const std::string& tag_message) {
  history h;
  std::uint64_t revision = 1;
  if (previous) {
    h = previous->history();
    revision = previous->head().revision + 1;
    if (auto* t = h.find("trunk")) {
      struct tag prev = *t;
      prev.name = "trunk-previous";
      prev.description = "previous revision";
      // A version-1 history has no sizes; the manifest may have it.
      const auto& head = previous->head();
      if (prev.root_size == 0 && prev.root == head.root && head.root_size) prev.root_size = *head.root_size;
      h.set(prev);
    }
  }
  h.revisions.push_back({revision, root, now, root_size});
  h.set({"trunk", root, revision, now, "current revision", root_size});
  if (tag) h.set({*tag, root, revision, now, tag_message, root_size});
  return h;
}

}  // namespace stratum
