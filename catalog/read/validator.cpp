// The catalog rules every reader applies (validator.hpp). Thread: any (pure
// functions).
#include "catalog/read/validator.hpp"

#include "async/error.hpp"

#include <map>

namespace stratum {
namespace {

// Linux's limits: XATTR_NAME_MAX, XATTR_SIZE_MAX, and a symlink target's
// PATH_MAX including its terminating NUL. A value restore cannot set is
// damage check reports, not a surprise at restore time.
constexpr std::size_t xattr_name_max = 255;
constexpr std::size_t xattr_value_max = 65536;
constexpr std::size_t link_target_max = 4095;
constexpr std::string_view user_prefix = "user.";
// chown(2) and fchown(2) read (uid_t)-1 as "leave it unchanged": no file can
// have this owner, and restoring it would keep whoever runs the restore.
constexpr std::uint32_t no_owner = 0xffffffff;

[[noreturn]] void bad(const std::string& what, const entry& e, const std::string& why) {
  fail(errc::corrupt, what + ": '" + e.path + "' " + why + "; the catalog is refused");
}

void validate_entry(const entry& e, const std::string& what) {
  for (std::size_t i = 0; i < e.xattrs.size(); ++i) {
    const auto& [name, value] = e.xattrs[i];
    if (!allowed_xattr_name(name))
      bad(what, e, "carries extended attribute '" + name + "', outside the user.* namespace a repository may hold");
    if (value.size() > xattr_value_max)
      bad(what, e, "carries extended attribute '" + name + "' of " + std::to_string(value.size()) + " bytes, more than Linux can set (64 KiB)");
    if (i > 0 && !(e.xattrs[i - 1].first < name)) bad(what, e, "has extended attributes that are not sorted and unique by name");
  }
  if (e.uid == no_owner || e.gid == no_owner) bad(what, e, "has owner 4294967295, which no file can have");
  if (e.mtime_nsec >= 1000000000) bad(what, e, "has an mtime with " + std::to_string(e.mtime_nsec) + " nanoseconds");
  if (e.nested_root && e.type != entry_type::directory) bad(what, e, "is a nested catalog's mount point but not a directory");
  if (e.type == entry_type::symlink &&
      (e.link_target.empty() || e.link_target.size() > link_target_max || e.link_target.find('\0') != std::string::npos))
    bad(what, e, "is a symlink whose target is empty, longer than 4095 bytes or holds a NUL byte");
}

}  // namespace

// Restore creates a group's first name and links the others to it, so a
// group that mixed a symlink with a regular file turned the file into a link
// to the symlink.
bool same_inode_content(const entry& a, const entry& b) {
  return a.type == b.type && a.size == b.size && a.object == b.object && a.chunks == b.chunks &&
         a.link_target == b.link_target && a.rdev == b.rdev;
}

bool allowed_xattr_name(std::string_view name) {
  return name.size() > user_prefix.size() && name.size() <= xattr_name_max && name.substr(0, user_prefix.size()) == user_prefix &&
         name.find('\0') == std::string_view::npos;
}

void validate_catalog(const catalog& c, const std::string& what) {
  std::map<std::uint32_t, const entry*> groups;  // group number -> its first entry
  for (const auto& e : c.entries) {
    validate_entry(e, what);
    if (e.hardlink_group == 0) continue;
    if (e.type == entry_type::directory) bad(what, e, "is a directory in hardlink group " + std::to_string(e.hardlink_group));
    auto [it, first] = groups.emplace(e.hardlink_group, &e);
    if (!first && !same_inode_content(*it->second, e))
      bad(what, e, "is in hardlink group " + std::to_string(e.hardlink_group) + " with '" + it->second->path +
                       "' but differs from it in type or content (one inode has one type and one content)");
  }
}

void validate_mount(const entry& mount, const catalog& child, const std::string& what) {
  if (child.root_path != mount.path)
    fail(errc::corrupt, what + " is mounted at '" + mount.path + "' but its root is '" + child.root_path +
                            "'; the nested catalog is refused");
  if (child.entries.empty() || child.entries.front().type != mount.type)
    fail(errc::corrupt, what + " is mounted at '" + mount.path + "', whose entry in the parent catalog is of another type than " +
                            "the nested catalog's root; the nested catalog is refused");
}

void validate_root(const catalog& c, const std::string& what) {
  if (!c.root_path.empty())
    fail(errc::corrupt, what + " is a revision's root catalog but says its root is '" + c.root_path + "'; the catalog is refused");
}

}  // namespace stratum
