// The mark set of a garbage collection (catalog/gc/collector.hpp): the store
// keys of every object a kept revision references, and of every object the
// sweep deleted. It lives on disk, in a RocksDB database of its own at
// STATE/gc (not the publish journal: it is thrown away after each
// collection, and a collection killed half way starts again from nothing),
// so a repository of millions of objects costs RocksDB's memtable and
// caches, not a hash set of every name (docs/DESIGN.md, "Garbage
// collection").
//
// Thread: the I/O thread that runs the collection; not thread-safe.
#pragma once

#include "storage/journal/journal.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

namespace stratum {

class mark_set {
 public:
  // Opens an empty set in `state_dir`/gc, removing what a killed collection
  // left there.
  explicit mark_set(const std::string& state_dir);
  ~mark_set();  // removes `state_dir`/gc
  mark_set(const mark_set&) = delete;
  mark_set& operator=(const mark_set&) = delete;

  // Marks a store key as referenced. Written in batches: contains() and
  // deleted() see every add() before them.
  void add(std::string_view key);
  bool contains(std::string_view key);
  // Notes a store key the sweep deleted (for the log files beside the
  // manifest, which name objects by hash).
  void add_deleted(std::string_view key);
  bool deleted(std::string_view key);

  std::uint64_t marked() const { return marked_; }

 private:
  void flush();

  std::string dir_;
  std::unique_ptr<journal> db_;
  journal::batch pending_;
  std::unordered_set<std::string> pending_keys_;  // the marks in pending_ (at most a batch)
  std::uint64_t marked_ = 0;
};

}  // namespace stratum
