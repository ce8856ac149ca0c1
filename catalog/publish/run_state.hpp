// The run: what the journal says about the publish as a whole — which run
// this is, whether it resumes an interrupted one, whether the tree changed,
// which objects an interrupted attempt was sending (intents), and the
// problems recorded for paths left out. Start, finish and the checks that a
// STATE belongs to this source and store are here; publisher.cpp decides
// which of them to call.
//
// Threads: start(), resume(), finish() and the setters run on the I/O thread
// before the files are read or after they all are; once files are being read
// the run's settings (`settings`) are fixed and read from every thread, and
// report(), mark_dirty() and begin_sending() are safe from any thread.
#pragma once

#include "catalog/publish/publisher.hpp"
#include "storage/journal/journal.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

namespace stratum {

// How the journal names a repository state: revision, root and history.
std::string manifest_id(const manifest& m);
// The revision an id names (0 for "", no repository). Throws errc::corrupt
// naming `what` for an id that does not start with one.
std::uint64_t revision_of_id(const std::string& id, const std::string& what);

class run_state {
 public:
  // Fixed before any file is read; read by every thread afterwards.
  struct settings {
    std::uint64_t run = 0;          // this run's number (1 for --new)
    bool resumed = false;           // continuing an interrupted run
    // The journal was started on a repository it did not write: objects it
    // does not know may still be in the store, so the store is asked first.
    bool verify_with_store = false;
    // The store writes from the calling thread (store_caps::puts_here) and
    // nothing is to be verified: objects are stored without intents.
    bool store_here = false;
  };

  run_state(journal& j, std::string source, std::string store, std::string key_fingerprint);
  ~run_state();

  const settings& fixed() const { return s_; }
  journal& records() const { return j_; }

  // ---- I/O thread, before files or after them ------------------------------
  std::optional<std::string> meta(const char* name) const;
  std::string meta_or(const char* name, const char* fallback) const;
  bool running() const { return meta_or("state", "") == "running"; }

  // Refuses (errc::usage, nothing changed) a STATE that belongs to another
  // source or store, or an interrupted run given --new.
  void check_belongs(bool fresh) const;
  // Refuses a store that holds `current` when the journal expected `expected`.
  [[noreturn]] void moved_on(const std::string& current, const std::string& expected) const;

  // Starts run `n` on top of the repository state `base` ("" for none);
  // `wipe` forgets every record of earlier runs.
  void start(std::uint64_t n, const std::string& base, bool verify, bool wipe);
  // Takes up the interrupted run the journal holds.
  void resume();
  // The number of the run the journal recorded last (0 for none).
  std::uint64_t recorded_run() const;
  // Whether the machine restarted since the interrupted attempt, and that
  // it is now known to have (after the objects were checked).
  bool restarted() const;
  void note_boot();
  // Records that the run ended with the store at `published`.
  void finish(const std::string& published);
  void set_phase(const char* phase);
  void set_intent(const std::string& manifest_id);  // synced

  // Decides store_here for the run (before files), and opens STATE/intents
  // for a store that is sent to: a new run empties it, a resumed one reads
  // the objects its attempts sent without a confirmation. Returns how many
  // those are, with the older versions' RocksDB intent records.
  std::size_t open_intents(bool store_can_put_here);

  // ---- any thread -----------------------------------------------------------
  // Records that the object with journal key `jk` is about to be sent;
  // returns whether an interrupted attempt had been sending it too.
  bool begin_sending(const std::string& jk);
  // A path left out, with the reason; a resumed run still lists it.
  void report(const std::string& path, const std::string& message);
  // The first change to the recorded tree marks the run dirty (in `b`, so the
  // mark is written with the change).
  void mark_dirty(journal::batch& b);
  bool dirty() const { return dirty_.load(); }
  // The value of an object's confirmation record: its stored size and the
  // run that stored it (what a check after a machine restart compares).
  std::string confirmation(std::size_t size) const;

  std::vector<problem> problems() const;

 private:
  std::uint64_t count_old_intents() const;

  journal& j_;
  const std::string source_, store_, key_;
  settings s_;
  std::atomic<bool> dirty_{false};
  std::unique_ptr<append_log> intents_;         // null when storing here
  std::unordered_set<std::string> unconfirmed_;  // filled before files, read-only after
};

}  // namespace stratum
