// The `xattr` column of a CernVM-FS catalog row: the extended attributes of
// one entry packed as CernVM-FS's XattrList serializes them — byte version
// (1), byte count, then per attribute, sorted by name bytewise: byte name
// length, byte value length, the name, the value. The one-byte lengths cap
// names and values at 255 bytes and the count at 255 attributes; names are
// not empty and hold no NUL. An entry without attributes has NULL there,
// never an empty list. Thread: any (pure functions).
#pragma once

#include "io/file_stat.hpp"
#include "io/io.hpp"

#include <string>

namespace stratum::cvmfs {

// `xattrs` sorted by name (as stratum's entries keep them); an empty list
// gives an empty blob (the caller writes NULL). Throws errc::usage naming
// `path` for what the format cannot hold.
bytes pack_xattrs(const xattr_list& xattrs, const std::string& path);

// Throws errc::corrupt naming `what` for anything pack_xattrs could not
// have written (wrong version, short, trailing bytes, empty or repeated
// names, names out of order). Returns the list sorted by name.
xattr_list unpack_xattrs(byte_view blob, const std::string& what);

}  // namespace stratum::cvmfs
