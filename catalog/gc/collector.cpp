// Garbage collection (collector.hpp): the phases in the order they run.
// Thread: the I/O thread that awaits collect_garbage; decoding on the CPU pool.
#include "catalog/gc/collector.hpp"

#include "async/crash_point.hpp"
#include "async/error.hpp"
#include "async/group.hpp"
#include "catalog/publish/head.hpp"
#include "catalog/publish/record.hpp"

#include <charconv>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <ctime>

namespace stratum {
namespace {

using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// Put and list back to learn the time as the store tells it: S3's and
// Azure's clocks are not this machine's.
const char* const clock_key = ".stratumgc";

awaitable<std::int64_t> store_clock(backend& store) {
  const std::string body = "stratum gc started here; removed when it ends\n";
  co_await store.put(clock_key, std::make_shared<const bytes>(body.begin(), body.end()));
  for (const auto& o : co_await store.list(clock_key, 16))
    if (o.key == clock_key && o.modified > 0) co_return o.modified;
  co_return static_cast<std::int64_t>(std::time(nullptr));
}

bool hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Whether a key in shard `shard` ("data/ab/") is an object's name: the
// hash in hex (at least 38 digits), an algorithm suffix
// ("-rmd160", "-shake128") and one capital letter for the kind, both
// optional. Anything else in the store is not ours to delete.
bool object_name(std::string_view key, std::string_view shard) {
  if (key.substr(0, shard.size()) != shard) return false;
  std::string_view rest = key.substr(shard.size());
  if (!rest.empty() && rest.back() >= 'A' && rest.back() <= 'Z') rest.remove_suffix(1);
  for (std::string_view alg : {"-rmd160", "-shake128"})
    if (rest.size() > alg.size() && rest.substr(rest.size() - alg.size()) == alg) rest.remove_suffix(alg.size());
  // 160-bit names without the shard's two digits (CernVM-FS): 38; SHA-256
  // names whole (stratum's own): 64.
  if (rest.size() < 38) return false;
  for (char c : rest)
    if (!hex_digit(c)) return false;
  return true;
}

class collection {
 public:
  collection(backend& store, journal& j, const std::string& state_dir, const format_writer& fmt, const signing_key& key,
             asio::thread_pool& cpu, const gc_options& o)
      : store_(store), j_(j), state_dir_(state_dir), fmt_(fmt), key_(key), cpu_(cpu), o_(o) {}

