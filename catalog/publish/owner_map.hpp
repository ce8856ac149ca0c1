// Owner maps: the uid and gid rewriting rules of `stratum catalog-chown`
// and of every later publish of the same STATE (docs/DESIGN.md,
// "catalog-chown"), in cvmfs_server's map-file syntax (its uid_map.h):
// one rule a line, `FROM TO` (decimal ids) or `* TO` (every id without a
// rule of its own), `#` starts a comment, blank lines and surrounding
// whitespace are ignored. Stricter than cvmfs_server, which lets a later
// rule silently replace an earlier one: a second rule for the same FROM or
// a second `*` is refused, as a likely mistake in a file that changes who
// owns every file of a repository.
//
// Thread: any (values; parse and map are pure).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace stratum {

class id_map {
 public:
  // Parses map-file text. `what` names the file in messages. Throws
  // errc::usage naming `what`, the line number and what is wrong: not one or
  // two fields, a field that is not a decimal id (or `*` as FROM), an id
  // above 2^32-1, a FROM given twice, two `*` rules.
  static id_map parse(std::string_view text, const std::string& what);

  // The id `id` becomes: its rule's TO, else the default's, else itself.
  std::uint32_t map(std::uint32_t id) const;
  // No rule and no default: every id stays as it is.
  bool empty() const { return rules_.empty() && !fallback_; }
  // Map-file text that parse() reads back to an equal map (rules in id order,
  // the default last).
  std::string serialise() const;
  // The map that applies this one, then `next` (next.map(map(id)) for every
  // id): what a STATE remembers after catalog-chown with `next` over
  // catalogs already mapped with this one, since the journal keeps the
  // source's ids and a later publish maps those.
  id_map then(const id_map& next) const;

  bool operator==(const id_map&) const = default;

 private:
  std::map<std::uint32_t, std::uint32_t> rules_;
  std::optional<std::uint32_t> fallback_;
};

// The two maps a STATE remembers; either may be empty.
struct owner_map {
  id_map uids, gids;
  std::uint32_t map_uid(std::uint32_t id) const { return uids.map(id); }
  std::uint32_t map_gid(std::uint32_t id) const { return gids.map(id); }
  bool empty() const { return uids.empty() && gids.empty(); }
  owner_map then(const owner_map& next) const { return {uids.then(next.uids), gids.then(next.gids)}; }
  // Both maps as one text, as the journal records the maps the current
  // revision was made with (meta "owners"; "--\n": none).
  std::string text() const { return uids.serialise() + "--\n" + gids.serialise(); }
  bool operator==(const owner_map&) const = default;
};

}  // namespace stratum
