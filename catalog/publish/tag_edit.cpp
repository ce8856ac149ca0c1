// Tag edits (tag_edit.hpp). edit_history() is pure; edit_tags() runs on the
// I/O thread, the history's encoding on the CPU pool.
#include "catalog/publish/tag_edit.hpp"

#include "async/crash_point.hpp"
#include "async/error.hpp"
#include "catalog/publish/head.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/publish/rollback.hpp"
#include "catalog/publish/run_state.hpp"
#include "catalog/read/repository.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace stratum {
namespace {

bool reserved(std::string_view name) { return name == "trunk" || name == "trunk-previous"; }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The revisions a tag may name: every one the history lists (stratum's own
// format) and every one a tag names (CernVM-FS's history keeps only tags),
// the current one first.
std::vector<tag> known_revisions(const history& h, const manifest& head) {
  std::vector<tag> out;
  out.push_back({"", head.root, head.revision, head.timestamp, "", head.root_size.value_or(0)});
  for (const auto& r : h.revisions) out.push_back({"", r.root, r.revision, r.timestamp, "", r.root_size});
  for (const auto& t : h.tags) out.push_back({"", t.root, t.revision, t.timestamp, "", t.root_size});
  return out;
}

const char* journal_intent = "tag-intent";

}  // namespace

std::string tag_names(const history& h) {
  std::string s;
  for (const auto& t : h.tags) s += (s.empty() ? "" : ", ") + t.name;
  return s.empty() ? "none" : s;
}

history edit_history(const history& h, const manifest& head, const tag_request& r, const format_reader& fmt,
                     const std::string& store) {
  if (!r.add && r.remove.empty()) fail(errc::usage, "nothing to do: give -a NAME to add a tag or -r NAME to remove one");
  if (r.revision && r.root) fail(errc::usage, "give --revision or --root, not both");
  if (!r.add && (r.revision || r.root || !r.message.empty()))
    fail(errc::usage, "--revision, --root and -m describe a tag to add: give -a NAME");
  history out = h;
  for (const auto& name : r.remove) {
    if (reserved(name))
      fail(errc::usage, "tag '" + name + "' is managed by publish and cannot be removed. Nothing was changed");
    auto it = std::find_if(out.tags.begin(), out.tags.end(), [&](const tag& t) { return t.name == name; });
    if (it == out.tags.end())
      fail(errc::usage, "no tag '" + name + "' in '" + store + "' (its tags: " + tag_names(h) + "). Nothing was changed");
    out.tags.erase(it);
  }
  if (!r.add) return out;
  const std::string& name = *r.add;
  if (!valid_tag_name(name) || reserved(name))
    fail(errc::usage, "tag name '" + name + "' is not allowed: use letters, digits, '.', '_' and '-', not starting "
                      "with '.' or '-' (trunk and trunk-previous are reserved). Nothing was changed");
  if (auto* t = h.find(name))
    fail(errc::usage, "tag '" + name + "' already names revision " + std::to_string(t->revision) + " of '" + store +
                          "': tags do not move; remove it first or choose another name. Nothing was changed");
  const auto known = known_revisions(h, head);
  const tag* target = &known.front();
  if (r.revision) {
    auto it = std::find_if(known.begin(), known.end(), [&](const tag& t) { return t.revision == *r.revision; });
    if (it == known.end())
      fail(errc::usage, "revision " + std::to_string(*r.revision) + " of '" + store + "' is not in its history (the " +
                            "current one is " + std::to_string(head.revision) + "). Nothing was changed");
    target = &*it;
  } else if (r.root) {
    const std::string want = lower(*r.root);
    auto it = std::find_if(known.begin(), known.end(),
                           [&](const tag& t) { return want == lower(fmt.hash_text(t.root)) || want == t.root.hex(); });
    if (it == known.end())
      fail(errc::usage, "root catalog '" + *r.root + "' is not one of the revisions in the history of '" + store +
                            "' (stratum tag STORE lists them). Nothing was changed");
    target = &*it;
  }
  tag t = *target;
  t.name = name;
  t.description = r.message;
  // A revision known only from its record may lack its root's size; the
  // tag of the same root elsewhere has it.
  for (const auto& k : known)
    if (t.root_size == 0 && k.root == t.root) t.root_size = k.root_size;
  out.set(std::move(t));
  return out;
}

bool adopt_tag_edit(journal& j, const std::string& current) {
  auto intent = j.get(pj::meta_key(journal_intent));
  if (!intent || *intent != current) return false;
  journal::batch b;
  b.put(pj::meta_key("published"), current);
  b.erase(pj::meta_key(journal_intent));
  j.write(b);
  j.sync();
  return true;
}

void note_head_intent(journal& j, const std::string& id) {
  j.put(pj::meta_key(journal_intent), id);
  j.sync();
}

awaitable<manifest> edit_tags(backend& store, journal& j, const format_writer& fmt, const signing_key& key,
                              asio::thread_pool& cpu, const tag_request& r, tag_edit_options o) {
  // 1. The STATE fits: no publish half done, this store, its last revision.
  const bool ours = j.get(pj::meta_key("store")).has_value();
  auto repo = co_await open_own_repository(store, j, fmt, key, cpu, "edit tags", false);
  const manifest head = repo->head();

  // 2. The new history, stored before anything names it.
  const history h = edit_history(repo->history(), head, r, repo->format(), store.describe());
  const auto e = co_await put_history(store, fmt, cpu, h);

  // 3. The manifest: the same revision, root and time, the new history.
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  manifest m = head;
  m.history = e.h;
  m.history_size = e.size;
  m.expires = o.expiry_seconds > 0 ? now + o.expiry_seconds : 0;
  // The intent lets the next run of tag or publish recognise this manifest
  // as ours if the edit is killed once it is written.
  if (ours) note_head_intent(j, manifest_id(m));
  co_await write_head(store, fmt, key, m, now, nullptr, "tag-before-manifest", "tag-after-manifest");
  if (ours) adopt_tag_edit(j, manifest_id(m));
  co_return m;
}

}  // namespace stratum