  awaitable<gc_result> run() {
    // 1. The STATE fits.
    auto repo = co_await open_own_repository(store_, j_, fmt_, key_, cpu_, "collect garbage", true);
    const manifest head = repo->head();
    const history& h = repo->history();  // without the tags, nothing can be kept safely

    // The deletion log opens before anything changes: a path that cannot
    // be written is a usage error with nothing done.
    std::FILE* log = nullptr;
    if (!o_.dry_run && !o_.deletion_log.empty()) {
      log = std::fopen(o_.deletion_log.c_str(), "a");
      if (!log)
        fail(errc::usage, "cannot open the deletion log '" + o_.deletion_log + "': " + std::strerror(errno) +
                              ". Nothing was changed");
      std::fprintf(log, "# stratum gc of %s started at %lld\n", store_.describe().c_str(), (long long)std::time(nullptr));
    }
    struct closer {
      std::FILE*& f;
      ~closer() {
        if (f) std::fclose(f);
      }
    } close_log{log};

    // 2. The store's clock.
    // (A dry run writes nothing: this machine's clock stands in.)
    std::int64_t start = static_cast<std::int64_t>(std::time(nullptr));
    if (!o_.dry_run) start = co_await store_clock(store_);

    // 3. Mark.
    auto t = clock_type::now();
    std::vector<std::optional<bytes>> kept_files;
    for (const auto& name : fmt_.kept_files()) kept_files.push_back(co_await store_.get(name, 0, 0));
    r_.kept = revisions_to_keep(head, h, fmt_.logged_roots(kept_files), o_.keep_since);
    mark_set marks(state_dir_);
    marks.add(fmt_.object_key(head.history, object_kind::history));
    marks.add(fmt_.object_key(head.public_key, object_kind::public_key));
    if (head.meta_info) marks.add(fmt_.object_key(*head.meta_info, object_kind::meta_info));
    co_await mark_own_objects(marks);
    r_.marking = co_await mark(*repo, r_.kept, marks, o_.notice);
    r_.objects_marked = marks.marked();
    r_.mark_seconds = since(t);
    crash_point("gc-marked");

    t = clock_type::now();
    if (!o_.dry_run) {
      // 4. Forget what will be gone, before it is.
      forget_confirmations(marks);
      crash_point("gc-forgotten");
      // 5. Say that old revisions may be gone, before they are.
      if (!head.garbage_collectable) {
        manifest m = head;
        m.garbage_collectable = true;
        co_await sign_again(m, nullptr, "gc-before-flag", "gc-after-flag");
      }
    }

    // 6. Sweep.
    co_await sweep(start, marks, log);
    if (log) {
      std::fprintf(log, "# finished: %llu objects deleted\n", (unsigned long long)r_.objects_deleted);
      if (std::fflush(log) != 0) fail(errc::permanent, "cannot write the deletion log '" + o_.deletion_log + "'");
    }
    crash_point("gc-swept");

    // 7. The log beside the manifest without what went.
    if (!o_.dry_run && r_.objects_deleted > 0 && !fmt_.kept_files().empty()) {
      manifest m = head;
      m.garbage_collectable = true;
      auto pruned = fmt_.without_logged(kept_files, [&](const hash256& hh, object_kind k) {
        return marks.deleted(fmt_.object_key(hh, k));
      });
      co_await sign_again(m, &pruned, nullptr, nullptr);
    }
    if (!o_.dry_run) co_await store_.remove(clock_key);
    r_.sweep_seconds = since(t);
    co_return r_;
  }

 private:
  // What a publish stores whatever the tree (the meta-info, the empty
  // content) is kept with the current revision.
  awaitable<void> mark_own_objects(mark_set& marks) {
    auto keys = co_await run_on(cpu_, [&] {
      std::vector<std::string> out;
      auto name = [&](const bytes& content, object_kind k) {
        const bytes stored = fmt_.compress(content, k);
        const hash256 hh = fmt_.names_by_content() ? fmt_.object_hash(content) : fmt_.object_hash(stored);
        out.push_back(fmt_.object_key(hh, k));
      };
      for (const auto& c : fmt_.implicit_objects()) name(c, object_kind::file);
      if (auto meta = fmt_.meta_info()) name(*meta, object_kind::meta_info);
      return out;
    });
    for (const auto& k : keys) marks.add(k);
  }

  void forget_confirmations(mark_set& marks) {
    journal::batch b;
    auto c = j_.scan();
    const auto end = pj::prefix_end('o');
    for (c->seek(pj::prefix_begin('o'), end); c->valid(); c->next()) {
      const auto k = c->key();
      if (k.size() != 34) continue;  // not an object record of this version
      hash256 hh;
      std::copy(k.begin() + 1, k.begin() + 33, reinterpret_cast<char*>(hh.v.data()));
      const auto kind = static_cast<object_kind>(k[33]);
      if (marks.contains(fmt_.object_key(hh, kind))) continue;
      b.erase(k);
      ++r_.confirmations_forgotten;
      if (b.size() >= 4096) j_.write(b);
    }
    if (!b.empty()) j_.write(b);
    j_.sync();
  }

  // Shards are listed and swept by a few workers at once: on a remote store
  // each listing page and each delete is a round trip, and one shard at a
  // time would leave the request window empty. All on this thread: the
  // mark set and the log need no lock.
  awaitable<void> sweep(std::int64_t start, mark_set& marks, std::FILE* log) {
    int next = 0;
    std::vector<awaitable<void>> workers;
    for (int w = 0; w < sweep_workers; ++w)
      workers.push_back([](collection& self, int& next, std::int64_t start, mark_set& marks, std::FILE* log) -> awaitable<void> {
        while (next < 256) co_await self.sweep_shard(next++, start, marks, log);
      }(*this, next, start, marks, log));
    co_await run_all(std::move(workers));
  }

