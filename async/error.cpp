// stratum's error category and the errno classification (error.hpp).
// Thread: any.
#include "async/error.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <cerrno>
#include <cstring>

namespace stratum {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "stratum"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::not_found: return "not found";
      case errc::transient: return "temporary failure";
      case errc::permanent: return "permanent failure";
      case errc::corrupt: return "corrupt data";
      case errc::usage: return "usage error";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& stratum_category() noexcept {
  static const category c;
  return c;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), stratum_category()}; }

void fail(errc e, const std::string& what) { throw error(make_error_code(e), what); }

void fail_transient(const std::string& what, bool throttled, std::chrono::milliseconds retry_after) {
  error e(make_error_code(errc::transient), what);
  e.throttled = throttled;
  e.retry_after = retry_after;
  throw e;
}

void fail_errno(int err, const std::string& what) {
  errc c = errc::permanent;
  switch (err) {
    case ENOENT: case ENOTDIR: c = errc::not_found; break;
    case EINTR: case EAGAIN: case EIO: case EBUSY: case ETIMEDOUT: case ENOMEM: c = errc::transient; break;
    default: break;
  }
  throw error(make_error_code(c), what + ": " + std::strerror(err));
}

bool is(const std::exception& e, errc c) noexcept {
  auto* se = dynamic_cast<const std::system_error*>(&e);
  return se && se->code() == make_error_code(c);
}

bool ends_run(const std::exception& e) noexcept {
  if (is(e, errc::transient)) return true;
  if (auto* be = dynamic_cast<const boost::system::system_error*>(&e))
    return be->code() == boost::asio::error::operation_aborted;
  if (auto* se = dynamic_cast<const std::system_error*>(&e))
    return se->code() == std::errc::operation_canceled;
  return false;
}

}  // namespace stratum
