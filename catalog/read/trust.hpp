// Which manifests a reader accepts (docs/SECURITY.md). A signature proves
// only that the manifest was signed by the key the store names; a store that
// others can write to can name any key. So a reader verifies the manifest
// against a key it already trusts — one pinned with --pubkey, or the one it
// recorded the first time it read the repository (trust on first use, as
// SSH's known_hosts) — and refuses a revision older than the newest it has
// seen (replay) and a manifest past its signed expiry.
//
// Thread: the I/O thread that opens a repository. The record file is locked
// while it is read and rewritten, so concurrent readers do not lose updates.
#pragma once

#include "catalog/format/manifest.hpp"

#include <functional>
#include <optional>
#include <string>

namespace stratum {

struct trust_options {
  // The repository as the record names it: the store, made unambiguous
  // (an absolute path; a URL with its endpoint). Empty: no record is kept.
  std::string repository;
  // --pubkey: the raw 32-byte public key the manifest must be signed with,
  // and where it came from, for the message when it is not that key.
  bytes pinned_key;
  std::string pinned_from = "the key given with --pubkey";
  // The known-repositories file; empty: none (the publisher, tests).
  std::string known_file;
  bool allow_older = false;    // --allow-older: accept a revision below the highest seen
  bool allow_expired = false;  // --allow-expired: accept a manifest past its expiry
  // Notices the user must see once (the first use of a repository).
  std::function<void(const std::string&)> notice;
};

// $XDG_CONFIG_HOME/stratum/known_repositories, or ~/.config/stratum/...;
// empty when neither XDG_CONFIG_HOME nor HOME is set.
std::string default_known_file();

// What the record says of one repository.
struct known_repository {
  hash256 key;                // fingerprint of the trusted key
  std::uint64_t revision = 0; // the highest revision seen
};

// Reads the record of `repository` from `file` (nullopt: none).
std::optional<known_repository> read_known(const std::string& file, const std::string& repository);

// A format whose anchor a reader must hold in full to verify anything
// (CernVM-FS: the master public key; format_reader::anchor_required) keeps
// it beside the record, in keys/<SHA-256 hex>.pem, so a later read needs no
// --pubkey. read_anchor: nullopt when absent or not the key named;
// keep_anchor returns "" or why it could not write it.
std::string anchor_file(const std::string& known_file, const hash256& fp);
std::optional<bytes> read_anchor(const std::string& known_file, const hash256& fp);
std::string keep_anchor(const std::string& known_file, byte_view anchor);

// Decides whether the manifest `m` (its signature already verified with the
// key `key_raw` that its public_key names) is to be trusted, at time `now`,
// and records what was accepted. Throws errc::corrupt with a message saying
// what is wrong and what to do: a key that is not the pinned one or not the
// recorded one, a revision below the highest seen, an expired manifest.
void trust_manifest(const trust_options& o, const manifest& m, byte_view key_raw, std::int64_t now);

}  // namespace stratum
