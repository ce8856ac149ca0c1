// Boost.System errors of Asio, Beast and OpenSSL as stratum errors (system_error.hpp).
#include "storage/system_error.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace stratum {

system_meaning classify_system_error(const boost::system::error_code& ec) {
  namespace asio_error = boost::asio::error;
  namespace ssl = boost::asio::ssl;
  if (ec == boost::beast::error::timeout) return {errc::transient, "no answer within the request timeout (--request-timeout)"};
  // The server closed the connection without TLS's close_notify: the
  // services do that to idle connections, and a request crossing the close
  // meets it. Another connection will do.
  if (ec == ssl::error::stream_truncated) return {errc::transient, "the server closed the connection (TLS stream truncated)"};
  if (ec == asio_error::operation_aborted) return {errc::transient, "cancelled"};
  if (ec == asio_error::host_not_found)
    return {errc::permanent, "no such host (" + ec.message() + "); check the store's name and --endpoint"};
  if (ec.category() == asio_error::get_ssl_category()) {
    // OpenSSL's packed error: the library and the reason, by number (the
    // text needs OpenSSL's strings loaded).
    const auto packed = static_cast<unsigned long>(ec.value());
    const int reason = ERR_GET_LIB(packed) == ERR_LIB_SSL ? ERR_GET_REASON(packed) : 0;
    const std::string text = ec.message();
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
      return {errc::permanent, "its TLS certificate does not verify (" + text +
                                   "); if it is signed by a private CA, give that CA with --ca-file"};
    // OpenSSL 3.0 has no reason code for "record layer failure" (3.2 has).
    if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
        text.find("record layer failure") != std::string::npos)
      return {errc::permanent, "it does not speak TLS (" + text + "); is it an http:// endpoint?"};
    return {errc::permanent, "TLS failed: " + text};
  }
  // Resets, refusals, unreachable networks, a server that closed, a reply
  // Beast cannot parse: another attempt may well succeed.
  return {errc::transient, ec.message()};
}

void fail_system(const boost::system::error_code& ec, const std::string& what) {
  auto m = classify_system_error(ec);
  fail(m.code, what + ": " + m.reason);
}

}  // namespace stratum
