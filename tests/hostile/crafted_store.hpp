// Crafted hostile stores: a small genuine repository published by the stratum
// binary, and the variants of it an attacker who can write the store (but
// not the signing key) can make — truncated, swapped and bomb objects,
// FIFOs, symlinks and directories where objects go, a huge manifest, a
// manifest signed by another key, a replayed or expired one — plus catalogs
// that break one validator rule each, re-signed with the repository's own
// key so that only the rule can catch them. Thread: the test's main thread.
#pragma once

#include "support.hpp"

#include "catalog/format/catalog.hpp"
#include "catalog/format/manifest.hpp"

#include <functional>
#include <string>

namespace stratum::test::hostile {

// The genuine repository every variant starts from: published once per test
// process (two revisions, so an older validly signed manifest exists).
//   hello.txt, data.bin, new.txt (revision 2 only)   regular files (one object each)
//   link -> hello.txt, hl1 + hl2 (hardlinks)         a symlink, a hardlink group
//   dir/, dir/f.txt                                  a plain directory
//   sub/, sub2/                                      nested catalogs (a .stratumcatalog marker each)
//   sub/inner.txt, sub2/other.txt                    their files
struct base_repository {
  std::string store;         // revision 2, never modified (variants copy it)
  std::string state;         // the publisher's STATE (keys/stratum.key, keys/stratum.pub)
  std::string old_manifest;  // revision 1's manifest, validly signed
  manifest head;             // revision 2's manifest
  // Store keys of the objects the variants aim at.
  std::string root_key, history_key, public_key_key, nested_key, nested2_key, file_key, nested_file_key;
  std::string file_path = "hello.txt", nested_path = "sub", nested_file_path = "sub/inner.txt";
};
const base_repository& base();

// A zlib stream of 1.5 MB that inflates to 1.5 GiB of zeros; built once per
// process. Its name (the hash of its content) matches nothing: a reader finds
// out only after inflating it, unless it bounds what it inflates.
const std::string& bomb();
constexpr std::uint64_t bomb_inflated_size = std::uint64_t(3) << 29;  // 1.5 GiB

// A copy of the genuine store in a fresh directory, with what the runner
// needs beside it, and the mutations. Layout of `dir`:
//   store/    the crafted store           outside/  files that symlinks in the store point to
//   canary/   must stay untouched          xdg/, home/  the readers' config (trust records)
class crafted_store {
 public:
  explicit crafted_store(const std::string& name);
  crafted_store(const crafted_store&) = delete;

  temp_dir dir;
  std::string name, store, outside, canary, xdg, home;
  const base_repository& b;

  std::string path_of(const std::string& key) const { return store + "/" + key; }
  std::string manifest_path() const { return store + "/" + manifest_key; }

  // Objects replaced in place; each unlinks what is at `key` first.
  void put(const std::string& key, const std::string& content);
  void truncate(const std::string& key);  // to half its size
  void copy(const std::string& from_key, const std::string& to_key);
  void fifo(const std::string& key);
  void symlink(const std::string& key, const std::string& target);
  // A symlink to a copy of the genuine object in outside/: reading through
  // it gives valid bytes, so only refusing the symlink catches it.
  void symlink_outside(const std::string& key);
  void directory(const std::string& key);
  // The genuine manifest followed by zeros up to `size` (a sparse file).
  void sparse_manifest(std::uint64_t size);

  // Signs `m` with `key` and writes it as the manifest; a key other than the
  // repository's gets its public key object stored as a publisher would.
  void write_manifest(const manifest& m, const signing_key& key);
  // The current manifest of the store (parsed, not verified).
  manifest current_manifest() const;
  // The repository's own signing key (STATE/keys/stratum.key).
  signing_key own_key() const;

  // Decodes the genuine catalog mounted at `mount` ("" for the root), lets
  // `edit` change it, encodes it — then `patch` may change bytes the catalog
  // struct cannot hold, keeping the length — and stores it under its new
  // name; a nested catalog's new name goes into the root catalog the same
  // way. Then signs revision 3 naming the new root with the repository's own
  // key. Returns the key of the catalog crafted.
  std::string resign_catalog(const std::string& mount, const std::function<void(catalog&)>& edit,
                             const std::function<void(bytes&)>& patch = nullptr);
  // Stores `content` (compressed as a publisher would) under its own name.
  std::string store_object(byte_view content, object_kind k);
};

// The genuine catalog or object behind `key` in the base store, inflated.
bytes inflate_base_object(const std::string& key);
catalog decode_base_catalog(const std::string& key);

// Replaces the one occurrence of `from` in `b` by `to` (the same length).
void replace_once(bytes& b, const bytes& from, const bytes& to);

}  // namespace stratum::test::hostile
