// Reading a published repository: the manifest (signature verified), the
// history, catalogs and file contents, every object checked against its
// name. What the bytes mean is the format's (catalog/format/format.hpp,
// format_reader); the tree logic here (find, children, the catalog cache) is
// the same for every format. Thread: the I/O thread that awaits it; decoding
// and hashing run on the CPU pool.
#pragma once

#include "catalog/format/format.hpp"
#include "catalog/read/trust.hpp"
#include "storage/backend.hpp"

#include <functional>
#include <map>
#include <memory>

namespace stratum {

// What a reader fetches and inflates at most, so that a store (which others
// may write to) cannot make it hold more memory than this (issue 16).
struct read_limits {
  // Catalogs and the history whose size the writer did not record (those of
  // repositories written before sizes were) are inflated in a stream
  // that stops past this many bytes (--max-catalog-size MIB). A catalog
  // takes ~86 bytes an entry (/usr/include: 25,966 entries, 2.2 MB), so
  // 64 MiB is ~750,000 entries in one catalog; sized catalogs (everything
  // this version writes) are not bound by it.
  std::uint64_t max_catalog_size = std::uint64_t(64) << 20;
};

// A catalog as it was read, with the sizes of its object.
struct catalog_object {
  std::shared_ptr<const catalog> cat;
  std::uint64_t stored_size = 0;    // bytes of the object in the store (compressed)
  std::uint64_t inflated_size = 0;  // bytes of its content, which was decoded
};

struct located {
  std::shared_ptr<const catalog> cat;  // the catalog holding the entry
  const entry* e = nullptr;            // points into *cat
};

class repository {
 public:
  // Reads the manifest (at most the format's manifest_max_size()), fetches
  // the public key it names, verifies the signature, decides with `trust`
  // whether that key and revision are to be trusted (trust.hpp: the pinned
  // or recorded key, no replay, no expired manifest), then reads the
  // history. Throws errc::not_found when the store holds no repository,
  // errc::corrupt when the manifest is invalid, too large, forged or not
  // trusted. Without `fmt`, the format is the store's: stratum's own, or
  // CernVM-FS when the store holds a `.cvmfspublished` and no
  // `.stratumpublished`.
  static awaitable<std::unique_ptr<repository>> open(backend& store, asio::thread_pool& cpu, trust_options trust,
                                                     std::unique_ptr<format_reader> fmt = nullptr, read_limits limits = {});

  const manifest& head() const { return head_; }
  // The key the manifest was trusted through (format_reader::vouch), canonical.
  const bytes& anchor() const { return anchor_; }
  // The history (tags). A history object that is missing or does not decode
  // does not stop open(): the current revision is still readable and `check`
  // lists it as damage. history() then throws errc::corrupt with the reason,
  // so whatever needs a tag fails as it did; history_problem() tells first.
  const struct history& history() const;
  const std::optional<std::string>& history_problem() const { return history_problem_; }

  // The root catalog hash for a tag name, or the current one without a name.
  // Throws errc::usage naming the tag when it does not exist.
  hash256 root_for(const std::optional<std::string>& tag) const;

  // Fetches, inflates, verifies, decodes and validates a catalog
  // (catalog/read/validator.hpp; cached). Throws errc::corrupt naming it.
  // Its size is the one the writer recorded (in the manifest for the root,
  // in the history for a tag's, in the parent catalog for a nested one) when
  // what was read so far names it; else read_limits::max_catalog_size bounds it.
  awaitable<std::shared_ptr<const catalog>> load_catalog(const hash256& h);
  // load_catalog for a revision's root catalog, which must be the root "".
  awaitable<std::shared_ptr<const catalog>> load_root(const hash256& h);
  // The nested catalog mounted at `mount`, a flagged directory entry of
  // `parent`, checked against it (root path, type). Every descent into a
  // nested catalog goes through here.
  awaitable<std::shared_ptr<const catalog>> load_nested(const catalog& parent, const entry& mount);

