// The CernVM-FS history database (history_sql.hpp). Thread: any.
#include "catalog/format/cvmfs/history_sql.hpp"

#include "async/error.hpp"
#include "catalog/format/cvmfs/sqlite_db.hpp"

#include <algorithm>
#include <array>

namespace stratum::cvmfs {
namespace {

// As CernVM-FS creates them (history_sql.cc), in its order; the text is
// stored verbatim in the file.
constexpr std::array<std::string_view, 4> create_tables = {
    "CREATE TABLE branches (branch TEXT, parent TEXT, initial_revision INTEGER,"
    "  CONSTRAINT pk_branch PRIMARY KEY (branch),   FOREIGN KEY (parent) REFERENCES branches (branch),"
    "   CHECK ((branch <> '') OR (parent IS NULL)),   CHECK ((branch = '') OR (parent IS NOT NULL)));",
    "INSERT INTO branches (branch, parent, initial_revision) VALUES ('', NULL, 0);",
    "CREATE TABLE tags (name TEXT, hash TEXT, revision INTEGER,   timestamp INTEGER, channel INTEGER,"
    " description TEXT, size INTEGER,   branch TEXT, CONSTRAINT pk_tags PRIMARY KEY (name),"
    "   FOREIGN KEY (branch) REFERENCES branches (branch));",
    "CREATE TABLE recycle_bin (hash TEXT, flags INTEGER,   CONSTRAINT pk_hash PRIMARY KEY (hash))",
};
constexpr std::size_t max_tag_name = 1024;

std::string digest_text(const hash256& h, algorithm a, const std::string& what) {
  for (std::size_t i = digest_size; i < h.v.size(); ++i)
    if (h.v[i] != 0) fail(errc::usage, what + " is not a 20-byte CernVM-FS digest");
  return to_text(h, a);
}

}  // namespace

bytes encode_history(const history& h, const history_params& p) {
  auto db = sqlite_db::create("CernVM-FS history of " + p.fqrn);
  db.exec("BEGIN");
  db.create_properties({{"schema", "1.0"},
                        {"schema_revision", "3"},
                        {"fqrn", p.fqrn},
                        {"previous_revision", to_text(p.previous.value_or(hash256{}), p.alg)}});
  for (auto sql : create_tables) db.exec(std::string(sql));
  auto ins = db.prepare(
      "INSERT INTO tags (name, hash, revision, timestamp, channel, description, size, branch)"
      " VALUES (?, ?, ?, ?, 0, ?, ?, '')");
  auto tags = h.tags;
  std::sort(tags.begin(), tags.end(), [](const tag& x, const tag& y) { return x.name < y.name; });
  for (const auto& t : tags) {
    if (t.name.empty()) fail(errc::usage, "history of " + p.fqrn + ": a tag without a name");
    ins.bind_text(1, t.name).bind_text(2, digest_text(t.root, p.alg, "the root hash of tag '" + t.name + "'"));
    ins.bind(3, static_cast<std::int64_t>(t.revision)).bind(4, t.timestamp).bind_text(5, t.description);
    ins.bind(6, static_cast<std::int64_t>(t.root_size)).run();
  }
  db.exec("COMMIT");
  return db.serialize();
}

decoded_history read_history(byte_view image, const std::string& what, algorithm a) {
  auto db = sqlite_db::open_image(image, what);
  auto props = db.properties_of_schema("history", "1.0", "3");
  decoded_history out;
  out.params.fqrn = props["fqrn"];
  out.params.alg = a;
  if (auto prev = props["previous_revision"]; !prev.empty()) {
    auto h = from_text(prev);
    if (!h || h->second != a) db.bad("property 'previous_revision' is not a hash of the repository's algorithm");
    if (h->first != hash256{}) out.params.previous = h->first;
  }
  if (!db.has_table("tags")) db.bad("no table 'tags'");
  auto& tags = out.tags.tags;
  for (auto s = db.prepare("SELECT name, hash, revision, timestamp, description, size FROM tags"); s.step();) {
    tag t;
    t.name = s.text(0);
    if (t.name.empty() || t.name.size() > max_tag_name || t.name.find('\0') != std::string::npos)
      db.bad("a tag name that is empty, longer than 1024 bytes or holds a NUL");
    auto h = from_text(s.text(1));
    if (!h || h->second != a) db.bad("tag '" + t.name + "': its hash is not one of the repository's algorithm");
    t.root = h->first;
    if (s.integer(2) < 0 || s.integer(5) < 0) db.bad("tag '" + t.name + "': a negative revision or size");
    t.revision = static_cast<std::uint64_t>(s.integer(2));
    t.timestamp = s.integer(3);
    t.description = s.text(4);
    t.root_size = static_cast<std::uint64_t>(s.integer(5));  // NULL (older histories): 0, not recorded
    tags.push_back(std::move(t));
  }
  std::sort(tags.begin(), tags.end(), [](const tag& x, const tag& y) { return x.name < y.name; });
  for (std::size_t i = 1; i < tags.size(); ++i)
    if (tags[i - 1].name == tags[i].name) db.bad("tag '" + tags[i].name + "' twice");
  return out;
}

}  // namespace stratum::cvmfs
