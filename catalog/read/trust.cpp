// The trust decision and the known-repositories record (trust.hpp).
// Thread: the I/O thread opening a repository; the record is read and
// rewritten under an exclusive lock on a file beside it, and replaced by
// rename, so a reader killed mid-write leaves the old record whole.
#include "catalog/read/trust.hpp"

#include "async/error.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <unistd.h>
#include <vector>

namespace stratum {
namespace {

namespace fs = std::filesystem;

// A repository's name in the record: bytes a line cannot hold (space,
// controls, '%') are %XX, so every name is one token to the end of the line.
std::string encode_name(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f || c == '%') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

struct record_line {
  std::string name;  // encoded
  known_repository rec;
};

// Reads the record; lines it cannot parse are kept as they are by the
// writer (a user may have edited the file) but never match.
std::vector<std::string> read_lines(const std::string& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::optional<record_line> parse_line(const std::string& l) {
  if (l.empty() || l[0] == '#') return std::nullopt;
  auto sp1 = l.find(' ');
  auto sp2 = sp1 == std::string::npos ? sp1 : l.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) return std::nullopt;
  auto key = hash256::from_hex(std::string_view(l).substr(0, sp1));
  record_line r;
  auto rev = std::string_view(l).substr(sp1 + 1, sp2 - sp1 - 1);
  if (!key || std::from_chars(rev.data(), rev.data() + rev.size(), r.rec.revision).ec != std::errc{}) return std::nullopt;
  r.rec.key = *key;
  r.name = l.substr(sp2 + 1);
  return r;
}

std::string format_line(const std::string& name, const known_repository& r) {
  return r.key.hex() + " " + std::to_string(r.revision) + " " + name;
}

std::string utc(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// An exclusive lock on FILE.lock for the read-modify-write of FILE.
class record_lock {
 public:
  explicit record_lock(const std::string& file) {
    std::error_code ec;
    fs::create_directories(fs::path(file).parent_path(), ec);
    fd_ = ::open((file + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~record_lock() {
    if (fd_ >= 0) ::close(fd_);
  }
  record_lock(const record_lock&) = delete;
  record_lock& operator=(const record_lock&) = delete;

 private:
  int fd_ = -1;
};

// Replaces FILE by rename with `content`; returns an error message, or ""
// when written.
std::string replace_file(const std::string& file, std::string_view content) {
  const std::string tmp = file + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) return std::strerror(errno);
  }
  if (std::rename(tmp.c_str(), file.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return why;
  }
  return "";
}

std::string write_lines(const std::string& file, const std::vector<std::string>& lines) {
  std::string text;
  for (auto& l : lines) text += l + "\n";
  return replace_file(file, text);
}

const char* header[] = {
    "# stratum: the signing key trusted for each repository read from this account, and the highest",
    "# revision seen (docs/SECURITY.md). One line each: <key fingerprint> <revision> <repository>.",
};

}  // namespace

std::string anchor_file(const std::string& known_file, const hash256& fp) {
  return (fs::path(known_file).parent_path() / "keys" / (fp.hex() + ".pem")).string();
}

std::optional<bytes> read_anchor(const std::string& known_file, const hash256& fp) {
  if (known_file.empty()) return std::nullopt;
  std::ifstream in(anchor_file(known_file, fp), std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes b(as_bytes(text).begin(), as_bytes(text).end());
  // A file that is not the key the record names is no key at all.
  if (sha256(b) != fp) return std::nullopt;
  return b;
}

std::string keep_anchor(const std::string& known_file, byte_view anchor) {
  if (known_file.empty()) return "";
  const std::string file = anchor_file(known_file, sha256(anchor));
  std::error_code ec;
  if (fs::exists(file, ec)) return "";
  fs::create_directories(fs::path(file).parent_path(), ec);
  if (ec) return ec.message();
  return replace_file(file, std::string_view(reinterpret_cast<const char*>(anchor.data()), anchor.size()));
}

std::string default_known_file() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/stratum/known_repositories";
  const char* home = std::getenv("HOME");
  if (home && *home == '/') return std::string(home) + "/.config/stratum/known_repositories";
  return "";
}

std::optional<known_repository> read_known(const std::string& file, const std::string& repository) {
  const std::string name = encode_name(repository);
  for (auto& l : read_lines(file))
    if (auto r = parse_line(l); r && r->name == name) return r->rec;
  return std::nullopt;
}

void trust_manifest(const trust_options& o, const manifest& m, byte_view key_raw, std::int64_t now) {
  const hash256 fp = sha256(key_raw);
  const std::string& repo = o.repository;
  const bool pinned = !o.pinned_key.empty();
  if (pinned && !std::equal(key_raw.begin(), key_raw.end(), o.pinned_key.begin(), o.pinned_key.end()))
    fail(errc::corrupt, repo + ": the manifest is signed with key " + fp.hex() + ", not with " + o.pinned_from + " (" +
                            sha256(o.pinned_key).hex() + "). Someone who can write the store may have replaced the "
                            "repository, or the key is that of another repository");
  if (m.expires != 0 && now > m.expires && !o.allow_expired)
    fail(errc::corrupt, repo + ": the manifest of revision " + std::to_string(m.revision) + " expired at " + utc(m.expires) +
                            ": its publisher has not renewed it ('stratum resign STATE STORE'), or an old manifest was put "
                            "back in place of a newer one. --allow-expired reads it anyway");
  if (o.known_file.empty() || repo.empty()) return;

  record_lock lock(o.known_file);
  auto lines = read_lines(o.known_file);
  const std::string name = encode_name(repo);
  std::optional<std::size_t> at;
  std::optional<known_repository> rec;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (auto r = parse_line(lines[i]); r && r->name == name) {
      at = i;
      rec = r->rec;
    }
  if (rec && rec->key != fp) {
    if (!pinned)
      fail(errc::corrupt, repo + ": the manifest is signed with key " + fp.hex() + ", but key " + rec->key.hex() +
                              " is the one trusted for this repository (" + o.known_file + "). If its publisher really "
                              "changed the key, check the new fingerprint with them and run again with --pubkey "
                              "THEIR_KEY.pub, which replaces the record; otherwise someone who can write the store has "
                              "replaced the repository");
    if (o.notice) o.notice("the key given with --pubkey replaces key " + rec->key.hex() + " as the one trusted for " + repo);
  }
  if (rec && m.revision < rec->revision && !o.allow_older)
    fail(errc::corrupt, repo + ": it holds revision " + std::to_string(m.revision) + ", older than revision " +
                            std::to_string(rec->revision) + " read from it before: an older manifest has been put back in "
                            "place of the newer one (a replay), or the repository was made again. --allow-older reads it "
                            "anyway");
  if (rec && rec->key == fp && m.revision <= rec->revision) return;  // nothing new to record
  if (!rec && !pinned && o.notice)
    o.notice("first use of " + repo + ": trusting its signing key " + fp.hex() + " from now on (recorded in " + o.known_file +
             "). Check this fingerprint with the publisher, or pin the key with --pubkey FILE (their " +
             "stratum.pub) so the store alone can never decide it");

  known_repository now_known{fp, std::max(m.revision, rec ? rec->revision : 0)};
  if (at) lines[*at] = format_line(name, now_known);
  else {
    if (lines.empty()) lines.assign(std::begin(header), std::end(header));
    lines.push_back(format_line(name, now_known));
  }
  if (auto why = write_lines(o.known_file, lines); !why.empty() && o.notice)
    o.notice("cannot record the trusted key of " + repo + " in " + o.known_file + ": " + why +
             "; the next read will trust on first use again");
}

}  // namespace stratum
