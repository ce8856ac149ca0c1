// storage/ — where a repository's objects live.
//
// One narrow interface, `backend`, that every store implements (local
// directory, memory, S3, Azure Blob), and that wrappers (retries, fault
// injection) implement around another backend. Keys are relative names with
// '/' separators, such as "data/ab/ab12...C" or ".stratumpublished"; a backend
// maps them to files, objects or blobs.
#pragma once

#include "async/async.hpp"
#include "io/io.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stratum {

struct object_info {
  std::string key;
  std::uint64_t size = 0;
};

// An immutable body that can be sent again unchanged (a retry resends
// identical bytes).
using shared_bytes = std::shared_ptr<const bytes>;

// Work for one put done ahead of it, on any thread: a worker that has just
// made the body does it, so the I/O thread, which bounds a publish to a
// remote store, does not. S3 hashes the body and signs the request there.
// Made by backend::prepare_put, given back to backend::put_with.
struct put_ahead {
  std::string target;  // the request target
  std::vector<std::pair<std::string, std::string>> headers;  // sent as they are
  std::chrono::system_clock::time_point made;  // a signature is good for minutes only
};

// What a retrying store reports (I/O thread only).
struct retry_stats {
  std::uint64_t retries = 0;    // requests repeated after a transient failure
  std::uint64_t throttled = 0;  // times the window was cut for throttling
  unsigned limit = 0;           // requests allowed in flight now
  unsigned in_flight = 0;       // requests being answered now
  unsigned peak_in_flight = 0;
  double in_flight_seconds = 0;  // integral of in_flight over time: / wall time = mean in flight
  // The same over the time with two or more in flight, leaving out the
  // serial requests that start and end a publish: the window as sustained.
  double overlap_seconds = 0;
  double overlap_in_flight_seconds = 0;
};

// Contract common to every method: it is a coroutine to be awaited on the
// caller's I/O executor; several calls may be in flight at once, on any keys;
// failures throw std::system_error with stratum's category (errc::transient
// for what may succeed if repeated, errc::permanent otherwise), with a message
// naming the store and the key and never a credential. Every method may be
// called again after a failure (they are idempotent).
class backend {
 public:
  virtual ~backend() = default;

  // Stores `data` under `key`, replacing any previous object. Completes only
  // once the store has accepted the whole body; a reader may see the object
  // only after that, never a part of it.
  virtual awaitable<void> put(std::string key, shared_bytes data) = 0;

  // Stores whose put is a short local system call (a directory, memory) can
  // also store from the calling thread: put_here blocks until done, with
  // put's contract otherwise. Callers use it from a worker thread that has
  // the body in hand, saving two thread hand-offs per object. Such a put is
  // whole or absent, never in between, so the store itself can say what an
  // interrupted run had been storing: put_here returns whether an object of
  // that key was there already (it is replaced). Remote stores say no and
  // never get the call.
  virtual bool can_put_here() const { return false; }
  virtual bool put_here(const std::string& key, const shared_bytes& data);

  // put() in two steps. prepare_put may be called on any thread, with the
  // body the put will send (null: nothing to do ahead); put_with is put()
  // using that work, or doing it again when it has grown stale.
  virtual std::shared_ptr<const put_ahead> prepare_put(const std::string& key, const bytes& data) const;
  virtual awaitable<void> put_with(std::string key, shared_bytes data, std::shared_ptr<const put_ahead> ahead);

  // Reads `length` bytes at `offset` (length 0: to the end). Returns nullopt
  // when the key does not exist (an expected outcome, not an error).
  virtual awaitable<std::optional<bytes>> get(std::string key, std::uint64_t offset = 0, std::uint64_t length = 0) = 0;

  // Size of the object, or nullopt when it does not exist.
  virtual awaitable<std::optional<object_info>> stat(std::string key) = 0;

  // Objects whose key starts with `prefix`, sorted by key, at most `limit`.
  virtual awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit = SIZE_MAX) = 0;

  // Removes the object; removing a missing key succeeds.
  virtual awaitable<void> remove(std::string key) = 0;

  // Removes many objects (missing ones succeed). The default removes them one
  // by one; a store with a batch call uses it (S3: DeleteObjects, 1000 a request).
  virtual awaitable<void> remove_many(std::vector<std::string> keys);

  // Makes every put that has completed so far durable (survives power loss).
  // Called before the manifest that refers to them is written, and after.
  virtual awaitable<void> sync() = 0;

  // The store as the user named it, for messages (no secrets).
  virtual std::string describe() const = 0;

  // One line for the progress display ("" when there is nothing to say).
  virtual std::string status() const { return {}; }
  virtual const retry_stats* stats() const { return nullptr; }
};

// How to reach a remote store (command-line options; none of them secret:
// credentials come from the environment).
struct store_options {
  std::string endpoint;    // --endpoint https://host[:port] (Azure: [/ACCOUNT] too); empty: the cloud's own
  std::string region;      // --region; empty: AWS_REGION, AWS_DEFAULT_REGION, us-east-1
  std::string ca_file;     // --ca-file PEM; empty: the system's CA store
  std::string addressing;  // --addressing path|virtual; empty: path with --endpoint, else virtual
  // Requests in flight at most (--max-requests), enforced by the retry layer
  // that wraps every remote store. Small objects are latency bound: at 200 ms
  // a round trip (another region), 2048 in flight is ~10k requests/s. A TLS
  // connection costs the client ~70 KiB (bench/README.md, S3).
  unsigned max_requests = 2048;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};  // --request-timeout
  std::string azure_sas;  // a SAS given on the command line (`load`); never printed
};

// Opens a store from the command line's STORE argument: a path or
// file:///abs/path (local directory, created if missing when `create`),
// s3://BUCKET[/PREFIX], az://ACCOUNT/CONTAINER[/PREFIX],
// https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]?SAS, or mem:NAME
// (in-process, tests only). Throws
// errc::usage with a clear message for anything else.
std::unique_ptr<backend> open_store(const std::string& spec, bool create, asio::io_context& io, asio::thread_pool& blocking,
                                    const store_options& o = {});

std::unique_ptr<backend> make_local_backend(const std::string& root, bool create, asio::thread_pool& blocking);
std::unique_ptr<backend> make_memory_backend(std::string name);
// az://ACCOUNT/CONTAINER[/PREFIX]; `sas` (may be empty) overrides AZURE_STORAGE_SAS_TOKEN.
std::unique_ptr<backend> make_azure_backend(const std::string& spec, asio::io_context& io, const store_options& o, const std::string& sas);
std::unique_ptr<backend> make_s3_backend(const std::string& spec, asio::io_context& io, asio::thread_pool& blocking,
                                         const store_options& o);

}  // namespace stratum
