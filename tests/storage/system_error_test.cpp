// Asio, Beast and OpenSSL errors as stratum's (storage/system_error).
#include "async/error.hpp"
#include "storage/system_error.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <doctest/doctest.h>

using namespace stratum;
namespace aerr = boost::asio::error;

TEST_CASE("system errors of the network and its timers, classified") {
  auto ssl_error = [](int reason) {
    return boost::system::error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)), aerr::get_ssl_category());
  };
  struct row {
    const char* name;
    boost::system::error_code ec;
    errc expect;
    const char* says;
  };
  const row rows[] = {
      {"timeout", boost::beast::error::timeout, errc::transient, "--request-timeout"},
      {"stream truncated", boost::asio::ssl::error::stream_truncated, errc::transient, "closed the connection"},
      {"reset", aerr::connection_reset, errc::transient, ""},
      {"refused", aerr::connection_refused, errc::transient, ""},
      {"broken pipe", aerr::broken_pipe, errc::transient, ""},
      {"end of file", aerr::eof, errc::transient, ""},
      {"HTTP end of stream", boost::beast::http::error::end_of_stream, errc::transient, ""},
      {"HTTP bad header", boost::beast::http::error::bad_field, errc::transient, ""},
      {"unreachable", aerr::network_unreachable, errc::transient, ""},
      {"DNS try again", aerr::host_not_found_try_again, errc::transient, ""},
      {"cancelled", aerr::operation_aborted, errc::transient, "cancelled"},
      {"no such host", aerr::host_not_found, errc::permanent, "--endpoint"},
      {"certificate", ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED), errc::permanent, "--ca-file"},
      {"not TLS", ssl_error(SSL_R_WRONG_VERSION_NUMBER), errc::permanent, "http://"},
      {"other TLS", ssl_error(SSL_R_NO_SHARED_CIPHER), errc::permanent, "TLS failed"},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.name));
    auto m = classify_system_error(r.ec);
    CHECK(m.code == r.expect);
    CHECK(!m.reason.empty());
    CHECK(m.reason.find(r.says) != std::string::npos);
    try {
      fail_system(r.ec, "cannot talk to https://host");
    } catch (const std::exception& e) {
      CHECK(is(e, r.expect));
      CHECK(std::string(e.what()).rfind("cannot talk to https://host: ", 0) == 0);
    }
  }
}
