// `.cvmfswhitelist` encode, parse and verify (whitelist.hpp). Thread: any.
#include "catalog/format/cvmfs/whitelist.hpp"

#include "async/error.hpp"
#include "catalog/format/cvmfs/letter.hpp"

#include <cstdio>

namespace stratum::cvmfs {
namespace {

using namespace std::chrono;

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');  // the letter's text ends in '\n'
    out.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string readable(sys_seconds t) {
  const auto d = floor<days>(t);
  const year_month_day ymd{d};
  const hh_mm_ss hms{t - d};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d UTC", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace

std::string whitelist_time(sys_seconds t) {
  const auto d = floor<days>(t);
  const year_month_day ymd{d};
  const int y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) fail(errc::usage, "a whitelist time must fall in the years 0 to 9999 (14 digits)");
  const hh_mm_ss hms{t - d};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u%02d%02d%02d", y, static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<sys_seconds> parse_whitelist_time(std::string_view s) {
  if (s.size() != 14) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  const year_month_day ymd{year{num(0, 4)}, month{static_cast<unsigned>(num(4, 2))}, day{static_cast<unsigned>(num(6, 2))}};
  const int h = num(8, 2), m = num(10, 2), sec = num(12, 2);
  if (!ymd.ok() || h > 23 || m > 59 || sec > 59) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{m} + seconds{sec};
}

whitelist new_whitelist(std::string_view fqrn, const certificate& cert, algorithm a, sys_seconds now, seconds validity) {
  whitelist w;
  w.created = now;
  w.expires = now + validity;
  w.fqrn = fqrn;
  w.fingerprints.push_back({cert.hash(a), a});
  return w;
}

std::string encode_whitelist(const whitelist& w, const rsa_key& master) {
  check_fqrn(w.fqrn);
  if (!master.has_private()) fail(errc::usage, "signing the whitelist of '" + w.fqrn + "' needs the private master key (FQRN.masterkey)");
  std::string text = whitelist_time(w.created) + "\n";
  text += "E" + whitelist_time(w.expires) + "\n";
  text += "N" + w.fqrn + "\n";
  for (const auto& [h, a] : w.fingerprints) text += fingerprint_text(h, a) + "\n";
  // cvmfs_server hashes the text with the fingerprints' algorithm.
  const algorithm a = w.fingerprints.empty() ? algorithm::sha1 : w.fingerprints.front().second;
  return seal_letter(text, a, [&](byte_view hash) { return sign_raw(master, hash); });
}

whitelist verify_whitelist(std::string_view doc, std::string_view fqrn, std::span<const rsa_key> masters, sys_seconds now,
                           expiry e) {
  const std::string what = "the whitelist (.cvmfswhitelist) of '" + std::string(fqrn) + "'";
  const letter l = open_letter(doc, what);
  bool signed_ok = false;
  for (const auto& k : masters) signed_ok = signed_ok || verify_raw(k, as_bytes(l.hash_line), l.signature);
  if (!signed_ok)
    fail(errc::corrupt, what + ": its signature does not verify with the master public key" + (masters.size() == 1 ? "" : "s") +
                            " given; it was signed by another master key, or damaged");

  const auto lines = lines_of(l.text);
  whitelist w;
  std::optional<sys_seconds> created, expires;
  if (lines.size() < 3 || !(created = parse_whitelist_time(lines[0])) || lines[1].size() != 15 || lines[1][0] != 'E' ||
      !(expires = parse_whitelist_time(lines[1].substr(1))) || lines[2].empty() || lines[2][0] != 'N')
    fail(errc::corrupt, what + " does not start with its creation time, 'E' expiry and 'N' name lines (YYYYMMDDHHMMSS, EYYYYMMDDHHMMSS, N<name>)");
  w.created = *created;
  w.expires = *expires;
  w.fqrn = lines[2].substr(1);
  for (std::size_t i = 3; i < lines.size(); ++i) {
    if (lines[i] == "Vpkcs7" || lines[i] == "Wcachain")
      fail(errc::corrupt, what + " asks for " + (lines[i] == "Vpkcs7" ? "a PKCS#7 signature" : "a CA chain check") +
                              " ('" + std::string(lines[i]) + "'), which stratum does not check; sign it with the master key instead");
    // Lines that are no fingerprint are comments to CernVM-FS; so here.
    if (auto fp = parse_fingerprint(lines[i])) w.fingerprints.push_back(*fp);
  }

  if (w.fqrn != fqrn) fail(errc::corrupt, what + " is signed for repository '" + w.fqrn + "'; the names must match");
  // Expired from the first second of the E line's hour on: CernVM-FS clients
  // compare year, month, day and hour only (Whitelist::IsBefore).
  if (e == expiry::enforce && now >= floor<hours>(w.expires))
    fail(errc::corrupt, what + " expired at " + readable(w.expires) + " (clients refuse it from " + readable(floor<hours>(w.expires)) +
                            "); its publisher renews it with 'stratum resign STATE STORE' (which needs the master key); --ignore-expiry reads it anyway");
  return w;
}

void check_listed(const whitelist& w, const certificate& cert) {
  for (const auto& [h, a] : w.fingerprints)
    if (cert.hash(a) == h) return;
  const algorithm a = w.fingerprints.empty() ? algorithm::sha1 : w.fingerprints.front().second;
  fail(errc::corrupt, "the repository certificate (" + cert.subject() + ", fingerprint " + cert.fingerprint(a) +
                          ") is not listed in the whitelist of '" + w.fqrn + "' (" + std::to_string(w.fingerprints.size()) +
                          " listed); sign a whitelist for this certificate with 'stratum resign'");
}

}  // namespace stratum::cvmfs
