// Where a publish's objects go: each object is named, de-duplicated against
// the journal and against the other files in flight, compressed, sent to the
// store and confirmed in the journal — once, however many files hold the
// same content.
//
//   prepare()  on a CPU thread: names the object (format_writer); unless the
//              journal knows it or another file is storing it, claims it and
//              compresses it; a store that writes from the calling thread
//              gets it right there, otherwise the intent is recorded and the
//              digests the store checks are computed (backend::caps).
//   store()    on the I/O thread: sends what prepare() made, or waits for the
//              file that claimed the same object; then the confirmation.
//
// A claim (object_claim) is held from prepare() until the confirmation is in
// the journal; its end wakes the files waiting for that object.
#pragma once

#include "async/async.hpp"
#include "catalog/format/format.hpp"
#include "catalog/publish/publisher.hpp"
#include "storage/backend.hpp"
#include "storage/journal/group_writer.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace stratum {

class run_state;
class object_sink;

// The right to store one object, held by one file at a time. Move-only; ends
// when destroyed or release()d. On the I/O thread that wakes the files
// waiting for the object; on another thread (a failing prepare()) it only
// lets the object go, and the waiters end with the failing run.
class object_claim {
 public:
  object_claim() = default;
  object_claim(object_sink* sink, std::string jk) : sink_(sink), jk_(std::move(jk)) {}
  object_claim(object_claim&& o) noexcept : sink_(std::exchange(o.sink_, nullptr)), jk_(std::move(o.jk_)) {}
  object_claim& operator=(object_claim&& o) noexcept;
  ~object_claim() { release(); }
  void release();
  explicit operator bool() const { return sink_ != nullptr; }

 private:
  object_sink* sink_ = nullptr;
  std::string jk_;  // the object's journal key
};

// What prepare() hands store(). Made on a CPU thread, consumed on the I/O thread.
struct prepared_object {
  hash256 h;
  object_kind kind = object_kind::file;
  // The stored bytes with the digests the store checks; data is null when
  // the object is known, or when another file is storing it.
  put_body body;
  bool known = false;    // the store confirmed it (journal)
  bool resent = false;   // a crashed attempt had been sending it (intent found, or stored here again)
  object_claim claim;    // held while this file stores the object
};

class object_sink {
 public:
  object_sink(backend& store, run_state& run, group_writer& writes, const format_writer& fmt, asio::io_context& io,
              publish_stats& stats);

  // CPU thread. Throws on a store or journal failure (the claim ends).
  prepared_object prepare(byte_view data, object_kind kind);

  // I/O thread. Makes sure `p` is in the store; returns once the store has
  // confirmed it and the confirmation is in `records` — which the caller
  // writes with its own records (one journal write instead of two) and then
  // lets `p.claim` go.
  awaitable<void> store(prepared_object& p, journal::batch& records);
  // I/O thread. The same, writing the confirmation itself.
  awaitable<void> store(prepared_object& p);

  // Objects claimed now (for tests).
  std::size_t claims() const;

 private:
  friend class object_claim;
  // Whether the store holds `key` (verify mode): something there that is not
  // an object counts as absent, so the put replaces it. I/O thread.
  awaitable<bool> present(const std::string& key);
  void end_claim(const std::string& jk);  // any thread
  void wake(const std::string& jk);       // I/O thread

  backend& store_;
  run_state& run_;
  group_writer& writes_;
  const format_writer& fmt_;
  asio::io_context& io_;
  publish_stats& stats_;  // I/O thread only
  const put_checks checks_;  // what the store checks its bodies with

  // Any thread, under the mutex: the objects being stored.
  struct claim_set {
    mutable std::mutex mu;
    std::unordered_set<std::string> keys;  // journal object keys
  } claimed_;
  // I/O thread only: files waiting for an object another file claimed.
  std::unordered_map<std::string, std::shared_ptr<asio::steady_timer>> waiters_;
};

}  // namespace stratum
