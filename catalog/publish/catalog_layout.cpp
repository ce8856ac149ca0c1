// The catalog layout pass (catalog_layout.hpp). Thread: the caller's (the
// CPU pool); it blocks on journal reads.
#include "catalog/publish/catalog_layout.hpp"

#include "async/error.hpp"

#include <algorithm>
#include <cstdio>
#include <sys/stat.h>

namespace stratum {
namespace {

// A directory whose listing the pass is inside.
struct open_dir {
  std::string path;
  std::uint64_t inner = 0;  // entries below it that stay in its catalog
  bool has_marker = false;
  std::optional<pj::catalog_reason> before;  // its reason in the previous layout
  // Subdirectories that stay in its catalog and weigh at least the minimum:
  // (weight, path), the candidates to split off.
  std::vector<std::pair<std::uint64_t, std::string>> heavy;
};

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

class planner {
 public:
  planner(journal& j, std::uint64_t run, const layout_options& o, const format_writer& fmt)
      : j_(j), run_(run), o_(o), marker_(fmt.nested_marker()), extra_dirtab_(fmt.made_markers(false).size()),
        extra_auto_(fmt.made_markers(true).size()), old_(j.scan()) {
    old_->seek(pj::prefix_begin('l'), pj::prefix_end('l'));
  }

  layout_stats run() {
    auto root_key = pj::entry_key("");
    auto rv = j_.get(root_key);
    if (!rv) fail(errc::corrupt, "journal in STATE '" + j_.where() + "' has no record of the source's root");
    if (pj::decode_entry(*rv, root_key).listed_run != run_) {
      forget_old_until(pj::prefix_end('l'));
      j_.write(out_);
      return st_;
    }
    open("");
    const std::string end = pj::children_end("");
    auto cur = j_.scan();
    cur->seek(pj::children_begin(""), end);
    while (cur->valid()) {
      std::string path = pj::key_path(cur->key().substr(1));
      auto r = pj::decode_entry(cur->value(), cur->key());
      const std::string parent = parent_of(path);
      while (!stack_.empty() && stack_.back().path != parent) close();
      if (stack_.empty()) fail(errc::corrupt, "journal in STATE '" + j_.where() + "': '" + path + "' has no parent record");
      if (S_ISREG(r.st.mode) && r.state == pj::file_state::excluded) {
        cur->next();
        continue;
      }
      open_dir& d = stack_.back();
      ++d.inner;
      if (S_ISREG(r.st.mode) && path.size() > marker_.size() && path.ends_with(marker_) &&
          path[path.size() - marker_.size() - 1] == '/')
        d.has_marker = true;
      if (S_ISDIR(r.st.mode)) {
        if (r.listed_run == run_) {
          open(path);
        } else {
          // Published empty (this run could not list it): its subtree, and
          // the layout recorded there, wait for a run that lists it.
          keep_old_within(path);
          cur->seek(pj::children_end(path), end);
          continue;
        }
      }
      cur->next();
    }
    while (!stack_.empty()) close();
    forget_old_until(pj::prefix_end('l'));
    remember_changes();
    j_.write(out_);
    return st_;
  }

 private:
  // Previous layout records before `key` name directories no longer in the
  // tree (or no longer listed as directories): dropped.
  void forget_old_until(std::string_view key) {
    while (old_->valid() && old_->key() < key) {
      if (old_->key().size() > 1) out_.erase(old_->key());
      old_->next();
    }
  }
  // A resumed run plans again from its own layout, in which the catalogs it
  // split off or merged are already so: the changes the first plan of this
  // run found are kept with the layout, so the run reports them.
  void remember_changes() {
    const std::string key = pj::meta_key("layout-changes");
    const std::string prefix = std::to_string(run_) + " ";
    if (auto v = j_.get(key); v && v->starts_with(prefix)) {
      std::uint64_t split = 0, merged = 0;
      if (std::sscanf(v->c_str() + prefix.size(), "%lu %lu", &split, &merged) == 2) {
        st_.split_off = split;
        st_.merged = merged;
        return;
      }
    }
    out_.put(key, prefix + std::to_string(st_.split_off) + " " + std::to_string(st_.merged));
  }

