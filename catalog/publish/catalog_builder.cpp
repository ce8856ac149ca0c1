// Catalogs built from the journal's records (catalog_builder.hpp).
// Thread: build() on the I/O thread; collect() and encoding on the CPU pool.
#include "catalog/publish/catalog_builder.hpp"

#include "async/crash_point.hpp"
#include "async/error.hpp"
#include "catalog/publish/catalog_layout.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/publish/run_state.hpp"
#include "catalog/read/validator.hpp"

#include <algorithm>
#include <map>
#include <sys/stat.h>

namespace stratum {
namespace {

entry to_entry(const pj::entry_record& n, const std::string& path) {
  entry e;
  e.path = path;
  e.type = *entry_type_of(n.st.mode);
  e.mode = n.st.mode & 07777;
  e.uid = n.st.uid;
  e.gid = n.st.gid;
  e.mtime_sec = n.st.mtime_sec;
  e.mtime_nsec = n.st.mtime_nsec;
  e.xattrs = n.xattrs;
  switch (e.type) {
    case entry_type::regular:
      e.size = n.st.size;
      e.object = n.object;
      e.chunks = n.chunks;
      break;
    case entry_type::symlink:
      e.link_target = n.link_target;
      e.size = n.link_target.size();
      break;
    case entry_type::char_device:
    case entry_type::block_device: e.rdev = n.st.rdev; break;
    default: break;
  }
  return e;
}

pj::entry_record record_of(const journal& j, const std::string& path) {
  auto key = pj::entry_key(path);
  auto v = j.get(key);
  if (!v) fail(errc::corrupt, "journal in STATE '" + j.where() + "' has no record of '" + path + "'");
  return pj::decode_entry(*v, key);
}

catalog_stats count(const catalog& c) {
  catalog_stats s;
  for (std::size_t i = 0; i < c.entries.size(); ++i) {
    const auto& e = c.entries[i];
    if (e.nested_root && i != 0) continue;  // counted by the nested catalog
    switch (e.type) {
      case entry_type::regular:
        ++s.regular;
        s.bytes += e.size;
        if (!e.chunks.empty()) {
          ++s.chunked;
          s.chunks += e.chunks.size();
        }
        break;
      case entry_type::directory: ++s.directories; break;
      case entry_type::symlink: ++s.symlinks; break;
      default: ++s.specials; break;
    }
  }
  return s;
}

}  // namespace

void assign_hardlinks(catalog& c, const std::vector<std::pair<std::uint64_t, std::uint64_t>>& inodes) {
  // Names of one inode whose records differ in type or content (the file
  // changed between the reads of its names) are published as separate files:
  // readers refuse a group whose names disagree (catalog/read/validator.hpp).
  // Per inode, the sets of agreeing entries, each by its entries' indices.
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::vector<std::vector<std::size_t>>> sets;
  for (std::size_t i = 0; i < c.entries.size(); ++i) {
    if (c.entries[i].type == entry_type::directory) continue;
    auto& of_inode = sets[inodes[i]];
    auto agreeing = std::find_if(of_inode.begin(), of_inode.end(),
                                 [&](const std::vector<std::size_t>& s) { return same_inode_content(c.entries[s.front()], c.entries[i]); });
    if (agreeing == of_inode.end()) of_inode.push_back({i});
    else agreeing->push_back(i);
  }
  // Numbered in the order of their first entries, so the same tree always
  // gives the same numbers.
  std::vector<const std::vector<std::size_t>*> groups;
  for (const auto& [inode, of_inode] : sets)
    for (const auto& s : of_inode)
      if (s.size() >= 2) groups.push_back(&s);
  std::sort(groups.begin(), groups.end(), [](auto* a, auto* b) { return a->front() < b->front(); });
  std::uint32_t next = 1;
  for (const auto* g : groups) {
    for (std::size_t i : *g) c.entries[i].hardlink_group = next;
    ++next;
  }
}

catalog_builder::catalog_builder(run_state& run, object_sink& sink, const format_writer& fmt, asio::thread_pool& cpu,
                                 publish_stats& stats, catalog_context base, std::optional<hash256> previous_root)
    : run_(run), sink_(sink), fmt_(fmt), cpu_(cpu), stats_(stats), base_(std::move(base)),
      previous_root_(previous_root) {}

// The nested catalogs directly below `top` in this run's layout
// (catalog_layout.hpp), in pre-order; deeper ones are theirs. CPU thread.
std::vector<std::string> catalog_builder::nested_below(const std::string& top) const {
  const journal& j = run_.records();
  const std::uint64_t this_run = run_.fixed().run;
  std::vector<std::string> out;
  std::string from = pj::layout_key(top), end = from;
  if (!top.empty()) from.push_back('\0');
  end = top.empty() ? pj::prefix_end('l') : end + '\x01';
  auto cur = j.scan();
  cur->seek(from, end);
  while (cur->valid() && cur->key() < end) {
    auto r = pj::decode_layout_record(cur->value(), cur->key());
    if (cur->key().size() > 1 && r.run == this_run) {
      std::string path = pj::key_path(cur->key().substr(1));
      std::string past = std::string(cur->key()) + '\x01';
      out.push_back(std::move(path));
      cur->seek(past, end);
      continue;
    }
    cur->next();
  }
  return out;
}

// A catalog a dirtab rule or --autocatalogs made gets the empty marker
// files the format writes there (format_writer::made_markers), unless the
// source has them: owned as its directory, with its mtime, so the same tree
// gives the same catalog. Inserted among the directory's own entries in
// name order. CPU thread.
void catalog_builder::add_made_markers(const std::string& top, catalog& c,
                                       std::vector<std::pair<std::uint64_t, std::uint64_t>>& inodes) const {
  auto reason = catalog_reason_of(run_.records(), top, run_.fixed().run);
  if (reason != pj::catalog_reason::dirtab && reason != pj::catalog_reason::automatic) return;
  const entry& dir = c.entries.front();
  for (auto name : fmt_.made_markers(reason == pj::catalog_reason::automatic)) {
    std::string path = top + "/" + std::string(name);
    // The first entry after the directory that sorts after the marker and
    // is not inside a subdirectory that sorts before it.
    auto at = std::find_if(c.entries.begin() + 1, c.entries.end(), [&](const entry& e) { return !path_before(e.path, path); });
    if (at != c.entries.end() && at->path == path) continue;  // the source has it
    entry m;
    m.path = std::move(path);
    m.type = entry_type::regular;
    m.mode = 0600;
    m.uid = dir.uid;
    m.gid = dir.gid;
    m.mtime_sec = dir.mtime_sec;
    m.mtime_nsec = dir.mtime_nsec;
    auto index = at - c.entries.begin();
    c.entries.insert(at, std::move(m));
    // An inode no source entry has: (0, index) is never a file's.
    inodes.insert(inodes.begin() + index, {~std::uint64_t(0), std::uint64_t(index)});
  }
}

// Reads the entries of the catalog rooted at `top` from the journal, in
// pre-order; nested catalog roots are noted and their subtrees skipped. A
// directory this run could not list is published empty. CPU thread.
void catalog_builder::collect(const std::string& top, catalog& c, const std::vector<std::string>& nested,
                              std::vector<std::pair<std::uint64_t, std::uint64_t>>& inodes) const {
  const journal& j = run_.records();
  const std::uint64_t this_run = run_.fixed().run;
  auto top_rec = record_of(j, top);
  c.entries.push_back(to_entry(top_rec, top));
  own(c.entries.back());
  inodes.emplace_back(top_rec.st.dev, top_rec.st.ino);
  if (top_rec.listed_run != this_run) return;
  const std::string end = pj::children_end(top);
  auto next_nested = nested.begin();  // pre-order, as the scan meets them
  auto cur = j.scan();
  cur->seek(pj::children_begin(top), end);
  while (cur->valid() && cur->key() < end) {
    std::string path = pj::key_path(cur->key().substr(1));
    auto r = pj::decode_entry(cur->value(), cur->key());
    if (S_ISREG(r.st.mode)) {
      if (r.state == pj::file_state::excluded) {
        cur->next();
        continue;
      }
      if (r.state == pj::file_state::pending)
        fail(errc::permanent, "journal in STATE '" + j.where() + "': '" + path + "' was never read; publish again");
    }
    c.entries.push_back(to_entry(r, path));
    own(c.entries.back());
    inodes.emplace_back(r.st.dev, r.st.ino);
    if (S_ISDIR(r.st.mode)) {
      bool unlisted = r.listed_run != this_run;
      if (!unlisted && next_nested != nested.end() && *next_nested == path) {
        c.entries.back().nested_root = true;
        ++next_nested;
        unlisted = true;
      }
      if (unlisted) {
        cur->seek(pj::children_end(path), end);
        continue;
      }
    }
    cur->next();
  }
}

awaitable<built_catalog> catalog_builder::build(std::string top) {
  journal& j = run_.records();
  const std::uint64_t this_run = run_.fixed().run;
  std::optional<pj::catalog_record> prior;
  if (auto v = j.get(pj::catalog_key(top))) prior = pj::decode_catalog_record(*v, pj::catalog_key(top));
  // A record without the size (an older version's run) is built again:
  // the same tree encodes to the same catalog, and its size is needed.
  if (prior && prior->run == this_run && prior->size != 0) {
    ++stats_.catalogs;
    co_return built_catalog{prior->hash, prior->stats, prior->size, bytes(as_bytes(prior->note).begin(), as_bytes(prior->note).end())};
  }
  // The previous revision's catalog here (its record is that revision's).
  if (prior && prior->size == 0) prior.reset();
  // Nested catalogs first, so that only one catalog's entries are in
  // memory at a time: the parent needs only their names and sizes.
  auto nested = co_await run_on(cpu_, [&] { return nested_below(top); });
  catalog c;
  c.root_path = top;
  catalog_context ctx = base_;
  catalog_stats below;
  for (const auto& path : nested) {
    auto b = co_await build(path);
    c.nested.push_back({path, b.h, b.size});
    ctx.nested_notes.push_back(std::move(b.note));
    below += b.stats;
    ++below.nested;
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> inodes;  // (dev, ino) per entry, for hardlinks
  co_await run_on(cpu_, [&] {
    collect(top, c, nested, inodes);
    if (!top.empty()) add_made_markers(top, c, inodes);
    assign_hardlinks(c, inodes);
  });
  catalog_stats s = count(c);
  s += below;
  if (top.empty()) ctx.previous = previous_root_;
  else if (prior) ctx.previous = prior->hash;
  c.stats = s;
  // A nested catalog whose tree did not change stays the catalog the
  // previous revision has (its revision and time included), as cvmfs_server
  // keeps it — when the store confirmed it to this journal. The root is
  // always new (it carries the revision), so its tree is not kept.
  const bool keep_tree = fmt_.catalogs_carry_revision() && !top.empty();
  std::optional<hash256> tree;
  if (keep_tree) tree = co_await run_on(cpu_, [&] { return sha256(encode_catalog(c)); });
  if (keep_tree && prior && prior->tree == tree &&
      j.get(pj::object_key(prior->hash, object_kind::catalog))) {
    j.put(pj::catalog_key(top), pj::encode_catalog_record({this_run, prior->hash, s, prior->size, prior->note, tree}));
    ++stats_.catalogs;
    co_return built_catalog{prior->hash, s, prior->size, bytes(as_bytes(prior->note).begin(), as_bytes(prior->note).end())};
  }
  std::uint64_t size = 0;
  bytes note;
  auto p = co_await run_on(cpu_, [&] {
    auto encoded = fmt_.encode_catalog(c, ctx);
    size = encoded.size();
    note = fmt_.catalog_note(c, ctx);
    return sink_.prepare(encoded, object_kind::catalog);
  });
  co_await sink_.store(p);
  j.put(pj::catalog_key(top), pj::encode_catalog_record({this_run, p.h, s, size, to_string(note), tree}));
  ++stats_.catalogs;
  crash_point("catalog");
  co_return built_catalog{p.h, s, size, std::move(note)};
}

}  // namespace stratum
