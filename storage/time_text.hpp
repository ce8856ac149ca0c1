// The times object stores write in their answers, read into seconds since the
// epoch (UTC): S3's ISO 8601 <LastModified> and the RFC 1123 dates of HTTP
// headers and Azure's <Last-Modified>. Pure functions of the text, any
// thread; garbage collection compares them with the start of its mark phase,
// so a time that is not what it should be is an error, never a guess.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace stratum::time_text {

// "2026-11-30T19:01:02Z", with an optional fraction of a second
// ("19:01:02.000Z", dropped). Surrounding whitespace allowed. Anything else
// (another zone, a 30 February, a missing field) throws errc::corrupt with
// `what` (the operation, store and field) and the text.
std::int64_t parse_iso8601(std::string_view text, const std::string& what);

// "Mon, 30 Nov 2026 19:01:02 GMT" (RFC 1123, as RFC 9110 section 5.6.7 asks
// of a sender); the weekday must be the date's. Throws as parse_iso8601.
std::int64_t parse_rfc1123(std::string_view text, const std::string& what);

}  // namespace stratum::time_text