  void keep_old_within(const std::string& path) {
    auto from = pj::layout_key(path);
    forget_old_until(from);
    auto to = from;
    to.push_back('\x01');
    while (old_->valid() && old_->key() < to) old_->next();
  }

  void open(const std::string& path) {
    open_dir d;
    d.path = path;
    if (!path.empty()) {
      auto key = pj::layout_key(path);
      forget_old_until(key);
      if (old_->valid() && old_->key() == key) {
        d.before = pj::decode_layout_record(old_->value(), old_->key()).reason;
        old_->next();
      }
    } else {
      forget_old_until(pj::layout_key(""));
      if (old_->valid() && old_->key() == pj::layout_key("")) {
        out_.erase(old_->key());
        old_->next();
      }
    }
    stack_.push_back(std::move(d));
  }

  std::uint64_t extra(pj::catalog_reason r) const {
    if (r == pj::catalog_reason::dirtab) return extra_dirtab_;
    if (r == pj::catalog_reason::automatic) return extra_auto_;
    return 0;
  }

  void set(const std::string& path, pj::catalog_reason r) {
    out_.put(pj::layout_key(path), pj::encode_layout_record({r, run_}));
    ++st_.nested;
    if (r == pj::catalog_reason::marker) ++st_.by_marker;
    if (r == pj::catalog_reason::dirtab) ++st_.by_dirtab;
    if (r == pj::catalog_reason::automatic) ++st_.automatic;
  }

  void close() {
    open_dir d = std::move(stack_.back());
    stack_.pop_back();
    const bool is_top = d.path.empty();
    std::optional<pj::catalog_reason> reason;
    if (is_top) reason = pj::catalog_reason::root;
    else if (d.has_marker) reason = pj::catalog_reason::marker;
    else if (o_.rules && o_.rules->matches(d.path)) reason = pj::catalog_reason::dirtab;
    else if (d.before == pj::catalog_reason::automatic) reason = pj::catalog_reason::automatic;

    bool split = false;
    if (o_.autocatalogs && 1 + d.inner > o_.max_weight) {
      // Too heavy: split off the heaviest subdirectories, as cvmfs_server's
      // balancer does, down to half the maximum.
      std::sort(d.heavy.begin(), d.heavy.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      for (const auto& [weight, path] : d.heavy) {
        if (1 + d.inner <= o_.max_weight / 2) break;
        set(path, pj::catalog_reason::automatic);
        ++st_.split_off;
        d.inner -= weight - 1;
        split = true;
      }
    }
    if (!split && o_.autocatalogs && reason == pj::catalog_reason::automatic &&
        1 + d.inner + extra(*reason) < o_.min_weight) {
      reason.reset();
      ++st_.merged;
    }
    if (is_top) return;
    open_dir& parent = stack_.back();
    if (reason) {
      set(d.path, *reason);
    } else {
      if (d.before) out_.erase(pj::layout_key(d.path));
      parent.inner += d.inner;
      if (o_.autocatalogs && 1 + d.inner >= o_.min_weight) parent.heavy.emplace_back(1 + d.inner, std::move(d.path));
    }
  }

  journal& j_;
  const std::uint64_t run_;
  const layout_options& o_;
  const std::string marker_;
  const std::uint64_t extra_dirtab_, extra_auto_;
  std::unique_ptr<journal::cursor> old_;  // the previous layout, read alongside
  journal::batch out_;
  std::vector<open_dir> stack_;
  layout_stats st_;
};

}  // namespace

layout_stats plan_catalogs(journal& j, std::uint64_t run, const layout_options& o, const format_writer& fmt) {
  if (o.autocatalogs && (o.min_weight == 0 || o.max_weight < o.min_weight))
    fail(errc::usage, "--max-weight " + std::to_string(o.max_weight) + " is below --min-weight " +
                          std::to_string(o.min_weight) + ": give a maximum at least the minimum");
  return planner(j, run, o, fmt).run();
}

std::optional<pj::catalog_reason> catalog_reason_of(const journal& j, std::string_view path, std::uint64_t run) {
  auto key = pj::layout_key(path);
  auto v = j.get(key);
  if (!v) return std::nullopt;
  auto r = pj::decode_layout_record(*v, key);
  if (r.run != run) return std::nullopt;
  return r.reason;
}

}  // namespace stratum
