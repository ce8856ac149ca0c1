// Small helpers the object stores share: escaping for the XML they are sent
// (their answers are read with pugixml, storage/xml), percent-decoding,
// base64, MD5 for Content-MD5, sizes, and the environment.
#pragma once

#include "io/io.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stratum::store_util {

// For XML a store is sent (S3's DeleteObjects): the five predefined entities.
std::string xml_escape(std::string_view s);

std::string base64(const unsigned char* p, std::size_t n);
// Standard base64 with padding (RFC 4648, section 4); nullopt when `s` is
// not that (a character outside the alphabet, a length not a multiple of 4,
// misplaced '=').
std::optional<std::string> unbase64(std::string_view s);
// %XX escapes decoded (and '+' as a space when `plus_is_space`, S3's
// url encoding-type); nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);
// `s` without leading and trailing ASCII whitespace.
std::string_view trim(std::string_view s);
std::string md5_base64(const unsigned char* p, std::size_t n);
inline std::string md5_base64(const bytes& b) { return md5_base64(b.data(), b.size()); }

// A size as a store writes it: decimal digits, surrounding whitespace
// allowed, no sign, below 2^64; "" is 0. Anything else throws errc::corrupt
// with `what` (the operation, store and field) and the text.
std::uint64_t parse_size(std::string_view text, const std::string& what);

// A Range header's value: bytes=OFFSET-[LAST] (length 0: to the end).
std::string byte_range(std::uint64_t offset, std::uint64_t length);
// A key prefix as the stores keep it: trailing '/'s dropped, then one added
// unless empty ("a/b//" -> "a/b/", "" -> "").
std::string key_prefix(std::string prefix);

std::string env(const char* name);  // "" when unset
// The current UTC time in strftime `format` (x-ms-date, x-amz-date).
std::string utc_now(const char* format);
// Listing page size: `service_max`, or STRATUM_LIST_PAGE when set (tests use
// a tiny page to walk many).
std::size_t list_page(std::size_t service_max);

}  // namespace stratum::store_util
