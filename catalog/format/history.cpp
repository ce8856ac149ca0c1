// The history object's encoding (history.hpp). Thread: any (pure functions).
#include "catalog/format/history.hpp"

#include <algorithm>

namespace stratum {
namespace {
constexpr std::string_view history_magic = "STRATUM-HISTORY\n";
// Version 2 added the root catalog's size to each tag and revision;
// version 1 histories (older repositories) are still read.
constexpr std::uint64_t history_version = 2;
}  // namespace

const tag* history::find(std::string_view name) const {
  auto it = std::lower_bound(tags.begin(), tags.end(), name, [](const tag& t, std::string_view n) { return t.name < n; });
  return it != tags.end() && it->name == name ? &*it : nullptr;
}

void history::set(tag t) {
  auto it = std::lower_bound(tags.begin(), tags.end(), t.name, [](const tag& x, const std::string& n) { return x.name < n; });
  if (it != tags.end() && it->name == t.name) *it = std::move(t);
  else tags.insert(it, std::move(t));
}

bool valid_tag_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name[0] == '.' || name[0] == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

bytes encode_history(const history& h) {
  encoder e;
  e.raw(as_bytes(std::string(history_magic)));
  e.varint(history_version);
  e.varint(h.tags.size());
  for (const auto& t : h.tags) {
    e.str(t.name);
    e.hash(t.root);
    e.varint(t.revision);
    e.svarint(t.timestamp);
    e.str(t.description);
    e.varint(t.root_size);
  }
  e.varint(h.revisions.size());
  for (const auto& r : h.revisions) {
    e.varint(r.revision);
    e.hash(r.root);
    e.svarint(r.timestamp);
    e.varint(r.root_size);
  }
  return e.take();
}

history decode_history(byte_view data, const std::string& what) {
  decoder d(data, what);
  d.expect(history_magic);
  const auto version = d.varint();
  if (version != 1 && version != history_version) d.bad("history format version " + std::to_string(version) + " is not supported");
  history h;
  auto n = d.varint();
  for (std::uint64_t i = 0; i < n; ++i) {
    tag t;
    t.name = d.str();
    t.root = d.hash();
    t.revision = d.varint();
    t.timestamp = d.svarint();
    t.description = d.str();
    if (version >= 2) t.root_size = d.varint();
    if (!valid_tag_name(t.name)) d.bad("invalid tag name");
    if (!h.tags.empty() && !(h.tags.back().name < t.name)) d.bad("tags out of order");
    h.tags.push_back(std::move(t));
  }
  auto nr = d.varint();
  for (std::uint64_t i = 0; i < nr; ++i) {
    revision_record r;
    r.revision = d.varint();
    r.root = d.hash();
    r.timestamp = d.svarint();
    if (version >= 2) r.root_size = d.varint();
    if (!h.revisions.empty() && h.revisions.back().revision >= r.revision) d.bad("revisions out of order");
    h.revisions.push_back(r);
  }
  if (!d.done()) d.bad("trailing bytes");
  return h;
}

}  // namespace stratum
