// Store times (storage/time_text): S3's ISO 8601 and the RFC 1123 dates of
// Azure and HTTP, valid ones (leap years, the epoch, fractions) and malformed
// ones (errc::corrupt naming what was read, never a guess).
#include "async/error.hpp"
#include "storage/time_text.hpp"

#include "support.hpp"

#include <doctest/doctest.h>

using namespace stratum;
using namespace stratum::test;
using namespace stratum::time_text;

namespace {
const std::string what = "List s3://b: <LastModified>";
}

TEST_CASE("ISO 8601 times as S3 writes them") {
  CHECK(parse_iso8601("1970-01-01T00:00:00Z", what) == 0);
  CHECK(parse_iso8601("2026-11-30T19:01:02.000Z", what) == 1796065262);
  CHECK(parse_iso8601(" 2026-11-30T19:01:02Z\n", what) == 1796065262);
  CHECK(parse_iso8601("2026-11-30T19:01:02.123456789Z", what) == 1796065262);
  // Leap years: 2024 and 2000 have a 29 February, 2100 would not.
  CHECK(parse_iso8601("2024-02-29T00:00:00Z", what) == 1709164800);
  CHECK(parse_iso8601("2024-03-01T00:00:00Z", what) - parse_iso8601("2024-02-28T00:00:00Z", what) == 2 * 86400);
  CHECK(parse_iso8601("2000-02-29T12:00:00Z", what) == 951825600);
  CHECK(parse_iso8601("1969-12-31T23:59:59Z", what) == -1);
  for (const char* bad : {"", "2026-11-30", "2026-11-30T19:01:02", "2026-11-30T19:01:02+00:00", "2026-11-30 19:01:02Z",
                          "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-11-31T00:00:00Z",
                          "2026-11-30T24:00:00Z", "2026-11-30T19:60:00Z", "2026-11-30T19:01:02.Z", "2026-11-30T19:01:02.0000000000Z",
                          "2026-11-30T19:01:02Zjunk", "+026-11-30T19:01:02Z", "2026-1-30T19:01:02Z", "2026-11-30T19:01:0xZ"}) {
    CAPTURE(bad);
    expect_failure([&] { parse_iso8601(bad, what); }, errc::corrupt, what + ": ", "is not a time");
  }
}

TEST_CASE("RFC 1123 times as Azure and HTTP write them") {
  CHECK(parse_rfc1123("Thu, 01 Jan 1970 00:00:00 GMT", what) == 0);
  CHECK(parse_rfc1123("Mon, 30 Nov 2026 19:01:02 GMT", what) == 1796065262);
  CHECK(parse_rfc1123("Thu, 29 Feb 2024 00:00:00 GMT", what) == 1709164800);
  CHECK(parse_rfc1123("Tue, 29 Feb 2000 12:00:00 GMT", what) == 951825600);
  CHECK(parse_rfc1123("Fri, 31 Dec 1999 23:59:59 GMT", what) == 946684799);
  for (const char* bad : {"", "Mon, 30 Nov 2026 19:01:02", "Mon, 30 Nov 2026 19:01:02 UTC", "Monday, 30-Nov-26 19:01:02 GMT",
                          "Mon Nov 30 19:01:02 2026", "Mon, 30 Nox 2026 19:01:02 GMT", "Xyz, 30 Nov 2026 19:01:02 GMT",
                          "Thu, 29 Feb 2026 00:00:00 GMT", "Mon, 30 Nov 2026 25:01:02 GMT", "Mon, 3O Nov 2026 19:01:02 GMT",
                          "Mon, 30 Nov 2026 19:01:02 GMTx"}) {
    CAPTURE(bad);
    expect_failure([&] { parse_rfc1123(bad, what); }, errc::corrupt, what + ": ", "is not a time");
  }
  // A date whose weekday is not its own (30 Nov 2026 is a Monday).
  expect_failure([&] { parse_rfc1123("Tue, 30 Nov 2026 19:01:02 GMT", what); }, errc::corrupt, what + ": ", "wrong day of the week");
}
