// Option parsing and the small formatting helpers the commands share: names
// escaped for display, byte counts. Pure functions, any thread.
#include "async/error.hpp"
#include "cmd/cmd.hpp"

#include <charconv>
#include <cstdio>

namespace stratum::cmd {

std::optional<std::string> parsed_args::get(const std::string& n) const {
  auto it = values.find(n);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

unsigned long parsed_args::number(const std::string& n, unsigned long d) const {
  auto v = get(n);
  if (!v) return d;
  unsigned long x = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc{} || p != v->data() + v->size()) fail(errc::usage, "--" + n + " needs a number, not '" + *v + "'");
  return x;
}

parsed_args parse_args(const std::vector<std::string>& argv, const std::vector<option_spec>& spec) {
  parsed_args out;
  auto find = [&](const std::string& a) -> const option_spec* {
    for (auto& s : spec)
      if ((a.size() > 2 && a.compare(0, 2, "--") == 0 && a.substr(2) == s.name) || (a.size() == 2 && a[0] == '-' && a[1] == s.alias && s.alias))
        return &s;
    return nullptr;
  };
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      out.positional.insert(out.positional.end(), argv.begin() + i + 1, argv.end());
      break;
    }
    if (a.size() > 1 && a[0] == '-') {
      std::string name = a, value;
      bool inline_value = false;
      if (auto eq = a.find('='); a.compare(0, 2, "--") == 0 && eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        inline_value = true;
      }
      auto* s = find(name);
      if (!s) fail(errc::usage, "unknown option '" + name + "' (see --help)");
      if (s->takes_value && !inline_value) {
        if (i + 1 >= argv.size()) fail(errc::usage, "option '" + name + "' needs a value");
        value = argv[++i];
      } else if (!s->takes_value && inline_value) {
        fail(errc::usage, "option '" + name + "' takes no value");
      }
      out.values[s->name] = value;
      continue;
    }
    out.positional.push_back(a);
  }
  return out;
}

namespace {

// Length of the well-formed UTF-8 sequence that starts s[i], or 0 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF). The second
// byte's range is what rules those out; the rest are plain continuations.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;  // below: overlong
    if (c == 0xed) hi = 0x9f;  // above: surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;  // below: overlong
    if (c == 0xf4) hi = 0x8f;  // above: past U+10FFFF
  } else {
    return 0;  // ASCII, a continuation byte, 0xc0, 0xc1 (overlong) or 0xf5..0xff
  }
  if (i + len > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if ((at(i + k) & 0xc0) != 0x80) return 0;
  return len;
}

}  // namespace

std::string escape_name(std::string_view s) {
  std::string out;
  auto hex = [&](unsigned char c) {
    char buf[5];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  };
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') { out += "\\\\"; ++i; continue; }
    if (c == '\n') { out += "\\n"; ++i; continue; }
    if (c == '\t') { out += "\\t"; ++i; continue; }
    if (c < 0x20 || c == 0x7f) { hex(c); ++i; continue; }
    if (c < 0x80) { out.push_back(static_cast<char>(c)); ++i; continue; }
    // Well-formed UTF-8 passes through, except the C1 controls U+0080..U+009F
    // (0xc2 0x80..0x9f), which terminals may obey; anything else is escaped
    // byte by byte, so the result is always valid UTF-8.
    std::size_t len = utf8_length(s, i);
    if (len == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) <= 0x9f) len = 0;
    if (len) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      hex(c);
      ++i;
    }
  }
  return out;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

}  // namespace stratum::cmd
