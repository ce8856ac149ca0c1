// The run's journal records (run_state.hpp). Thread: the I/O thread, except
// the members run_state.hpp marks as safe from any thread.
#include "catalog/publish/run_state.hpp"

#include "async/error.hpp"
#include "catalog/publish/record.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace stratum {
namespace {

// This boot of the machine (STRATUM_BOOT_ID stands in for it in tests).
std::string boot_id() {
  if (const char* fake = std::getenv("STRATUM_BOOT_ID")) return fake;
  std::string id;
  if (FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r")) {
    char buf[64] = {};
    if (std::fgets(buf, sizeof buf, f)) id = buf;
    std::fclose(f);
  }
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

std::string describe_id(const std::string& id) {
  if (id.empty()) return "no repository";
  return "revision " + id.substr(0, id.find(' '));
}

std::uint64_t to_number(const std::string& s, const std::string& what) {
  std::uint64_t v = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9' && v <= (UINT64_MAX - 9) / 10; ++i) v = v * 10 + unsigned(s[i] - '0');
  if (s.empty() || i != s.size()) fail(errc::corrupt, what + ": '" + s + "' is not a number; the journal is damaged");
  return v;
}

}  // namespace

std::string manifest_id(const manifest& m) { return std::to_string(m.revision) + " " + m.root.hex() + " " + m.history.hex(); }

std::uint64_t revision_of_id(const std::string& id, const std::string& what) {
  return id.empty() ? 0 : to_number(id.substr(0, id.find(' ')), what);
}

run_state::run_state(journal& j, std::string source, std::string store, std::string key_fingerprint)
    : j_(j), source_(std::move(source)), store_(std::move(store)), key_(std::move(key_fingerprint)) {}

run_state::~run_state() = default;

std::optional<std::string> run_state::meta(const char* name) const { return j_.get(pj::meta_key(name)); }
std::string run_state::meta_or(const char* name, const char* fallback) const { return meta(name).value_or(fallback); }

void run_state::check_belongs(bool fresh) const {
  const auto jstore = meta("store"), jsource = meta("source");
  // An empty source: a STATE `stratum import` made without --source, which
  // the first publish gives its source (run_state::start records it).
  const bool ours = jstore && *jstore == store_ && jsource && (*jsource == source_ || jsource->empty());
  if (jstore && !ours && (running() || !fresh))
    fail(errc::usage, "STATE '" + j_.where() + "' belongs to the publish of '" + jsource.value_or("?") + "' to '" + *jstore +
                          "', not of '" + source_ + "' to '" + store_ +
                          "'. Nothing was changed. Give the STATE directory of this source and store, or a new one");
  if (fresh && ours && running())
    fail(errc::usage, "STATE '" + j_.where() + "' holds an interrupted publish of '" + source_ + "' to '" + store_ +
                          "': run the same command without --new to resume it");
}

void run_state::moved_on(const std::string& current, const std::string& expected) const {
  fail(errc::usage, "store '" + store_ + "' holds " + describe_id(current) + ", but STATE '" + j_.where() + "' expects " +
                        describe_id(expected) +
                        " there: something else has published to it since. Nothing was changed. To publish from here, "
                        "give a new STATE directory (every file is read again; objects already in the store are not sent again)");
}

void run_state::start(std::uint64_t n, const std::string& base, bool verify, bool wipe) {
  journal::batch b;
  if (wipe) b.erase_range("a", "z");  // every record kind
  else
    // Catalog records stay: they are the previous revision's, which a
    // format whose catalogs carry the revision keeps where unchanged
    // (catalog_builder); each names the run that built it.
    for (char kind : {'p', 'i'}) b.erase_range(pj::prefix_begin(kind), pj::prefix_end(kind));
  b.put(pj::meta_key("source"), source_);
  b.put(pj::meta_key("store"), store_);
  b.put(pj::meta_key("key"), key_);
  b.put(pj::meta_key("run"), std::to_string(n));
  b.put(pj::meta_key("state"), "running");
  b.put(pj::meta_key("phase"), "files");
  b.put(pj::meta_key("base"), base);
  b.put(pj::meta_key("verify"), verify ? "1" : "0");
  b.put(pj::meta_key("boot"), boot_id());
  b.erase(pj::meta_key("dirty"));
  b.erase(pj::meta_key("intent"));
  j_.write(b);
  j_.sync();
  s_.run = n;
  s_.verify_with_store = verify;
  s_.resumed = false;
  dirty_ = false;
}

std::uint64_t run_state::recorded_run() const {
  auto n = meta("run");
  return n ? to_number(*n, "journal in STATE '" + j_.where() + "', run number") : 0;
}

void run_state::resume() {
  s_.run = std::max<std::uint64_t>(recorded_run(), 1);
  s_.verify_with_store = meta_or("verify", "0") == "1";
  s_.resumed = true;
  dirty_ = meta_or("dirty", "") == "1";
}

bool run_state::restarted() const { return meta_or("boot", "") != boot_id(); }
void run_state::note_boot() { j_.put(pj::meta_key("boot"), boot_id()); }

void run_state::finish(const std::string& published) {
  journal::batch b;
  b.put(pj::meta_key("published"), published);
  b.put(pj::meta_key("state"), "finished");
  b.erase(pj::meta_key("intent"));
  b.erase(pj::meta_key("phase"));
  b.erase_range(pj::prefix_begin('i'), pj::prefix_end('i'));
  j_.write(b);
  j_.sync();
  if (intents_) intents_->clear();
  j_.checkpoint(true);
}

void run_state::set_phase(const char* phase) { j_.put(pj::meta_key("phase"), phase); }

void run_state::set_intent(const std::string& id) {
  j_.put(pj::meta_key("intent"), id);
  j_.sync();
}

std::size_t run_state::open_intents(bool store_can_put_here) {
  s_.store_here = store_can_put_here && !s_.verify_with_store;
  if (s_.store_here) return s_.resumed ? count_old_intents() : 0;
  intents_ = std::make_unique<append_log>(j_.where() + "/intents");
  if (!s_.resumed) {
    intents_->clear();
    return 0;
  }
  for (auto& jk : intents_->read_all())
    if (!j_.contains(jk)) unconfirmed_.insert(std::move(jk));
  return unconfirmed_.size() + count_old_intents();
}

// Objects the interrupted attempts began sending and never saw confirmed,
// as RocksDB `i` records: how versions before STATE/intents kept them.
std::uint64_t run_state::count_old_intents() const {
  std::uint64_t n = 0;
  auto c = j_.scan();
  const std::string end = pj::prefix_end('i');
  for (c->seek(pj::prefix_begin('i'), end); c->valid(); c->next()) {
    std::string ok(c->key());
    ok[0] = 'o';
    if (!j_.contains(ok)) ++n;
  }
  return n;
}

bool run_state::begin_sending(const std::string& jk) {
  // One write(2) with O_APPEND, not a RocksDB write: a RocksDB write per
  // object from the CPU pool was ~10% of an S3 publish's CPU time
  // (bench/README.md, S3 session 6).
  intents_->append(jk);
  return s_.resumed && unconfirmed_.count(jk) > 0;
}

void run_state::report(const std::string& path, const std::string& message) { j_.put(pj::problem_key(path), message); }

void run_state::mark_dirty(journal::batch& b) {
  if (!dirty_.exchange(true)) b.put(pj::meta_key("dirty"), "1");
}

std::string run_state::confirmation(std::size_t size) const { return std::to_string(size) + " " + std::to_string(s_.run); }

std::vector<problem> run_state::problems() const {
  std::vector<problem> out;
  auto c = j_.scan();
  const std::string end = pj::prefix_end('p');
  for (c->seek(pj::prefix_begin('p')); c->valid() && c->key() < end; c->next()) {
    std::string path = pj::key_path(c->key().substr(1));
    out.push_back({path.empty() ? "." : path, std::string(c->value())});
  }
  return out;
}

}  // namespace stratum
