// Store times as seconds since the epoch (time_text.hpp).
#include "storage/time_text.hpp"

#include "async/error.hpp"
#include "storage/store_util.hpp"

#include <array>
#include <chrono>

namespace stratum::time_text {
namespace {

// Reads a fixed-width decimal field of `width` digits at `at`, advancing it;
// false when the text is too short or a character is not a digit.
bool digits(std::string_view s, std::size_t& at, std::size_t width, int& out) {
  if (s.size() < at + width) return false;
  out = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = s[at + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  at += width;
  return true;
}

bool literal(std::string_view s, std::size_t& at, std::string_view expected) {
  if (s.substr(at, expected.size()) != expected) return false;
  at += expected.size();
  return true;
}

// Seconds since the epoch of a civil UTC time into `out`; false for a date
// or time that does not exist (30 February, 24:00). A leap second (:60) is accepted as the store wrote it and counts as the
// next second, which is what a POSIX clock does with it.
bool to_seconds(int y, int mo, int d, int h, int mi, int sec, std::int64_t& out, std::chrono::sys_days* day = nullptr) {
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return false;
  const sys_days days{ymd};
  if (day) *day = days;
  out = std::int64_t{days.time_since_epoch().count()} * 86400 + h * 3600 + mi * 60 + sec;
  return true;
}

[[noreturn]] void malformed(std::string_view text, const std::string& what, const char* expected) {
  fail(errc::corrupt, what + ": '" + std::string(text.substr(0, 40)) + "' is not a time (expected " + expected + ")");
}

}  // namespace

std::int64_t parse_iso8601(std::string_view text, const std::string& what) {
  const std::string_view s = store_util::trim(text);
  std::size_t at = 0;
  int y, mo, d, h, mi, sec;
  bool ok = digits(s, at, 4, y) && literal(s, at, "-") && digits(s, at, 2, mo) && literal(s, at, "-") && digits(s, at, 2, d) &&
            literal(s, at, "T") && digits(s, at, 2, h) && literal(s, at, ":") && digits(s, at, 2, mi) && literal(s, at, ":") &&
            digits(s, at, 2, sec);
  if (ok && at < s.size() && s[at] == '.') {
    // A fraction: at least one digit, at most nanoseconds.
    const std::size_t start = ++at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    ok = at > start && at - start <= 9;
  }
  std::int64_t out = 0;
  if (!ok || !literal(s, at, "Z") || at != s.size() || !to_seconds(y, mo, d, h, mi, sec, out))
    malformed(text, what, "YYYY-MM-DDThh:mm:ss[.fff]Z");
  return out;
}

std::int64_t parse_rfc1123(std::string_view text, const std::string& what) {
  static constexpr std::array<std::string_view, 7> weekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};  // 1970-01-01 was a Thursday
  static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::string_view s = store_util::trim(text);
  constexpr const char* shape = "Www, DD Mmm YYYY hh:mm:ss GMT";
  if (s.size() != 29) malformed(text, what, shape);
  unsigned wd = 0, mo = 0;
  while (wd < 7 && s.substr(0, 3) != weekdays[wd]) ++wd;
  while (mo < 12 && s.substr(8, 3) != months[mo]) ++mo;
  std::size_t at = 3;
  int d, y, h, mi, sec;
  bool ok = wd < 7 && literal(s, at, ", ") && digits(s, at, 2, d) && literal(s, at, " ") && mo < 12 && literal(s, at, months[mo]) &&
            literal(s, at, " ") && digits(s, at, 4, y) && literal(s, at, " ") && digits(s, at, 2, h) && literal(s, at, ":") &&
            digits(s, at, 2, mi) && literal(s, at, ":") && digits(s, at, 2, sec) && literal(s, at, " GMT");
  std::int64_t out = 0;
  std::chrono::sys_days day;
  if (!ok || !to_seconds(y, static_cast<int>(mo) + 1, d, h, mi, sec, out, &day)) malformed(text, what, shape);
  if (std::chrono::weekday{day}.c_encoding() != wd)
    fail(errc::corrupt, what + ": '" + std::string(s) + "' names the wrong day of the week");
  return out;
}

}  // namespace stratum::time_text
