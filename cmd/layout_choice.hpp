// Where a publish puts nested catalogs besides marker files: the dirtab
// (`--dirtab FILE`, else the format's dirtab file at the source root) and
// `--autocatalogs [--max-weight N] [--min-weight N]`. The choices are
// remembered in STATE/settings, as cvmfs_server keeps CVMFS_AUTOCATALOGS in
// server.conf, so later publishes keep the layout without being told again
// (`--no-autocatalogs`, `--no-dirtab` undo them). Thread: the main thread.
#pragma once

#include "catalog/format/format.hpp"
#include "catalog/publish/catalog_layout.hpp"
#include "cmd/cmd.hpp"

namespace stratum::cmd {

struct chosen_layout {
  layout_options options;
  std::string id;  // publish_options::layout_id
};

// Reads and checks everything before it records a setting: a bad dirtab line
// or weights, or a --dirtab file that cannot be read, throw errc::usage.
chosen_layout choose_layout(const parsed_args& a, const std::string& state, const std::string& source,
                            const format_writer& fmt);

}  // namespace stratum::cmd
