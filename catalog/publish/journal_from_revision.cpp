// A journal from a published revision (journal_from_revision.hpp).
// Thread: the I/O thread that awaits it.
#include "catalog/publish/journal_from_revision.hpp"

#include "async/error.hpp"

#include <algorithm>

#include <sys/stat.h>

namespace stratum {
namespace {

// Journal writes are grouped; 4096 records is what the scan groups too.
constexpr std::size_t batch_limit = 4096;

// A catalog keeps no inode; hard links are one inode again once the scan
// adopts the source's. Until then each record gets an inode of its own
// (the builder never sees a catalog-only record: the scan replaces or
// removes every one), so no two are taken for one.
struct inode_numbers {
  std::uint64_t next = 1;
};

std::string confirmation(std::uint64_t run) { return "0 " + std::to_string(run); }

// Same entry, content included, ignoring what only one side can know (the
// inode, ctime and nlink of a strong record; the mtime_unsure of the
// catalog's): a strong record of it may stay.
bool same_entry(const pj::entry_record& strong, const pj::entry_record& cat) {
  pj::entry_record sure = cat;
  sure.mtime_unsure = false;
  if (!sure.same_as_catalog(strong)) return false;
  if (S_ISREG(cat.st.mode))
    return strong.state == cat.state && strong.object == cat.object && strong.chunks == cat.chunks;
  return true;
}

class loader {
 public:
  loader(repository& repo, std::int64_t published_at, journal& j, const revision_load_options& o)
      : repo_(repo), published_at_(published_at), j_(j), o_(o), keeps_nsec_(repo.format().keeps_mtime_nsec()),
        cursor_(j.scan()) {}

  awaitable<revision_load_stats> run(const hash256& root) {
    struct pending {
      std::string parent_root;
      entry mount;
      nested_ref ref;
    };
    std::vector<pending> todo;
    {
      auto c = co_await repo_.load_root(root);
      take(*c, root, true, todo);
      repo_.forget(root);
    }
    while (!todo.empty()) {
      auto p = std::move(todo.back());
      todo.pop_back();
      // load_nested checks the child against its mount point and its
      // parent's reference; the parent itself is not kept, only those.
      catalog parent;
      parent.root_path = p.parent_root;
      parent.nested.push_back(p.ref);
      auto c = co_await repo_.load_nested(parent, p.mount);
      take(*c, p.ref.hash, false, todo);
      repo_.forget(p.ref.hash);
    }
    flush();
    co_return stats_;
  }

 private:
  template <class Todo>
  void take(const catalog& c, const hash256& h, bool is_root, Todo& todo) {
    ++stats_.catalogs;
    confirm(h, object_kind::catalog);
    // The root's own record is the key "e", before its children's range; a
    // nested catalog's root directory is its parent's mount entry, written
    // with the parent.
    if (is_root) put_entry(c.entries.front(), pj::entry_key(""), existing(pj::entry_key("")));
    const std::string end = pj::children_end(c.root_path);
    auto& cur = *cursor_;
    cur.seek(pj::children_begin(c.root_path), end);
    for (std::size_t i = 1; i < c.entries.size(); ++i) {
      const entry& e = c.entries[i];
      const std::string key = pj::entry_key(e.path);
      // Records before this entry's are of paths the revision lacks here.
      while (cur.valid() && cur.key() < key) {
        remove(cur.key());
        cur.next();
      }
      std::optional<pj::entry_record> prev;
      if (cur.valid() && cur.key() == key) {
        prev = pj::decode_entry(cur.value(), cur.key());
        cur.next();
      }
      put_entry(e, key, prev);
      if (e.nested_root) {
        // Its subtree is the nested catalog's, merged when that is read.
        auto ref = std::lower_bound(c.nested.begin(), c.nested.end(), e.path,
                                    [](const nested_ref& n, const std::string& p) { return path_before(n.path, p); });
        if (ref == c.nested.end() || ref->path != e.path)
          fail(errc::corrupt, "nested catalog at '" + e.path + "' has no reference in the catalog of '" + c.root_path + "'");
        todo.push_back({c.root_path, e, *ref});
        cur.seek(pj::children_end(e.path), end);
      }
    }
    while (cur.valid()) {
      remove(cur.key());
      cur.next();
    }
  }

  std::optional<pj::entry_record> existing(const std::string& key) {
    auto v = j_.get(key);
    if (!v) return std::nullopt;
    return pj::decode_entry(*v, key);
  }

  void put_entry(const entry& e, const std::string& key, const std::optional<pj::entry_record>& prev) {
    ++stats_.entries;
    auto r = record_from_catalog(e, keeps_nsec_, published_at_);
    r.st.ino = inodes_.next++;
    if (e.object) confirm(*e.object, object_kind::file);
    for (const auto& ch : e.chunks) confirm(ch.hash, object_kind::chunk);
    if (o_.keep_matching && prev && !prev->catalog_only && same_entry(*prev, r)) {
      ++stats_.kept;
      return;
    }
    if (r.mtime_unsure && r.state == pj::file_state::done) ++stats_.unsure;
    b_.put(key, pj::encode_entry(r));
    if (b_.size() >= batch_limit) flush();
  }

  void remove(std::string_view key) {
    ++stats_.removed;
    b_.erase(key);
    if (b_.size() >= batch_limit) flush();
  }

  void confirm(const hash256& h, object_kind k) {
    ++stats_.objects;
    b_.put(pj::object_key(h, k), confirmation(o_.run));
    if (b_.size() >= batch_limit) flush();
  }

  void flush() {
    if (!b_.empty()) j_.write(b_);
  }

  repository& repo_;
  const std::int64_t published_at_;
  journal& j_;
  const revision_load_options o_;
  const bool keeps_nsec_;
  // The journal as it was before: the records to merge with. Writes made
  // meanwhile are not in its view.
  std::unique_ptr<journal::cursor> cursor_;
  journal::batch b_;
  inode_numbers inodes_;
  revision_load_stats stats_;
};

}  // namespace

pj::entry_record record_from_catalog(const entry& e, bool keeps_nsec, std::int64_t published_at) {
  pj::entry_record r;
  auto& s = r.st;
  s.mode = st_mode_type(e.type) | (e.mode & 07777);
  s.uid = e.uid;
  s.gid = e.gid;
  s.nlink = 1;
  s.mtime_sec = e.mtime_sec;
  s.mtime_nsec = e.mtime_nsec;
  s.rdev = e.rdev;
  r.xattrs = e.xattrs;
  r.catalog_only = true;
  switch (e.type) {
    case entry_type::regular:
      s.size = e.size;
      r.object = e.object;
      r.chunks = e.chunks;
      r.state = e.size > 0 ? pj::file_state::done : pj::file_state::none;
      break;
    case entry_type::symlink:
      r.link_target = e.link_target;
      s.size = e.link_target.size();
      break;
    default: break;
  }
  // Written while the revision was being published, or later than it says
  // it was (a clock set back): the file may have changed within the same
  // mtime after it was read.
  r.mtime_unsure = !keeps_nsec || e.mtime_sec + 2 >= published_at;
  return r;
}

awaitable<revision_load_stats> journal_from_revision(repository& repo, const hash256& root, std::int64_t published_at,
                                                     journal& j, revision_load_options o) {
  loader l(repo, published_at, j, o);
  co_return co_await l.run(root);
}

}  // namespace stratum
