// Test helper: a repository written object by object, as a hostile writer
// would, for the tests of what readers refuse. Catalogs are stored as given
// (encoded, never validated), then a history and a manifest signed with the
// helper's key make them a revision every reader opens.
// Thread: the test's thread; it runs `io` for each store call.
#pragma once

#include "catalog/format/catalog.hpp"
#include "catalog/format/history.hpp"
#include "catalog/format/signing.hpp"
#include "storage/backend.hpp"

#include <optional>
#include <string>

namespace stratum::test {

class crafted_store {
 public:
  crafted_store(asio::io_context& io, backend& store);

  // Stores `content` as an object of kind `k`; returns its name.
  hash256 object(std::string_view content, object_kind k = object_kind::file);
  // Stores the encoding of `c`; returns its name.
  hash256 put(const catalog& c);
  // Makes `root` the current revision: a history with `trunk` (and `tags`),
  // the public key and the signed manifest. With `history_bytes`, those bytes
  // are stored as the history object instead.
  void publish(const hash256& root, std::vector<tag> tags = {}, std::optional<std::string> history_bytes = std::nullopt);
  // Writes the public key to DIR/stratum.pub (and the private one), for --pubkey.
  void save_key(const std::string& dir) const { key_.save(dir); }
  const signing_key& key() const { return key_; }

 private:
  asio::io_context& io_;
  backend& store_;
  signing_key key_;
};

// Entries for crafted catalogs, with the fields every rule needs.
entry dir_entry(std::string path, std::uint32_t mode = 0755);
entry file_entry(std::string path, const std::string& content, std::uint32_t mode = 0644);
entry symlink_entry(std::string path, std::string target);
// A catalog rooted at `root_path` holding `entries` (the root entry first).
catalog make_catalog(std::string root_path, std::vector<entry> entries, std::vector<nested_ref> nested = {});

// A catalog of the root and one FIFO "p" written field by field, so each
// field can hold a varint that no C++ field of `entry` could (encode_catalog
// cannot write these).
struct raw_fields {
  std::uint64_t mode = 0644, uid = 0, gid = 0, nsec = 0, hardlink = 0;
  std::uint8_t type = 4, flags = 0;
};
bytes raw_catalog(const raw_fields& f);

}  // namespace stratum::test
