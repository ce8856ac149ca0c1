// Dirtab parsing and matching (dirtab.hpp). Thread: any.
#include "catalog/publish/dirtab.hpp"

#include "async/error.hpp"

namespace stratum {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

// Splits at '/', dropping empty elements (as CernVM-FS does with "//" and a
// trailing '/'); false for a `\` before anything but `*`, `?` or `\`, or at
// the end of an element.
bool dirtab::parse_rule(std::string_view spec, rule& out) {
  out.absolute = !spec.empty() && spec.front() == '/';
  pattern cur;
  bool escaped = false;
  auto close = [&] {
    if (!cur.empty()) out.elements.push_back(std::move(cur));
    cur.clear();
  };
  for (char c : spec) {
    if (escaped) {
      if (c != '*' && c != '?' && c != '\\') return false;
      cur.push_back(static_cast<unsigned char>(c));
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == '/') {
      close();
    } else if (c == '*') {
      cur.push_back(any_run);
    } else if (c == '?') {
      cur.push_back(any_one);
    } else {
      cur.push_back(static_cast<unsigned char>(c));
    }
  }
  if (escaped) return false;
  close();
  return true;
}

dirtab dirtab::parse(std::string_view text, const std::string& where) {
  dirtab t;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const bool negative = line.front() == '!';
    if (negative) line = trim(line.substr(1));
    if (line.empty()) continue;
    auto bad = [&](const std::string& why) {
      fail(errc::usage, "dirtab '" + where + "' line " + std::to_string(line_no) + " ('" + std::string(line) + "'): " +
                            why + ". Fix the line; nothing was published");
    };
    rule r;
    if (!parse_rule(line, r))
      bad("not a valid pattern: '\\' may only precede '*', '?' or '\\'");
    if (!negative && !r.absolute)
      bad("a rule must be an absolute path from the repository root, such as /software/*");
    if (negative) {
      for (const auto& p : t.positive_)
        if (p == r) bad("this exclusion cancels a rule above exactly");
      t.negative_.push_back(std::move(r));
    } else {
      for (const auto& n : t.negative_)
        if (n == r) bad("this rule is cancelled exactly by an exclusion above");
      t.positive_.push_back(std::move(r));
    }
  }
  return t;
}

// Wildcard matching with backtracking to the last `*` only, which is
// enough for patterns of `*`, `?` and literals: linear in practice.
bool dirtab::glob(const pattern& p, std::string_view s, bool cross_slash) {
  std::size_t pi = 0, si = 0;
  std::size_t star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == any_run) {
      star_p = pi++;
      star_s = si;
    } else if (pi < p.size() && (p[pi] == static_cast<unsigned char>(s[si]) || (p[pi] == any_one && (cross_slash || s[si] != '/')))) {
      ++pi, ++si;
    } else if (star_p != std::string_view::npos && (cross_slash || s[star_s] != '/')) {
      pi = star_p + 1;
      si = ++star_s;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == any_run) ++pi;
  return pi == p.size();
}

// Element by element: the same number of elements, each matched alone.
bool dirtab::strict_match(const rule& r, std::string_view abs_path) {
  std::size_t i = 0;
  std::string_view rest = abs_path.substr(1);
  if (rest.empty()) return r.elements.empty();
  for (;;) {
    auto slash = rest.find('/');
    std::string_view name = rest.substr(0, slash);
    if (i >= r.elements.size() || !glob(r.elements[i], name, false)) return false;
    ++i;
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return i == r.elements.size();
}

// The whole path against the rule joined with '/', `*` and `?` crossing
// '/'; an absolute rule starts at the root, a relative one anywhere a
// match of the whole path can start (its first token must match the
// path's first byte, so `*.git` matches "/a/b.git", and `b.git` does not).
bool dirtab::relaxed_match(const rule& r, std::string_view abs_path) {
  pattern joined;
  if (r.absolute) joined.push_back('/');
  for (std::size_t i = 0; i < r.elements.size(); ++i) {
    if (i) joined.push_back('/');
    joined.insert(joined.end(), r.elements[i].begin(), r.elements[i].end());
  }
  return glob(joined, abs_path, true);
}

bool dirtab::matches(std::string_view path) const {
  std::string abs = "/" + std::string(path);
  bool positive = false;
  for (const auto& r : positive_)
    if (strict_match(r, abs)) {
      positive = true;
      break;
    }
  if (!positive) return false;
  for (const auto& r : negative_)
    if (relaxed_match(r, abs)) return false;
  return true;
}

}  // namespace stratum
