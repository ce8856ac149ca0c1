// The on-disk mark set (mark_set.hpp). Thread: the collection's I/O thread.
#include "catalog/gc/mark_set.hpp"

#include <filesystem>

namespace stratum {
namespace {

// Records of the set: 'k' + key for a marked object, 'd' + key for a
// deleted one.
std::string record(char kind, std::string_view key) {
  std::string r(1, kind);
  r.append(key);
  return r;
}

// Nothing here needs to survive a power loss: a collection that stops
// starts again with an empty set.
journal::options unsynced() {
  journal::options o;
  o.sync_records = UINT64_MAX;
  o.sync_interval = std::chrono::hours(24);
  return o;
}

constexpr std::size_t batch_records = 4096;

}  // namespace

mark_set::mark_set(const std::string& state_dir) : dir_(state_dir + "/gc") {
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  db_ = journal::open(dir_, unsynced());
}

mark_set::~mark_set() {
  db_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void mark_set::add(std::string_view key) {
  // Counting only new marks needs a lookup; a catalog's objects repeat
  // within and across revisions, so the count is of distinct keys.
  auto r = record('k', key);
  if (pending_keys_.contains(r) || db_->contains(r)) return;
  pending_.put(r, "");
  pending_keys_.insert(std::move(r));
  ++marked_;
  if (pending_.size() >= batch_records) flush();
}

bool mark_set::contains(std::string_view key) {
  flush();
  return db_->contains(record('k', key));
}

void mark_set::add_deleted(std::string_view key) {
  pending_.put(record('d', key), "");
  if (pending_.size() >= batch_records) flush();
}

bool mark_set::deleted(std::string_view key) {
  flush();
  return db_->contains(record('d', key));
}

void mark_set::flush() {
  if (!pending_.empty()) db_->write(pending_);
  pending_keys_.clear();
}

}  // namespace stratum
