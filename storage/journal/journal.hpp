// The journal: a RocksDB database in the STATE directory, the write-ahead log
// of a publish (docs/DESIGN.md, "The journal").
//
// This layer knows nothing of what the records mean; it gives ordered keys,
// atomic batches and group commit:
//
//  * write() makes a batch visible at once and durable against a crash of the
//    process (the batch is in the operating system's write-ahead log before
//    write() returns).
//  * Durability against a power loss or reboot is group-committed: a
//    background thread syncs the log every `sync_records` records or
//    `sync_interval`, whichever comes first, so one disk flush covers many
//    records. sync() forces it now.
//
// One process at a time: open() takes an exclusive lock on STATE/lock, and a
// second stratum is refused with the pid of the first. Every RocksDB status
// is converted to a stratum::error in one place (journal.cpp), naming the
// STATE directory and what to do. The journal never holds a secret: callers
// store paths, hashes and counters only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stratum {

class journal {
 public:
  struct options {
    std::uint64_t sync_records = 4096;
    std::chrono::milliseconds sync_interval{50};
    // What bounds the journal's memory, whatever the number of records
    // (journal.cpp says why these sizes): two memtables of
    // `write_buffer_bytes` (the one being written, the one being flushed),
    // and one cache of `cache_bytes` for table blocks, their indexes and
    // Bloom filters included.
    std::size_t write_buffer_bytes = 16 << 20;
    std::size_t cache_bytes = 16 << 20;
  };

  // What the journal holds in memory now, in bytes (RocksDB's own counts).
  struct memory_use {
    std::uint64_t memtables = 0;      // written or flushing, and those a cursor still reads
    std::uint64_t table_readers = 0;  // per open table file, outside the cache
    std::uint64_t cache = 0;          // the block cache, pinned blocks included
    std::uint64_t total() const { return memtables + table_readers + cache; }
  };

  // Opens or creates the journal in `state_dir`/journal. Throws errc::usage
  // if another process holds the directory ("in use by pid N").
  static std::unique_ptr<journal> open(const std::string& state_dir, options opt);
  static std::unique_ptr<journal> open(const std::string& state_dir) { return open(state_dir, options{}); }
  virtual ~journal() = default;

  // A set of changes applied atomically by write().
  class batch {
   public:
    batch();
    ~batch();
    batch(batch&&) noexcept;
    batch& operator=(batch&&) noexcept;
    void put(std::string_view key, std::string_view value);
    void erase(std::string_view key);
    // Erases every key in [from, to).
    void erase_range(std::string_view from, std::string_view to);
    std::size_t size() const;
    bool empty() const { return size() == 0; }
    // Adds the records of `other` after this batch's (and clears `other`).
    void append(batch& other);

   private:
    friend class journal_impl;
    struct rep;
    std::unique_ptr<rep> rep_;
  };

  virtual std::optional<std::string> get(std::string_view key) const = 0;
  virtual bool contains(std::string_view key) const = 0;
  // Applies `b` (and clears it). Thread-safe.
  virtual void write(batch& b) = 0;
  void put(std::string_view key, std::string_view value) {
    batch b;
    b.put(key, value);
    write(b);
  }
  void erase(std::string_view key) {
    batch b;
    b.erase(key);
    write(b);
  }
  // Makes everything written so far durable across a reboot, now.
  virtual void sync() = 0;
  // Moves everything written so far from the log into table files, so the
  // next open does not replay it (a finished publish's log is tens of MB).
  // With wait = false the move starts on RocksDB's background thread and
  // the call returns; a later checkpoint() waits for it.
  virtual void checkpoint(bool wait) = 0;

  // Ordered iteration over a consistent view of the journal, taken when the
  // cursor is made. A cursor must not outlive its journal.
  class cursor {
   public:
    virtual ~cursor() = default;
    virtual void seek(std::string_view key) = 0;
    // Seeks within [key, end): the cursor is invalid past `end`. A view kept
    // while many records are written steps over every newer record after
    // the position on each seek; the bound stops it at `end`, so one cursor
    // can serve a whole walk.
    virtual void seek(std::string_view key, std::string_view end) = 0;
    virtual bool valid() const = 0;
    virtual std::string_view key() const = 0;
    virtual std::string_view value() const = 0;
    virtual void next() = 0;
  };
  virtual std::unique_ptr<cursor> scan() const = 0;

  virtual memory_use memory() const = 0;

  // Counters for the progress line and the benchmark.
  virtual std::uint64_t syncs() const = 0;
  virtual std::uint64_t writes() const = 0;

  const std::string& where() const { return where_; }

 protected:
  std::string where_;  // the STATE directory, for messages
};

// An append-only file of short records (up to 255 bytes each) beside the
// journal, for facts written once per object from several threads that only
// a resumed run reads back. append() is one write(2) with O_APPEND: the
// record is in the operating system when it returns (it survives SIGKILL;
// after a power loss the tail may be gone), and it costs no RocksDB write.
class append_log {
 public:
  // Opens (creating) `path`.
  explicit append_log(const std::string& path);
  ~append_log();
  append_log(const append_log&) = delete;
  append_log& operator=(const append_log&) = delete;

  void append(std::string_view record);  // thread-safe
  // Every whole record, in order; a record cut short at the end is skipped.
  std::vector<std::string> read_all() const;
  void clear();  // empties the file

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace stratum
