// The rules every reader applies to a decoded catalog before it uses it,
// whatever the format that decoded it: what restore (or a mount) would refuse
// or get wrong, `check` reports first, because both go through here.
//
// Split of work: a format's decode_catalog checks what is bound to its bytes —
// paths that stay inside the destination, pre-order, parents, nested
// references against flagged mount points, and every number against the C++
// type it lands in (a uid above 2^32-1 must not become 0). The rules here are
// about what the entries mean, the same for every format:
//   * extended attributes: `user.*` names only, sorted and unique, sizes
//     Linux can set (a store must never hand out security.capability,
//     trusted.* or a system.posix_acl_access that rewrites a mode);
//   * uid/gid: not 2^32-1, which chown(2) reads as "leave unchanged";
//   * symlink targets restore can create exactly (no NUL, 1..4095 bytes);
//   * hardlink groups: one inode, so one type (never a directory) and one
//     content — restore links every name to the first one;
//   * a nested catalog: its root is the path it is mounted at, with the type
//     of the mount point's entry; a revision's root catalog is the root "".
// Thread: any (pure functions).
#pragma once

#include "catalog/format/catalog.hpp"

#include <string>
#include <string_view>

namespace stratum {

// True for a name restore may set: "user." and a non-empty rest, at most 255
// bytes (XATTR_NAME_MAX), no NUL. restore checks this again right before it
// calls fsetxattr, whatever the catalog said.
bool allowed_xattr_name(std::string_view name);

// Whether two entries can be names of one inode in a hardlink group: the
// same type and content (size, object or chunks, symlink target, rdev).
// Metadata may differ (a publish that raced a chmod); restore gives every
// name the first one's. The publisher groups only entries that agree.
bool same_inode_content(const entry& a, const entry& b);

// Checks the rules above that concern one catalog. Throws errc::corrupt whose
// message names `what` (the catalog's object), the entry and the rule.
void validate_catalog(const catalog& c, const std::string& what);

// Checks that `child` (the catalog object `what`) may be mounted at `mount`,
// the flagged directory entry of its parent catalog. Throws errc::corrupt.
void validate_mount(const entry& mount, const catalog& child, const std::string& what);

// Checks that `c` (the catalog object `what`) can be a revision's root
// catalog. Throws errc::corrupt.
void validate_root(const catalog& c, const std::string& what);

}  // namespace stratum
