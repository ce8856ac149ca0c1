// The one place in storage where errors of other kinds become stratum's:
// Boost.System codes from Asio (sockets, timers, the resolver, a cancelled
// wait), Beast (HTTP parsing, timeouts) and OpenSSL through Asio (TLS).
// Nothing of those escapes a backend: each is classified here as transient
// (worth another try), permanent or usage, with a reason a user can act on.
// Pure functions, any thread.
#pragma once

#include "async/error.hpp"

#include <boost/system/error_code.hpp>

#include <string>

namespace stratum {

struct system_meaning {
  errc code = errc::transient;
  std::string reason;  // what happened, for the end of a message
};

// Network and timer failures are transient unless retrying cannot help: a
// certificate that does not verify, a server that does not speak TLS, a
// host name that does not exist.
system_meaning classify_system_error(const boost::system::error_code& ec);

// Throws the stratum error for `ec`: `what` (the operation and the endpoint
// or store, never a secret), ": ", the reason.
[[noreturn]] void fail_system(const boost::system::error_code& ec, const std::string& what);

}  // namespace stratum
