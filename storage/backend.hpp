// storage/ — where a repository's objects live.
//
// One narrow interface, `backend`, that every store implements (local
// directory, memory, S3 in storage/s3/, Azure Blob in storage/azure/, a
// read-only web server in storage/http_store/), and
// that wrappers (retries, fault injection) implement around another backend. Keys are relative names with
// '/' separators, such as "data/ab/ab12...C" or ".stratumpublished"; a backend
// maps them to files, objects or blobs.
#pragma once

#include "async/async.hpp"
#include "io/io.hpp"

#include "io/sha256.hpp"

#include <array>
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
  // Last modified, in seconds since the epoch as the store's clock says
  // (0: unknown). Garbage collection never deletes an object modified
  // since it started.
  std::int64_t modified = 0;
};

// An immutable body that can be sent again unchanged (a retry resends
// identical bytes).
using shared_bytes = std::shared_ptr<const bytes>;

// How a store checks a body it is given, declared once by the store (in
// the spirit of restic's Hasher()): the digests it sends with a put. A
// caller that makes bodies on a CPU thread computes them there, while the
// body is in cache, so the I/O thread — the bound of a publish to a remote
// store — never hashes (it had been a tenth of that thread, bench/README.md,
// S3 session 7).
struct put_checks {
  bool sha256 = false;        // S3: x-amz-content-sha256, signed
  std::size_t md5_max = 0;    // Azure: Content-MD5 of bodies up to this size (one Put Blob)
};

// What a store can do, fixed for its life.
struct store_caps {
  put_checks checks;
  // put_here() stores from the calling thread: a short local system call
  // (a directory, memory), so a worker with the body in hand saves two
  // thread hand-offs per object. Such a put is whole or absent, never in
  // between.
  bool puts_here = false;
  // Keys one remove_many() request takes, when the store removes in batches
  // (S3 DeleteObjects: 1000); 0: it removes one key a request, and the
  // retry layer sends many such removes at once instead.
  std::size_t remove_batch = 0;
};

// A body ready to send, and to send again unchanged (a retry resends
// identical bytes), with the digests its store asked for. A digest left
// empty is computed by the store when it sends.
struct put_body {
  shared_bytes data;
  std::optional<hash256> sha256;
  std::optional<std::array<std::uint8_t, 16>> md5;
  put_body() = default;
  put_body(shared_bytes d) : data(std::move(d)) {}  // NOLINT: a plain body converts
};

// The body with the digests `checks` asks for. Any thread; call it where
// the bytes were just made.
put_body prepare_body(shared_bytes data, const put_checks& checks);

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

  // What the store can do and what its puts check (see store_caps).
  virtual store_caps caps() const { return {}; }

  // Stores `body` under `key`, replacing any previous object. Completes
  // only once the store has accepted the whole body; a reader may see the
  // object only after that, never a part of it.
  virtual awaitable<void> put(std::string key, put_body body) = 0;

  // Only when caps().puts_here: put() from the calling thread, blocking
  // until done. Returns whether an object of that key was there already (it
  // is replaced), which tells a resumed run what an interrupted one had been
  // storing.
  virtual bool put_here(const std::string& key, const put_body& body);

  // Reads `length` bytes at `offset` (length 0: to the end). Returns nullopt
  // when the key does not exist (an expected outcome, not an error).
  virtual awaitable<std::optional<bytes>> get(std::string key, std::uint64_t offset = 0, std::uint64_t length = 0) = 0;

  // Size (and last-modified time, where the answer carries it) of the
  // object, or nullopt when it does not exist.
  virtual awaitable<std::optional<object_info>> stat(std::string key) = 0;

  // Objects whose key starts with `prefix`, sorted by key, at most `limit`.
  virtual awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit = SIZE_MAX) = 0;

  // Removes the object; removing a missing key succeeds.
  virtual awaitable<void> remove(std::string key) = 0;

  // Removes many objects (missing ones succeed). The default removes them one
  // by one; a store with a batch call uses it (S3: DeleteObjects, 1000 a
  // request) and says so in caps().remove_batch. The retry layer splits a
  // long list: batches of remove_batch, or single removes, each its own
  // retried request, many in flight (retrying_backend.cpp).
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
  // Attempts of a request that fails transiently (--retries), and the longest
  // wait between two: a mount gives up sooner than a publish (issue 20).
  unsigned max_attempts = 10;
  std::chrono::milliseconds max_backoff{std::chrono::seconds(20)};
  std::string azure_sas;  // a SAS given on the command line (`load`); never printed
};

// What a command will do with the store it opens.
enum class store_use {
  read,    // ls, cat, restore, check, info
  write,   // publish to an existing repository, resign
  create,  // publish --new: a local directory is created if missing
};

// Opens a store from the command line's STORE argument: a path or
// file:///abs/path (local directory, created if missing for
// store_use::create), s3://BUCKET[/PREFIX], az://ACCOUNT/CONTAINER[/PREFIX],
// https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]?SAS, any other
// http(s)://HOST[:PORT][/PATH] (read-only: storage/http_store/), or mem:NAME
// (in-process, tests only). Throws errc::usage with a clear message for
// anything else, and for a read-only store opened to write.
std::unique_ptr<backend> open_store(const std::string& spec, store_use use, asio::io_context& io, asio::thread_pool& blocking,
                                    const store_options& o = {});

// Throws errc::usage when `spec` names a store that cannot be written (an
// http(s) store): what open_store() does for store_use::write, from the
// argument alone, so a command can refuse before it touches anything.
void require_writable_store(const std::string& spec);

std::unique_ptr<backend> make_local_backend(const std::string& root, bool create, asio::thread_pool& blocking);
std::unique_ptr<backend> make_memory_backend(std::string name);
// az://ACCOUNT/CONTAINER[/PREFIX]; `sas` (may be empty) overrides AZURE_STORAGE_SAS_TOKEN.
std::unique_ptr<backend> make_azure_backend(const std::string& spec, asio::io_context& io, const store_options& o, const std::string& sas);
// A read-only http(s)://HOST[:PORT][/PATH] (storage/http_store/).
std::unique_ptr<backend> make_http_backend(const std::string& url, asio::io_context& io, const store_options& o);
std::unique_ptr<backend> make_s3_backend(const std::string& spec, asio::io_context& io, asio::thread_pool& blocking,
                                         const store_options& o);

}  // namespace stratum
