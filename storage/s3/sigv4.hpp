// AWS Signature Version 4, header form, for S3 (storage/s3/s3_backend.cpp).
//
// A pure function of the request, the credentials, the scope and the time:
// no I/O, no state, so each step (canonical request, string to sign,
// Authorization header) is checked against AWS's published test vectors and
// against botocore's signer (tests/s3_test.cpp).
//
// S3 rules, which differ from the generic suite: the path is URI-encoded once
// (each byte outside A-Z a-z 0-9 - . _ ~ and '/' as %XX, uppercase) and never
// normalized; the payload hash is sent as x-amz-content-sha256 and signed.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stratum {

struct aws_credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty: none
};

struct sigv4_request {
  std::string method;        // "GET", "PUT", ...
  std::string host;          // as sent in the Host header (with :port if not the default)
  std::string path;          // canonical URI: already encoded (uri_encode(..., false))
  std::vector<std::pair<std::string, std::string>> query;    // raw names and values
  std::vector<std::pair<std::string, std::string>> headers;  // signed, besides host and x-amz-*
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct sigv4_signed {
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization;  // the Authorization header's value
  // Headers to send besides the request's own: x-amz-date,
  // x-amz-content-sha256 (when `s3_payload_header`) and x-amz-security-token.
  std::vector<std::pair<std::string, std::string>> add_headers;
};

// `amz_date` is "YYYYMMDDTHHMMSSZ". With `s3_payload_header`, the payload hash
// is also sent and signed as x-amz-content-sha256 (S3 requires it).
sigv4_signed sigv4_sign(const sigv4_request& r, const aws_credentials& c, std::string_view region,
                        std::string_view service, std::string_view amz_date, bool s3_payload_header = true);

// Percent-encodes every byte outside the unreserved set (and '/' unless
// `encode_slash` is false), with uppercase hex digits.
std::string uri_encode(std::string_view s, bool encode_slash);

// "?name=value&..." with each name and value percent-encoded, in the given
// order ("" for none): the query part of a request target.
std::string query_string(const std::vector<std::pair<std::string, std::string>>& query);

// "YYYYMMDDTHHMMSSZ" for the current UTC time.
std::string amz_now();

}  // namespace stratum
