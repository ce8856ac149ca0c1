// The mount's read-ahead (prefetcher.hpp): the queue of files below listed
// directories and the coroutines that fetch them. Thread: the I/O thread.
#include "catalog/read/prefetcher.hpp"

namespace stratum {

namespace {

// Files up to this size are prefetched; this many wait at most.
constexpr std::uint64_t most_size = 1 << 20;
constexpr std::size_t queue_most = 20000;

}  // namespace

prefetcher::prefetcher(mount_tree& tree, object_cache& cache, unsigned workers, std::size_t ahead,
                       std::function<void(awaitable<void>)> spawn)
    : tree_(tree), cache_(cache), most_workers_(workers), ahead_(ahead), spawn_(std::move(spawn)) {}

void prefetcher::listed(std::uint64_t dir) {
  // Enough ahead of the reader to keep a store 30 ms away busy. A directory
  // the walk had not reached goes first; one inside the range queued
  // already extends it at its end.
  std::vector<small_file> mine;
  bool continued = false;
  try {
    for (auto& f : tree_.small_files_below(dir, most_size, ahead_, continued))
      if (!cache_.ready(f.unit.hash) && queued_.insert(f.unit.hash).second) mine.push_back(f);
  } catch (const std::exception&) {
    return;
  }
  queue_.insert(continued ? queue_.end() : queue_.begin(), mine.begin(), mine.end());
  // Beyond the bound, the files of directories listed longest ago go.
  while (queue_.size() > queue_most) {
    queued_.erase(queue_.back().unit.hash);
    queue_.pop_back();
  }
  while (workers_ < most_workers_ && !queue_.empty()) {
    ++workers_;
    spawn_(worker());
  }
}

awaitable<void> prefetcher::worker() {
  while (!queue_.empty()) {
    const auto f = queue_.front();
    queue_.pop_front();
    queued_.erase(f.unit.hash);
    // Read already (by the reader, or as another file of the same content).
    if (cache_.ready(f.unit.hash)) continue;
    try {
      auto o = co_await cache_.get(f.unit.hash, f.unit.kind, f.unit.size);
      if (fetched && f.named) fetched(f.ino, std::move(o));
    } catch (const std::exception&) {
      // The read that needs it fetches it again and says what failed.
    }
  }
  --workers_;
}

void prefetcher::next_unit(std::shared_ptr<const file_content> c, std::size_t u) { spawn_(warm(std::move(c), u)); }

awaitable<void> prefetcher::warm(std::shared_ptr<const file_content> c, std::size_t u) {
  try {
    const auto& x = c->units[u];
    co_await cache_.warm(x.hash, x.kind, x.size);
  } catch (const std::exception&) {
  }
}

}  // namespace stratum
