// The walker thread: listings merged into the journal, files to read handed
// to the I/O thread (scan.hpp). Thread: the walker thread it starts.
#include "catalog/publish/scan.hpp"

#include "async/crash_point.hpp"
#include "async/error.hpp"
#include "catalog/publish/run_state.hpp"

#include <boost/asio/bind_executor.hpp>

#include <algorithm>
#include <future>
#include <sys/stat.h>

namespace stratum {
namespace {

std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

bool is_regular(const pj::entry_record& r) { return S_ISREG(r.st.mode); }

bool to_read(const pj::entry_record& r) {
  return r.state == pj::file_state::pending || r.state == pj::file_state::excluded;
}

// Calls fn(name, record) for each recorded child of directory `path`, in name
// order, skipping the deeper descendants. The seeks are bounded: the walk's
// cursor is older than the records the walk writes, and an unbounded seek
// would step over all of them.
template <class Fn>
void for_each_recorded_child(journal::cursor& c, const std::string& path, Fn&& fn) {
  const std::string prefix = pj::child_prefix(path), end = pj::children_end(path);
  c.seek(pj::children_begin(path), end);
  while (c.valid()) {
    auto rest = c.key().substr(prefix.size());
    if (auto z = rest.find('\0'); z != std::string_view::npos) {
      std::string skip(c.key().substr(0, prefix.size() + z));
      skip.push_back('\x01');
      // A few steps are cheaper than a seek when the subtree is small.
      int steps = 0;
      do c.next();
      while (++steps < 8 && c.valid() && c.key() < skip);
      if (c.valid() && c.key() < skip) c.seek(skip, end);
      continue;
    }
    fn(std::string(rest), pj::decode_entry(c.value(), c.key()));
    c.next();
  }
}

}  // namespace

scan_stage::scan_stage(run_state& run, std::string source, walk_channel& out, asio::thread_pool& blocking)
    : run_(run), j_(run.records()), source_(std::move(source)), out_(out), blocking_(blocking) {}

scan_stage::~scan_stage() {
  stop_ = true;
  out_.close();  // a send blocked on a full channel completes with an error
  if (thread_.joinable()) thread_.join();
}

void scan_stage::start() {
  thread_ = std::thread([this] { walk(); });
}

void scan_stage::send(std::shared_ptr<scan_batch> b) {
  // Usually the channel has room; waiting for a completion handler instead
  // would cost two thread wake-ups per directory.
  if (out_.try_send(boost::system::error_code{}, b)) return;
  std::promise<void> sent;
  out_.async_send({}, std::move(b), asio::bind_executor(blocking_, [&](boost::system::error_code) { sent.set_value(); }));
  sent.get_future().wait();
}

void scan_stage::walk() {
  try {
    w_.cursor = j_.scan();
    walk_callbacks cb;
    cb.on_dir = [&](walk_dir&& d) { send(take_listing(d)); };
    cb.on_problem = [&](const std::string& p, const std::string& m) { run_.report(p, m); };
    cb.stopped = [&] { return stop_.load(); };
    cb.recorded = [&](const std::string& p) { return recorded(p); };
    cb.prefill = [&](const std::string& p, std::vector<walk_entry>& es) { prefill(p, es); };
    walk_tree(source_, cb);
    j_.write(w_.pending);
  } catch (...) {
    error_ = std::current_exception();
  }
  w_.cursor.reset();
  send(nullptr);
}

std::optional<pj::entry_record> scan_stage::dir_record(const std::string& path) {
  if (auto node = w_.dirs.extract(path)) return std::move(node.mapped());
  auto key = pj::entry_key(path);
  auto v = j_.get(key);
  if (!v) return std::nullopt;
  return pj::decode_entry(*v, key);
}

void scan_stage::cache_dir(std::string path, pj::entry_record r) {
  w_.dirs.emplace(std::move(path), std::move(r));
  w_.dirs_peak = std::max(w_.dirs_peak, w_.dirs.size());
}

std::optional<std::vector<std::string>> scan_stage::recorded(const std::string& path) {
  auto self = dir_record(path);
  if (!self) return std::nullopt;
  if (self->listed_run != run_.fixed().run) {
    cache_dir(path, std::move(*self));  // for take_listing
    return std::nullopt;
  }
  std::vector<std::string> subdirs;
  std::vector<pj::entry_record> records;  // of subdirs, cached if few
  auto out = std::make_shared<scan_batch>();
  out->dirs = 1;
  for_each_recorded_child(*w_.cursor, path, [&](std::string name, pj::entry_record r) {
    if (S_ISDIR(r.st.mode)) {
      subdirs.push_back(name);
      if (records.size() < cached_dirs_limit) records.push_back(std::move(r));
      return;
    }
    if (!is_regular(r)) return;
    ++out->files;
    out->bytes += r.st.size;
    if (to_read(r)) {
      out->jobs.push_back(new file_job{join(path, name), std::move(r)});
    } else {
      ++out->unchanged;
      out->unchanged_bytes += r.st.size;
    }
  });
  // The journal holds them all (this run listed the directory): past the
  // limit they are looked up there.
  if (subdirs.size() <= cached_dirs_limit)
    for (std::size_t i = 0; i < subdirs.size(); ++i) cache_dir(join(path, subdirs[i]), std::move(records[i]));
  send(std::move(out));
  return subdirs;
}

void scan_stage::prefill(const std::string& path, std::vector<walk_entry>& entries) {
  auto& old = w_.children;
  old.clear();
  for_each_recorded_child(*w_.cursor, path, [&](std::string name, pj::entry_record r) { old.emplace_back(std::move(name), std::move(r)); });
  std::size_t i = 0;
  for (auto& e : entries) {
    while (i < old.size() && old[i].first < e.name) ++i;
    if (i == old.size()) break;
    if (old[i].first != e.name) continue;
    auto& r = old[i].second;
    // A record known by its catalog only is compared with what the entry
    // has now, xattrs and symlink target included: they are read.
    if (r.catalog_only) continue;
    pj::entry_record now{e.st, r.xattrs, r.link_target};
    if (!now.same_source(r)) continue;
    e.xattrs = r.xattrs;
    e.link_target = r.link_target;
    e.meta_known = true;
  }
}

std::shared_ptr<scan_batch> scan_stage::take_listing(walk_dir& d) {
  auto out = std::make_shared<scan_batch>();
  out->dirs = 1;
  journal::batch& b = w_.pending;
  bool changed = false;

  // The directory's own record: written by its parent's listing, except the root's.
  pj::entry_record self;
  if (d.path.empty()) {
    pj::entry_record now{d.st, std::move(d.xattrs), {}};
    auto prev = dir_record("");
    if (!prev || prev->catalog_only || !prev->same_source(now)) {
      changed = true;
      self = std::move(now);
    } else {
      self = std::move(*prev);
    }
  } else if (auto r = dir_record(d.path)) {
    self = std::move(*r);
  } else {
    fail(errc::corrupt, "journal in STATE '" + j_.where() + "' has no record of '" + d.path + "'");
  }
  self.listed_run = run_.fixed().run;
  b.put(pj::entry_key(d.path), pj::encode_entry(self));
  b.erase(pj::problem_key(d.path));

  auto remove = [&](const std::string& name, const pj::entry_record& r) {
    std::string rel = join(d.path, name);
    b.erase(pj::entry_key(rel));
    if (S_ISDIR(r.st.mode)) b.erase_range(pj::children_begin(rel), pj::children_end(rel));
    changed = true;
  };
  auto& old = w_.children;  // filled by prefill for this directory
  // Past the limit, subdirectories' records are not cached: they are
  // written below before the walk descends, and read back from the journal.
  const bool cache = std::count_if(d.entries.begin(), d.entries.end(), [](const walk_entry& e) {
                       return S_ISDIR(e.st.mode);
                     }) <= static_cast<std::ptrdiff_t>(cached_dirs_limit);
  std::size_t i = 0;
  for (auto& e : d.entries) {
    while (i < old.size() && old[i].first < e.name) {
      remove(old[i].first, old[i].second);
      ++i;
    }
    const pj::entry_record* prev = i < old.size() && old[i].first == e.name ? &old[i++].second : nullptr;
    std::string rel = join(d.path, e.name);
    auto type = entry_type_of(e.st.mode);
    if (!type) {
      run_.report(rel, "unknown file type; not published");
      if (prev) remove(e.name, *prev);
      continue;
    }
    const bool regular = *type == entry_type::regular;
    pj::entry_record r{e.st, std::move(e.xattrs), std::move(e.link_target)};
    if (regular) {
      ++out->files;
      out->bytes += r.st.size;
    }
    if (prev && prev->catalog_only && prev->same_source(r)) {
      // Matched by its catalog (journal_from_revision.hpp): the entry takes
      // the source's inode with the content the revision recorded, and is
      // not read. The record changes (inode, ctime), so the run is dirty
      // and the catalogs are built from the source's inodes (hard links).
      r.state = prev->state;
      r.object = prev->object;
      r.chunks = prev->chunks;
      r.listed_run = prev->listed_run;
      b.put(pj::entry_key(rel), pj::encode_entry(r));
      changed = true;
      if (*type == entry_type::directory) {
        if (cache) cache_dir(rel, std::move(r));
      } else if (regular && to_read(r)) {
        out->jobs.push_back(new file_job{rel, std::move(r)});  // a restart check found its object lost
      } else if (regular) {
        ++out->unchanged;
        out->unchanged_bytes += r.st.size;
      }
      continue;
    }
    if (prev && prev->same_source(r)) {
      if (*type == entry_type::directory) {
        if (cache) cache_dir(rel, *prev);
      } else if (regular && to_read(*prev)) {
        out->jobs.push_back(new file_job{rel, *prev});
      } else if (regular) {
        ++out->unchanged;
        out->unchanged_bytes += r.st.size;
      }
      continue;
    }
    changed = true;
    if (prev && S_ISDIR(prev->st.mode)) {
      if (*type == entry_type::directory) r.listed_run = prev->listed_run;  // its contents are merged when it is listed
      else b.erase_range(pj::children_begin(rel), pj::children_end(rel));
    }
    r.state = regular && r.st.size > 0 ? pj::file_state::pending : pj::file_state::none;
    b.put(pj::entry_key(rel), pj::encode_entry(r));
    if (*type == entry_type::directory && cache) cache_dir(rel, r);
    if (r.state == pj::file_state::pending) out->jobs.push_back(new file_job{rel, std::move(r)});
    else if (regular) ++out->unchanged;  // empty: nothing to read
  }
  while (i < old.size()) {
    remove(old[i].first, old[i].second);
    ++i;
  }
  old.clear();
  if (changed) run_.mark_dirty(b);
  // Files go to the workers only once their records are written.
  if (!out->jobs.empty() || b.size() >= pending_limit || !cache) j_.write(b);
  crash_point("scan");
  return out;
}

}  // namespace stratum
