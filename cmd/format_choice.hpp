// Which repository format a publish writes: `--format stratum|cvmfs` when the
// repository is made, remembered in STATE/settings (with the CernVM-FS
// repository's --name and --hash), so later publishes find it themselves.
// Thread: the main thread.
#pragma once

#include "catalog/format/format.hpp"
#include "cmd/cmd.hpp"

#include <memory>

namespace stratum::cmd {

// nullptr: stratum's own format (the publisher's default). For cvmfs, makes
// the key set in STATE/keys (or --keys DIR) on --new, loads it otherwise.
// Throws errc::usage naming the option for anything it cannot use, before
// anything is written to the store.
std::unique_ptr<format_writer> chosen_format(const parsed_args& a, const std::string& state, bool fresh);

}  // namespace stratum::cmd
