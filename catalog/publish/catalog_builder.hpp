// Catalogs from the journal: once every file is recorded and the layout is
// planned (catalog_layout.hpp: which directories root a catalog), each
// catalog is built after its nested ones — collected from the journal's
// entry records (in pre-order, so one range scan per catalog), hardlink
// groups assigned — encoded by the format and stored through the object
// sink; one catalog's entries are in memory at a time. A catalog this run already built (before a crash)
// is taken from its journal record.
//
// Thread: build() on the I/O thread; collecting and encoding on the CPU pool.
#pragma once

#include "catalog/format/format.hpp"
#include "catalog/publish/object_sink.hpp"
#include "catalog/publish/owner_map.hpp"

namespace stratum {

class run_state;

struct built_catalog {
  hash256 h;
  catalog_stats stats;
  std::uint64_t size = 0;  // encoded (content) size, which readers inflate exactly
  bytes note;              // format_writer::catalog_note, for the parent's encoding
};

class catalog_builder {
 public:
  // `base`: the revision and time every catalog of this run is encoded
  // with (formats that write them: CernVM-FS); `previous_root`: the root
  // catalog of the previous revision, if any.
  catalog_builder(run_state& run, object_sink& sink, const format_writer& fmt, asio::thread_pool& cpu,
                  publish_stats& stats, catalog_context base = {}, std::optional<hash256> previous_root = {});

  // Builds and stores the catalog of the subtree at `top` ("" for the root),
  // nested ones first; returns its name and totals.
  awaitable<built_catalog> build(std::string top);

  // The uid and gid rules (catalog-chown's, remembered in STATE) applied to
  // every entry made from a journal record; the records keep the source's.
  // `o` outlives the builder.
  void apply_owners(const owner_map& o) { owners_ = &o; }

 private:
  void own(entry& e) const {
    if (!owners_) return;
    e.uid = owners_->map_uid(e.uid);
    e.gid = owners_->map_gid(e.gid);
  }
  std::vector<std::string> nested_below(const std::string& top) const;
  void collect(const std::string& top, catalog& c, const std::vector<std::string>& nested,
               std::vector<std::pair<std::uint64_t, std::uint64_t>>& inodes) const;
  void add_made_markers(const std::string& top, catalog& c,
                        std::vector<std::pair<std::uint64_t, std::uint64_t>>& inodes) const;

  run_state& run_;
  object_sink& sink_;
  const format_writer& fmt_;
  asio::thread_pool& cpu_;
  publish_stats& stats_;  // I/O thread only
  catalog_context base_;
  std::optional<hash256> previous_root_;
  const owner_map* owners_ = nullptr;
};

// Entries of one catalog that are the same inode share a group number,
// numbered in catalog order so the encoding stays deterministic. Groups do
// not cross catalogs (as in CernVM-FS): each catalog restores on its own.
// Names of one inode recorded with different type or content (it changed
// between their reads) are not grouped. `inodes` holds (dev, ino) per entry.
void assign_hardlinks(catalog& c, const std::vector<std::pair<std::uint64_t, std::uint64_t>>& inodes);

}  // namespace stratum
