// A dirtab: the rules that say which directories get a nested catalog,
// with the syntax of CernVM-FS's `.cvmfsdirtab` (docs/DESIGN.md, "Catalog
// layout"). One rule per line:
//   /software/*/*     every directory two levels below /software
//   ! *.git           but never one whose path ends in .git
//   # a comment
// A positive rule is absolute and matches a path element by element: `*`
// matches any run of characters within one element, `?` one character, and
// `\` makes the next `*`, `?` or `\` literal. A `!` rule may also be
// relative; it matches the whole path with `*` and `?` crossing `/`, so
// `! *.git` excludes every path ending in ".git". A directory gets a catalog
// when some positive rule matches it and no `!` rule does.
//
// Thread: any (immutable after parse).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stratum {

class dirtab {
 public:
  // Parses the text of a dirtab; `where` names it in messages. Throws
  // errc::usage naming `where` and the line for a line that is not a valid
  // rule: a bad escape, a positive rule that is not absolute, or a `!` rule
  // identical to a positive one.
  static dirtab parse(std::string_view text, const std::string& where);

  // Whether the directory at `path` (relative to the repository root, no
  // leading '/'; "" is the root) gets a catalog by these rules.
  bool matches(std::string_view path) const;
  bool empty() const { return positive_.empty(); }

 private:
  // A pattern token: a literal byte (0..255), or `*` / `?` (escaped
  // specials are literals).
  static constexpr short any_run = -1, any_one = -2;
  using pattern = std::vector<short>;
  // One rule's pattern, element by element.
  struct rule {
    bool absolute = false;
    std::vector<pattern> elements;
    bool operator==(const rule&) const = default;
  };
  static bool parse_rule(std::string_view spec, rule& out);
  static bool glob(const pattern& p, std::string_view s, bool cross_slash);
  static bool strict_match(const rule& r, std::string_view abs_path);
  static bool relaxed_match(const rule& r, std::string_view abs_path);

  std::vector<rule> positive_, negative_;
};

}  // namespace stratum
