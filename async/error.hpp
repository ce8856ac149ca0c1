// Project error category: every failure stratum reports is classified as
// not_found, transient (worth retrying), permanent (stop) or corrupt (data
// that fails its hash or format check), so wrappers can decide what to do.
// Thread: any.
#pragma once

#include <chrono>
#include <string>
#include <system_error>

namespace stratum {

enum class errc {
  not_found = 1,  // object, file or key does not exist
  transient,      // may succeed if repeated: throttling, 5xx, reset, timeout
  permanent,      // will not succeed if repeated: auth, bad request, full disk
  corrupt,        // bytes fail their hash, inflate or format check
  usage,          // the user asked for something impossible
};

const std::error_category& stratum_category() noexcept;

// What fail() throws: a system_error whose what() is the message alone (the
// standard one appends the category's text, which says nothing new).
class error : public std::system_error {
 public:
  error(std::error_code c, std::string message) : std::system_error(c), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

  // For transient failures: the server asked to slow down (HTTP 429, 503
  // SlowDown/ServerBusy), and how long it asked to wait (Retry-After; 0: not said).
  bool throttled = false;
  std::chrono::milliseconds retry_after{0};

 private:
  std::string message_;
};
std::error_code make_error_code(errc e) noexcept;

// Throws stratum::error(e, what). `what` names the operation and the object
// or path; it must never contain a secret.
[[noreturn]] void fail(errc e, const std::string& what);

// Throws a transient stratum::error that says whether the server was
// throttling and how long it asked to wait.
[[noreturn]] void fail_transient(const std::string& what, bool throttled, std::chrono::milliseconds retry_after);

// Classifies an errno value from a system call (ENOENT -> not_found, EINTR/EAGAIN
// /EIO... -> transient, the rest permanent) and throws with `what`.
[[noreturn]] void fail_errno(int err, const std::string& what);

// True when `e` is a system_error with stratum's code `c`.
bool is(const std::exception& e, errc c) noexcept;

// True when `e` must end the whole command rather than be reported against
// one path or object: a transient failure that outlived the retries (the
// store is down, not the object bad) or a cancellation. Commands that go on
// past per-item problems (check, restore) rethrow these, so an outage is
// exit 3 and not a list of "problems" with exit 1.
bool ends_run(const std::exception& e) noexcept;

}  // namespace stratum

template <> struct std::is_error_code_enum<stratum::errc> : std::true_type {};
