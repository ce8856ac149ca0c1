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
    // A well-formed UTF-8 sequence passes through; anything else is escaped.
    std::size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    bool good = len && i + len <= s.size();
    for (std::size_t k = 1; good && k < len; ++k) good = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (good) {
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
