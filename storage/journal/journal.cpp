#include "storage/journal/journal.hpp"

#include "async/error.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace stratum {

struct journal::batch::rep {
  rocksdb::WriteBatch wb;
};

journal::batch::batch() : rep_(std::make_unique<rep>()) {}
journal::batch::~batch() = default;
journal::batch::batch(batch&&) noexcept = default;
journal::batch& journal::batch::operator=(batch&&) noexcept = default;
void journal::batch::put(std::string_view k, std::string_view v) { rep_->wb.Put(rocksdb::Slice(k.data(), k.size()), rocksdb::Slice(v.data(), v.size())); }
void journal::batch::erase(std::string_view k) { rep_->wb.Delete(rocksdb::Slice(k.data(), k.size())); }
void journal::batch::erase_range(std::string_view from, std::string_view to) {
  rep_->wb.DeleteRange(rocksdb::Slice(from.data(), from.size()), rocksdb::Slice(to.data(), to.size()));
}
std::size_t journal::batch::size() const { return static_cast<std::size_t>(rep_->wb.Count()); }

void journal::batch::append(batch& other) {
  // Replays `other` record by record (RocksDB's own batch append is not
  // public API).
  struct replay final : rocksdb::WriteBatch::Handler {
    rocksdb::WriteBatch& to;
    explicit replay(rocksdb::WriteBatch& t) : to(t) {}
    rocksdb::Status PutCF(uint32_t, const rocksdb::Slice& k, const rocksdb::Slice& v) override { return to.Put(k, v); }
    rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice& k) override { return to.Delete(k); }
    rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice& from, const rocksdb::Slice& end) override {
      return to.DeleteRange(from, end);
    }
  } h(rep_->wb);
  auto s = other.rep_->wb.Iterate(&h);
  if (!s.ok()) fail(errc::permanent, "journal: cannot merge record batches: " + s.ToString());
  other.rep_->wb.Clear();
}

namespace {

// The one place where RocksDB statuses become stratum errors.
[[noreturn]] void raise(const rocksdb::Status& s, const std::string& state, const std::string& what) {
  std::string where = "journal in STATE '" + state + "': " + what + ": ";
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kNoSpace)
    fail(errc::permanent, where + "no space left on the disk holding STATE; free some space and run the same command "
                                  "again: the publish resumes where it stopped");
  if (s.IsCorruption())
    fail(errc::corrupt, where + s.ToString() + "; move '" + state + "/journal' aside and publish again (files are read again, "
                        "objects already in the store are found there)");
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) fail(errc::transient, where + s.ToString());
  fail(errc::permanent, where + s.ToString());
}

// RocksDB's own log file would sit on the same disk as the journal; on a full
// disk its failed writes abort the process (Debian's build keeps
// assertions). Statuses carry everything stratum reports, so it is dropped.
class silent_logger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

struct lock_file {
  int fd = -1;
  ~lock_file() { if (fd >= 0) ::close(fd); }
};

// RocksDB counts into a thread-local perf context by default (every key
// comparison of a memtable insert, through __tls_get_addr, since it is a
// shared library). Nobody reads those counters, and off they save a
// publish instructions (bench/README.md, "RocksDB perf counters off"). The
// level is per thread, so every entry point sets it for the thread it runs on.
void no_perf_counters() {
  thread_local bool off = false;
  if (!off) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    off = true;
  }
}

}  // namespace

