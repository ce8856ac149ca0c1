// Where the nested catalogs go: once every file is recorded, one pre-order
// pass over the journal's entry records decides which directories root a
// catalog in this run, and records each as a layout record (`l`,
// record.hpp) that catalog_builder follows. A directory roots a catalog
// when (docs/DESIGN.md, "Catalog layout"):
//   - the source holds the format's marker file in it (.stratumcatalog,
//     .cvmfscatalog);
//   - a dirtab rule matches it (dirtab.hpp);
//   - --autocatalogs split it off: a directory whose subtree outweighs the
//     maximum gives its heaviest subdirectories (each at least the minimum)
//     catalogs of their own until it weighs no more than half the maximum,
//     as cvmfs_server's balancer does;
//   - it did so automatically in the previous run, unless its catalog now
//     weighs less than the minimum (it is merged into its parent).
// A catalog's weight is the number of its entries: its root directory, what
// it holds directly, the mount points of its nested catalogs, and the
// marker files the format adds (format_writer::made_markers). Automatic
// catalogs persist from run to run, so a small change splits or merges only
// the catalogs whose weight crossed a bound: unrelated ones stay.
//
// Memory: a stack of the open directories along the current path, each
// with the subdirectories heavy enough to be split off (at most
// weight / minimum of them); never the tree.
//
// Thread: plan() blocks on journal reads; the publisher runs it on the CPU pool.
#pragma once

#include "catalog/format/format.hpp"
#include "catalog/publish/dirtab.hpp"
#include "catalog/publish/record.hpp"
#include "storage/journal/journal.hpp"

#include <cstdint>
#include <optional>

namespace stratum {

struct layout_options {
  std::optional<dirtab> rules;  // the dirtab, if any
  bool autocatalogs = false;
  std::uint64_t max_weight = 100000;  // CVMFS_AUTOCATALOGS_MAX_WEIGHT's default
  std::uint64_t min_weight = 1000;    // CVMFS_AUTOCATALOGS_MIN_WEIGHT's default
};

struct layout_stats {
  std::uint64_t nested = 0;  // nested catalogs in this run's layout
  std::uint64_t by_marker = 0, by_dirtab = 0, automatic = 0;
  std::uint64_t split_off = 0;  // automatic catalogs new in this run
  std::uint64_t merged = 0;     // automatic catalogs merged into their parent
};

// Decides the catalogs of run `run` from the entry records it listed, and
// writes their layout records (one batch, replacing the previous run's).
// Running it again on the same records gives the same layout, so a resumed
// run may repeat it. Throws errc::corrupt for a journal out of order.
layout_stats plan_catalogs(journal& j, std::uint64_t run, const layout_options& o, const format_writer& fmt);

// The reason the directory at `path` roots a catalog in run `run`, or
// nullopt when it does not (catalog_builder's question).
std::optional<pj::catalog_reason> catalog_reason_of(const journal& j, std::string_view path, std::uint64_t run);

}  // namespace stratum
