// The CernVM-FS format as a format_reader (catalog/format/format.hpp): what
// the read commands and the publisher (reading its previous revision) use
// to open a CernVM-FS repository — one stratum wrote or one cvmfs_server
// wrote (docs/FORMAT-cvmfs.md).
//
//   manifest:  `.cvmfspublished` mapped onto stratum's manifest: C -> root,
//              B -> root_size, S -> revision, T -> timestamp, H -> history,
//              X -> public_key (the certificate object). The signed text is
//              kept whole in parsed_manifest::signed_part.
//   trust:     the anchor is the master public key (PEM, canonical form:
//              `openssl rsa -pubout`'s); it must verify `.cvmfswhitelist`,
//              which must name the repository, be unexpired and list the
//              certificate that signed the manifest.
//   objects:   named by the digest of the stored bytes: checked before they
//              are inflated.
// Thread: any (immutable).
#pragma once

#include "catalog/format/cvmfs/digest.hpp"
#include "catalog/format/format.hpp"

namespace stratum::cvmfs {

// data/XX/<38 hex><alg suffix><type letter> (no letter for a file).
std::string object_key(const hash256& h, object_kind k, algorithm a);

// A reader for a repository whose objects are named with `a`.
std::unique_ptr<format_reader> make_reader(algorithm a);
// A reader for the repository whose `.cvmfspublished` is `manifest_text`:
// the algorithm is the root catalog's (C). Throws errc::corrupt when the
// text has no readable C line.
std::unique_ptr<format_reader> reader_for(byte_view manifest_text, const std::string& what);

}  // namespace stratum::cvmfs