class journal_impl final : public journal {
 public:
  journal_impl(const std::string& state, options opt) : opt_(opt) {
    where_ = state;
    take_lock();
    rocksdb::Options o;
    o.create_if_missing = true;
    o.info_log = std::make_shared<silent_logger>();
    o.max_open_files = 256;
    o.keep_log_file_num = 2;
    o.max_log_file_size = 1 << 20;
    o.recycle_log_file_num = 2;
    o.IncreaseParallelism(2);
    // Memory must not grow with the tree (issue 19: 10 million files in
    // 256 MiB). A memtable costs about twice its records in arena blocks
    // (a heap profile of a 1M-file publish: 66 MB of Arena::AllocateNewBlock
    // with the 32 MB buffers before); two of them at most, and a flush every
    // 16 MB of records, which a 1M-file publish does a dozen times.
    o.write_buffer_size = opt.write_buffer_bytes;
    o.max_write_buffer_number = 2;
    // No fallocate of the log: RocksDB reserves 1.1 write buffers (35 MB)
    // per log file ahead, two of them while a memtable is flushed, so a
    // STATE disk with 64 MB free failed with "no space" holding under 1 MB
    // (tests/resume_test.cpp, "a full STATE disk..."); on tmpfs the
    // reservation also zeroes the pages.
    o.allow_fallocate = false;
    // Writers from two threads (the I/O thread, the walker) queue for the
    // log; a waiting writer sleeps instead of spinning for up to 100 us,
    // which on two cores only takes the core from the writer it waits for.
    o.enable_write_thread_adaptive_yield = false;
    // Opening and closing stay cheap: the log is replayed into memory, not
    // flushed to a table file, on every run.
    o.avoid_flush_during_recovery = true;
    o.avoid_flush_during_shutdown = true;
    rocksdb::BlockBasedTableOptions t;
    // Most lookups ask for an object that is not there yet: a Bloom filter
    // answers those without reading a block.
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Every open table file kept its index and filter in memory outside
    // any bound (10 bits a key plus an index entry per 4 KiB block: ~20 MB
    // for a 10M-file journal, up to max_open_files of them). They go into
    // the one bounded cache instead, cut into 4 KiB partitions, so a lookup
    // loads the partition it needs and not a table's whole filter; only the
    // small top level of each stays pinned, and the level-0 tables' (at
    // most a few, each one memtable's worth) while they exist.
    cache_ = rocksdb::NewLRUCache(opt.cache_bytes);
    t.block_cache = cache_;
    t.cache_index_and_filter_blocks = true;
    t.cache_index_and_filter_blocks_with_high_priority = true;
    t.pin_l0_filter_and_index_blocks_in_cache = true;
    t.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
    t.partition_filters = true;
    t.metadata_block_size = 4096;
    t.pin_top_level_index_and_filter = true;
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    // The same for keys still in the memtable (most of a run's lookups).
    o.memtable_prefix_bloom_size_ratio = 0.05;
    o.memtable_whole_key_filtering = true;
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(o, state + "/journal", &db);
    if (!s.ok()) raise(s, where_, "cannot open");
    db_.reset(db);
    syncer_ = std::thread([this] { sync_loop(); });
  }

  ~journal_impl() override {
    {
      std::lock_guard g(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    syncer_.join();
    // After a write error RocksDB must not be asked to write or sync again
    // (Debian's build asserts); what was synced before it stays.
    if (!failed_.load()) db_->SyncWAL();
    db_->Close();
  }

  std::optional<std::string> get(std::string_view key) const override {
    no_perf_counters();
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &v);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) raise(s, where_, "cannot read");
    return v;
  }

