// STATE/settings: what the publisher of a repository chose once and later
// commands on the same STATE reuse without being told again (the manifest's
// validity, --expiry). One "name value" line each; replaced by rename, so a
// crash leaves the old file or the new one. Thread: the main thread.
#pragma once

#include "catalog/publish/owner_map.hpp"

#include <map>
#include <optional>
#include <string>

namespace stratum::cmd {

// A small file's whole text (a settings file, a map, a dirtab); nullopt when
// it cannot be opened or is a directory.
std::optional<std::string> read_text_file(const std::string& path);
// Replaces `file` with `text` through FILE.tmp and a rename, so a crash
// leaves the old file or the new one. Throws errc::permanent naming the file.
void replace_file(const std::string& file, const std::string& text);

// Every setting STATE records (one read of the file).
std::map<std::string, std::string> read_settings(const std::string& state);
std::optional<std::string> read_setting(const std::string& state, const std::string& name);
// Throws errc::permanent naming the file when it cannot be written.
void write_setting(const std::string& state, const std::string& name, const std::string& value);

// The manifest's validity in seconds: --expiry DAYS when given (and then
// recorded in STATE), else what STATE recorded, else `fallback_days`.
struct parsed_args;
std::int64_t expiry_seconds(const parsed_args& a, const std::string& state, unsigned long fallback_days);

// The uid and gid maps catalog-chown left in STATE (STATE/uid-map,
// STATE/gid-map, map-file text; missing: no map), which every publish of
// this STATE applies. Throws errc::usage naming the file when one does not parse.
owner_map remembered_owners(const std::string& state);
// Saves `m` (an empty map removes its file); each file replaced by rename.
// Throws errc::permanent naming the file when it cannot be written.
void remember_owners(const std::string& state, const owner_map& m);

}  // namespace stratum::cmd