  // load_root and load_nested (same checks) that always read the object,
  // never from the cache nor into it, and say its sizes: for a walk that
  // reports them and holds one catalog at a time (catalog_walk.hpp).
  // read_nested takes the parent's reference and mount point entry, not the
  // parent, so the parent can be dropped before its nested catalogs are read.
  awaitable<catalog_object> read_root(const hash256& h);
  awaitable<catalog_object> read_nested(const std::string& parent_root, const nested_ref& ref, const entry& mount);

  // Drops catalog `h` from the cache (its recorded size is kept), so a walk
  // over a whole tree holds one catalog at a time. A later load reads it again.
  void forget(const hash256& h) { catalogs_.erase(h); }

  // Finds `path` ("" for the root) in the tree under `root`, descending into
  // nested catalogs. Returns an empty `located` when there is no such path.
  awaitable<located> find(const hash256& root, std::string path);

  // The direct children of directory `dir` (whose entry is `loc`), in order.
  awaitable<std::vector<const entry*>> children(const located& dir, std::vector<std::shared_ptr<const catalog>>& keep);

  // Fetches an object and verifies it: inflates it to exactly `size` bytes
  // and checks the SHA-256. Fetches no more than a zlib stream of that size
  // can take (max_stored_size). Throws errc::corrupt naming the key, or
  // errc::not_found when it is missing.
  awaitable<bytes> read_object(const hash256& h, object_kind k, std::uint64_t size);
  // The same, and `then` runs on the CPU pool with the verified content,
  // in the task that verified it (one thread switch fewer for a caller
  // that stores it: the mount's cache). What `then` throws is thrown.
  awaitable<bytes> read_object(const hash256& h, object_kind k, std::uint64_t size, const std::function<void(const bytes&)>& then);

  // Whether load_catalog keeps what it loaded (the default). A walk over
  // every revision (gc) turns it off, so it holds only the catalogs on its
  // path.
  void keep_catalogs(bool on) {
    keep_catalogs_ = on;
    if (!on) catalogs_.clear();
  }

  backend& store() { return store_; }
  const format_reader& format() const { return *fmt_; }
  asio::thread_pool& cpu() { return cpu_; }

 private:
  repository(backend& store, asio::thread_pool& cpu, std::unique_ptr<format_reader> fmt, read_limits limits)
      : store_(store), cpu_(cpu), fmt_(std::move(fmt)), limits_(limits) {}
  // Without a size: inflated under `limit`, or limits_.max_catalog_size.
  // `stored_size`, when given, gets the size of the object in the store.
  awaitable<bytes> read(const hash256& h, object_kind k, std::optional<std::uint64_t> size,
                        std::optional<std::uint64_t> limit = std::nullopt, std::uint64_t* stored_size = nullptr,
                        const std::function<void(const bytes&)>* then = nullptr);
  // Reads, inflates, verifies, decodes and validates catalog `h` (no cache).
  awaitable<catalog_object> fetch_catalog(const hash256& h);
  // The manifest's verified chain of trust (format_reader::vouch), and the
  // trust decision (trust.hpp).
  awaitable<void> trust(const parsed_manifest& p, byte_view key, trust_options& t);

  backend& store_;
  asio::thread_pool& cpu_;
  std::unique_ptr<format_reader> fmt_;
  manifest head_;
  bytes anchor_;
  struct history history_;
  read_limits limits_;
  std::optional<std::string> history_problem_;
  std::map<hash256, std::shared_ptr<const catalog>> catalogs_;
  bool keep_catalogs_ = true;
  // Catalog sizes recorded by the writer, from the manifest and the nested
  // references of the catalogs read so far.
  std::map<hash256, std::uint64_t> catalog_sizes_;
};

// Finds the nested catalog reference of `c` whose subtree holds `path`.
const nested_ref* nested_for(const catalog& c, std::string_view path);
// The entry of `c` at `path`, or nullptr.
const entry* entry_at(const catalog& c, std::string_view path);

}  // namespace stratum