  bool contains(std::string_view key) const override {
    no_perf_counters();
    std::string v;
    rocksdb::Slice k(key.data(), key.size());
    if (!db_->KeyMayExist(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), k, &v)) return false;
    auto s = db_->Get(rocksdb::ReadOptions(), k, &v);
    if (s.IsNotFound()) return false;
    if (!s.ok()) raise(s, where_, "cannot read");
    return true;
  }

  void write(batch& b) override {
    no_perf_counters();
    if (b.empty()) return;
    rethrow_failure();
    rocksdb::WriteOptions w;
    w.sync = false;  // in the OS's log at once; synced by the group commit
    std::size_t n = b.size();
    check(db_->Write(w, &b.rep_->wb), "cannot write");
    b.rep_->wb.Clear();
    writes_.fetch_add(n, std::memory_order_relaxed);
    if (pending_.fetch_add(n, std::memory_order_relaxed) + n >= opt_.sync_records) cv_.notify_one();
  }

  void sync() override {
    rethrow_failure();
    pending_.store(0, std::memory_order_relaxed);
    check(db_->SyncWAL(), "cannot sync");
    syncs_.fetch_add(1, std::memory_order_relaxed);
  }

  void checkpoint(bool wait) override {
    rethrow_failure();
    no_perf_counters();
    rocksdb::FlushOptions f;
    f.wait = wait;
    check(db_->Flush(f), "cannot flush");
  }

  class cursor_impl final : public cursor {
   public:
    cursor_impl(rocksdb::DB& db, const std::string& where) : where_(where) {
      rocksdb::ReadOptions r;
      r.total_order_seek = true;
      // RocksDB reads the bound through this pointer on every step, so
      // changing what it points to before a seek moves the bound.
      r.iterate_upper_bound = &bound_slice_;
      it_.reset(db.NewIterator(r));
    }
    void seek(std::string_view key) override { seek(key, std::string_view("\xff\xff\xff\xff", 4)); }
    void seek(std::string_view key, std::string_view end) override {
      bound_.assign(end);
      bound_slice_ = rocksdb::Slice(bound_);
      it_->Seek(rocksdb::Slice(key.data(), key.size()));
      status();
    }
    bool valid() const override { return it_->Valid(); }
    std::string_view key() const override { return it_->key().ToStringView(); }
    std::string_view value() const override { return it_->value().ToStringView(); }
    void next() override {
      it_->Next();
      status();
    }

   private:
    void status() {
      if (!it_->Valid() && !it_->status().ok()) raise(it_->status(), where_, "cannot read");
    }
    std::string bound_ = std::string("\xff\xff\xff\xff", 4);
    rocksdb::Slice bound_slice_{bound_};
    std::unique_ptr<rocksdb::Iterator> it_;
    std::string where_;
  };

  std::unique_ptr<cursor> scan() const override {
    no_perf_counters();  // a cursor is used on the thread that made it
    return std::make_unique<cursor_impl>(*db_, where_);
  }
  memory_use memory() const override {
    memory_use m;
    auto prop = [&](const char* name) {
      std::uint64_t v = 0;
      db_->GetIntProperty(name, &v);
      return v;
    };
    m.memtables = prop("rocksdb.size-all-mem-tables");
    m.table_readers = prop("rocksdb.estimate-table-readers-mem");
    m.cache = cache_->GetUsage();
    return m;
  }
  std::uint64_t syncs() const override { return syncs_.load(std::memory_order_relaxed); }
  std::uint64_t writes() const override { return writes_.load(std::memory_order_relaxed); }

 private:
  void take_lock() {
    std::string path = where_ + "/lock";
    lock_.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_.fd < 0) fail_errno(errno, "cannot create '" + path + "'");
    if (::flock(lock_.fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) fail_errno(errno, "cannot lock '" + path + "'");
      char buf[32] = {};
      ssize_t n = ::pread(lock_.fd, buf, sizeof buf - 1, 0);
      std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("?");
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      fail(errc::usage, "STATE '" + where_ + "' is in use by pid " + pid +
                            " (another stratum); wait for it to finish or stop it, then run again");
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(lock_.fd, 0) != 0 || ::pwrite(lock_.fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
      fail_errno(errno, "cannot write '" + path + "'");
  }

  void sync_loop() {
    std::unique_lock g(mu_);
    while (!stop_) {
      cv_.wait_for(g, opt_.sync_interval, [&] { return stop_ || pending_.load(std::memory_order_relaxed) >= opt_.sync_records; });
      if (stop_ || failed_.load() || pending_.exchange(0, std::memory_order_relaxed) == 0) continue;
      g.unlock();
      auto s = db_->SyncWAL();
      g.lock();
      if (!s.ok()) remember(s, "cannot sync");
      else syncs_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // The first failure is kept; every later call reports it without touching
  // RocksDB again.
  void remember(const rocksdb::Status& s, const char* what) {
    std::lock_guard g(error_mu_);
    if (!failed_.exchange(true)) {
      first_error_ = s;
      first_what_ = what;
    }
  }

  void check(const rocksdb::Status& s, const char* what) {
    if (s.ok()) return;
    remember(s, what);
    raise(s, where_, what);
  }

  void rethrow_failure() {
    if (!failed_.load()) return;
    std::lock_guard g(error_mu_);
    raise(first_error_, where_, first_what_);
  }

  options opt_;
  std::shared_ptr<rocksdb::Cache> cache_;
  lock_file lock_;
  std::unique_ptr<rocksdb::DB> db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::mutex error_mu_;
  std::atomic<bool> failed_{false};
  rocksdb::Status first_error_;
  const char* first_what_ = "";
  std::atomic<std::uint64_t> pending_{0}, syncs_{0}, writes_{0};
  std::thread syncer_;
};

append_log::append_log(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) fail_errno(errno, "cannot open '" + path_ + "'");
}

append_log::~append_log() {
  if (fd_ >= 0) ::close(fd_);
}

void append_log::append(std::string_view record) {
  if (record.size() > 255) fail(errc::permanent, "a record for '" + path_ + "' is longer than 255 bytes");
  char buf[256];
  buf[0] = static_cast<char>(record.size());
  std::memcpy(buf + 1, record.data(), record.size());
  const auto n = static_cast<ssize_t>(record.size() + 1);
  ssize_t w;
  do w = ::write(fd_, buf, static_cast<std::size_t>(n));
  while (w < 0 && errno == EINTR);
  if (w != n) fail_errno(w < 0 ? errno : ENOSPC, "cannot write '" + path_ + "'");
}

std::vector<std::string> append_log::read_all() const {
  std::string all;
  char buf[1 << 16];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(fd_, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(errno, "cannot read '" + path_ + "'");
    if (n == 0) break;
    all.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < all.size();) {
    const std::size_t len = static_cast<unsigned char>(all[pos]);
    if (pos + 1 + len > all.size()) break;  // cut short (a power loss)
    out.emplace_back(all, pos + 1, len);
    pos += 1 + len;
  }
  return out;
}

void append_log::clear() {
  if (::ftruncate(fd_, 0) != 0) fail_errno(errno, "cannot empty '" + path_ + "'");
}

std::unique_ptr<journal> journal::open(const std::string& state_dir, options opt) {
  return std::make_unique<journal_impl>(state_dir, opt);
}

}  // namespace stratum
