// Map-file parsing and id mapping (owner_map.hpp). Thread: any.
#include "catalog/publish/owner_map.hpp"

#include "async/error.hpp"

#include <charconv>
#include <vector>

namespace stratum {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// A decimal id of 0..2^32-1 (no sign: "-1" is refused rather than wrapping to
// 4294967295, the id nobody meant).
std::uint32_t id_of(std::string_view f, const std::string& where) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  const bool digits = !f.empty() && f.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits || end != f.data() + f.size())
    fail(errc::usage, where + "'" + std::string(f) + "' is not a decimal id. Nothing was changed");
  if (ec == std::errc::result_out_of_range || v > 0xffffffffu)
    fail(errc::usage, where + "id " + std::string(f) + " is above 4294967295, the largest uid or gid. Nothing was changed");
  return static_cast<std::uint32_t>(v);
}

}  // namespace

id_map id_map::parse(std::string_view text, const std::string& what) {
  id_map m;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    const auto f = fields_of(line);
    if (f.empty()) continue;
    const std::string where = "map file '" + what + "', line " + std::to_string(number) + ": ";
    if (f.size() != 2)
      fail(errc::usage, where + "a rule is 'FROM TO' or '* TO', not " + std::to_string(f.size()) + " field(s). Nothing was changed");
    const std::uint32_t to = id_of(f[1], where);
    if (f[0] == "*") {
      if (m.fallback_) fail(errc::usage, where + "a second '*' rule: give one default. Nothing was changed");
      m.fallback_ = to;
      continue;
    }
    const std::uint32_t from = id_of(f[0], where);
    if (!m.rules_.emplace(from, to).second)
      fail(errc::usage, where + "a second rule for id " + std::to_string(from) + ": give one rule an id. Nothing was changed");
  }
  return m;
}

std::uint32_t id_map::map(std::uint32_t id) const {
  if (auto it = rules_.find(id); it != rules_.end()) return it->second;
  return fallback_.value_or(id);
}

id_map id_map::then(const id_map& next) const {
  id_map out;
  for (const auto& [from, to] : rules_) out.rules_.emplace(from, next.map(to));
  if (fallback_) {
    // Every id without a rule here went to the default: next's rules for
    // them never apply.
    out.fallback_ = next.map(*fallback_);
    return out;
  }
  // Ids without a rule here reach `next` unchanged.
  for (const auto& [from, to] : next.rules_) out.rules_.emplace(from, to);  // keeps this map's rule when both have one
  out.fallback_ = next.fallback_;
  return out;
}

std::string id_map::serialise() const {
  std::string s;
  for (const auto& [from, to] : rules_) s += std::to_string(from) + " " + std::to_string(to) + "\n";
  if (fallback_) s += "* " + std::to_string(*fallback_) + "\n";
  return s;
}

}  // namespace stratum