  // Serial shards had cost two round trips each: 16.8 s of a 17.5 s sweep
  // at 30 ms (bench/README.md, session 12).
  static constexpr int sweep_workers = 32;

  awaitable<void> sweep_shard(int shard, std::int64_t start, mark_set& marks, std::FILE* log) {
    static const char* digits = "0123456789abcdef";
    const std::string prefix = std::string("data/") + digits[shard >> 4] + digits[shard & 15] + "/";
    std::vector<std::string> doomed;
    std::vector<object_info> listed = co_await store_.list(prefix);
    std::uint64_t bytes_now = 0;
    for (auto& obj : listed) {
      ++r_.objects_listed;
      if (!object_name(obj.key, prefix)) {
        ++r_.others;
        continue;
      }
      if (marks.contains(obj.key)) continue;
      // A second for the clocks' granularity: the store's times are whole
      // seconds on some stores.
      if (obj.modified == 0 || obj.modified >= start - 1) {
        ++r_.objects_young;
        continue;
      }
      if (o_.condemned) o_.condemned(obj);
      bytes_now += obj.size;
      doomed.push_back(obj.key);
    }
    if (doomed.empty()) co_return;
    if (!o_.dry_run) {
      co_await store_.remove_many(doomed);
      for (const auto& k : doomed) {
        marks.add_deleted(k);
        if (log) std::fprintf(log, "%s\n", k.c_str());
      }
      crash_point("gc-deleted");
    }
    r_.objects_deleted += doomed.size();
    r_.bytes_deleted += bytes_now;
  }

  // `m` is changed: its expiry is set as a publish sets it.
  awaitable<void> sign_again(manifest& m, const std::vector<std::optional<bytes>>* kept, const char* before,
                             const char* after) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    m.expires = o_.expiry_seconds > 0 ? now + o_.expiry_seconds : 0;
    co_await write_head(store_, fmt_, key_, m, now, kept, before, after);
    ++r_.manifests_signed;
  }

  backend& store_;
  journal& j_;
  const std::string state_dir_;
  const format_writer& fmt_;
  const signing_key& key_;
  asio::thread_pool& cpu_;
  const gc_options& o_;
  gc_result r_;
};

}  // namespace

awaitable<gc_result> collect_garbage(backend& store, journal& j, const std::string& state_dir, const format_writer& fmt,
                                     const signing_key& key, asio::thread_pool& cpu, const gc_options& o) {
  collection c(store, j, state_dir, fmt, key, cpu, o);
  co_return co_await c.run();
}

std::int64_t parse_keep_since(const std::string& text, std::int64_t now) {
  auto bad = [&]() -> std::int64_t {
    fail(errc::usage, "--keep-since '" + text + "' is neither a duration (3d, 1w, 12h, 30m, 90s) nor a date "
                      "(2026-11-27 or 2026-11-27T08:00:00, UTC) nor @SECONDS");
  };
  if (text.empty()) return bad();
  if (text == "now") return INT64_MAX;  // the current and the tagged revisions only
  if (text[0] == '@') {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data() + 1, text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size()) return bad();
    return v;
  }
  if (text.size() >= 10 && text[4] == '-') {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), "%Y-%m-%d", &tm);
    if (!end) return bad();
    if (*end == 'T' || *end == ' ') {
      const char* e2 = ::strptime(end + 1, "%H:%M:%S", &tm);
      if (!e2) e2 = ::strptime(end + 1, "%H:%M", &tm);
      if (!e2) return bad();
      end = e2;
    }
    if (*end == 'Z') ++end;
    if (*end) return bad();
    return static_cast<std::int64_t>(::timegm(&tm));
  }
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || n < 0) return bad();
  const std::string unit(p, text.data() + text.size());
  std::int64_t scale = 0;
  if (unit.empty() || unit == "d") scale = 86400;
  else if (unit == "w") scale = 7 * 86400;
  else if (unit == "h") scale = 3600;
  else if (unit == "m") scale = 60;
  else if (unit == "s") scale = 1;
  else return bad();
  return now - n * scale;
}

}  // namespace stratum
