// The history object: named tags (trunk, trunk-previous and the user's) and
// the list of every published revision, for rollback and garbage collection.
// Thread: any (pure functions).
#pragma once

#include "catalog/format/codec.hpp"

#include <optional>
#include <string>
#include <vector>

namespace stratum {

struct tag {
  std::string name;
  hash256 root;
  std::uint64_t revision = 0;
  std::int64_t timestamp = 0;
  std::string description;
  // The root catalog's content size (what it inflates to), so a reader of a
  // tagged revision inflates exactly that much. 0: not recorded (a tag kept
  // from a version-1 history), read under the reader's limit.
  std::uint64_t root_size = 0;
  auto operator<=>(const tag&) const = default;
};

struct revision_record {
  std::uint64_t revision = 0;
  hash256 root;
  std::int64_t timestamp = 0;
  std::uint64_t root_size = 0;  // as in tag
  auto operator<=>(const revision_record&) const = default;
};

struct history {
  std::vector<tag> tags;                // sorted by name, unique
  std::vector<revision_record> revisions;  // ascending

  const tag* find(std::string_view name) const;
  // Adds or replaces the tag of that name.
  void set(tag t);
};

// Tag names: 1..255 bytes of [A-Za-z0-9._-], not starting with '.' or '-'.
bool valid_tag_name(std::string_view name);

bytes encode_history(const history& h);
history decode_history(byte_view data, const std::string& what);

}  // namespace stratum
