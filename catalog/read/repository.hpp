// Reading a published repository: the manifest (signature verified), the
// history, catalogs and file contents, every object checked against its hash.
#pragma once

#include "catalog/format/catalog.hpp"
#include "catalog/format/history.hpp"
#include "catalog/format/manifest.hpp"
#include "storage/backend.hpp"

#include <map>
#include <memory>

namespace stratum {

struct located {
  std::shared_ptr<const catalog> cat;  // the catalog holding the entry
  const entry* e = nullptr;            // points into *cat
};

class repository {
 public:
  // Reads `.stratumpublished`, fetches the public key it names, and verifies
  // the signature (and, if `pinned_key` is not empty, that it is that key),
  // then reads the history. Throws errc::not_found when the store holds no
  // repository, errc::corrupt when the manifest is invalid or forged.
  static awaitable<std::unique_ptr<repository>> open(backend& store, asio::thread_pool& cpu, bytes pinned_key = {});

  const manifest& head() const { return head_; }
  const struct history& history() const { return history_; }

  // The root catalog hash for a tag name, or the current one without a name.
  // Throws errc::usage naming the tag when it does not exist.
  hash256 root_for(const std::optional<std::string>& tag) const;

  // Fetches, inflates, verifies and decodes a catalog (cached).
  awaitable<std::shared_ptr<const catalog>> load_catalog(const hash256& h);

  // Finds `path` ("" for the root) in the tree under `root`, descending into
  // nested catalogs. Returns an empty `located` when there is no such path.
  awaitable<located> find(const hash256& root, std::string path);

  // The direct children of directory `dir` (whose entry is `loc`), in order.
  awaitable<std::vector<const entry*>> children(const located& dir, std::vector<std::shared_ptr<const catalog>>& keep);

  // Fetches an object and verifies it: inflates it to exactly `size` bytes
  // and checks the SHA-256. Throws errc::corrupt naming the key, or
  // errc::not_found when it is missing.
  awaitable<bytes> read_object(const hash256& h, object_kind k, std::uint64_t size);

  backend& store() { return store_; }
  asio::thread_pool& cpu() { return cpu_; }

 private:
  repository(backend& store, asio::thread_pool& cpu) : store_(store), cpu_(cpu) {}
  awaitable<bytes> read_unsized(const hash256& h, object_kind k);

  backend& store_;
  asio::thread_pool& cpu_;
  manifest head_;
  struct history history_;
  std::map<hash256, std::shared_ptr<const catalog>> catalogs_;
};

// Finds the nested catalog reference of `c` whose subtree holds `path`.
const nested_ref* nested_for(const catalog& c, std::string_view path);

}  // namespace stratum
