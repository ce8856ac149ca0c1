// The CernVM-FS history database (the `H` object the manifest's H line
// names): schema 1.0, revision 3, as cvmfs_server 2.12 writes it — the
// properties schema, schema_revision, fqrn, previous_revision; the table
// `tags` (name, hash, revision, timestamp, channel, description, size,
// branch), `branches` holding only the default branch '' and an empty
// `recycle_bin`. Written from stratum's history model: its tags, sorted by
// name (so the same tags give the same bytes), channel 0, branch ''. The
// model's list of every published revision has no place in CernVM-FS's
// history and is not written (read_history returns none).
// Thread: any (pure functions).
#pragma once

#include "catalog/format/cvmfs/digest.hpp"
#include "catalog/format/history.hpp"

#include <optional>
#include <string>

namespace stratum::cvmfs {

struct history_params {
  std::string fqrn;                 // the repository's name
  algorithm alg = algorithm::sha1;  // of the tags' root catalog hashes
  std::optional<hash256> previous;  // the history object this one replaces; absent: zeros
};

// Throws errc::usage for an empty tag name or a hash that is not a 20-byte
// digest.
bytes encode_history(const history& h, const history_params& p);

struct decoded_history {
  history tags;  // tags sorted by name; revisions empty
  history_params params;
};
// Reads a history database as hostile input (sqlite_db::open_image); every
// tag's hash must be of algorithm `a`. Tag names are kept as CernVM-FS
// allows them (cvmfs_server's automatic tags hold ':'), but must be
// non-empty, without NUL, at most 1024 bytes. Throws errc::corrupt naming
// `what` for another schema or anything malformed.
decoded_history read_history(byte_view db, const std::string& what, algorithm a);

}  // namespace stratum::cvmfs
