// Hostile catalogs: each breaks one rule of the catalog validator and is
// re-signed with the repository's own key (as a new revision), so that no
// signature, hash or trust check can catch it — only the rule. The root
// catalog's cases stop every reader and check lists them; a nested
// catalog's stop what reads inside it. Nothing is ever restored with an
// attribute outside user.* or outside the destination (runner.hpp).
// Thread: the test's main thread.
#include "runner.hpp"

#include <algorithm>

using namespace stratum;
using namespace stratum::test;
using namespace stratum::test::hostile;

namespace {

entry& find_entry(catalog& c, const std::string& path) {
  auto it = std::find_if(c.entries.begin(), c.entries.end(), [&](const entry& e) { return e.path == path; });
  REQUIRE_MESSAGE(it != c.entries.end(), "no entry '" << path << "' in the genuine catalog");
  return *it;
}

std::string le32(std::initializer_list<std::uint32_t> words) {
  std::string s;
  for (auto w : words)
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(w >> (8 * i)));
  return s;
}

// struct vfs_cap_data, revision 2 (linux/capability.h): magic_etc =
// VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, then permitted and
// inheritable of capabilities 0-31 and 32-63. Permitted: CAP_SETUID (7) —
// a restored file with this is `cap_setuid=ep`.
std::string setuid_capability() { return le32({0x02000001, 1u << 7, 0, 0, 0}); }

// A POSIX ACL as system.posix_acl_access holds it (linux/posix_acl_xattr.h):
// version 2, then (tag u16, perm u16, id u32) sorted by tag: the owner, user
// 1000, the group, the mask and others, each rwx. Setting it makes the
// directory's mode 0777; being an extended ACL (a named user), it stays
// visible as an attribute, which the runner looks for.
std::string acl_0777() {
  auto entry = [](std::uint16_t tag, std::uint32_t id) {
    std::string s;
    for (std::uint16_t v : {tag, std::uint16_t(7)}) s += {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
    return s + le32({id});
  };
  constexpr std::uint32_t none = 0xffffffff;  // ACL_UNDEFINED_ID
  return le32({2}) + entry(0x01, none) + entry(0x02, 1000) + entry(0x04, none) + entry(0x10, none) + entry(0x20, none);
}

// LEB128 of 2^32 - 1 (which a uid or gid may be) and of 2^32 (which it may
// not): the same length, so the encoded catalog can be patched in place —
// the catalog struct holds 32 bits and cannot carry the larger value.
const bytes varint_u32_max = {0xff, 0xff, 0xff, 0xff, 0x0f};
const bytes varint_2_pow_32 = {0x80, 0x80, 0x80, 0x80, 0x10};

struct rule_case {
  std::string name;
  std::string mount;  // the catalog broken: "" the root, else a nested one
  std::function<void(crafted_store&, catalog&)> edit;
  std::function<void(bytes&)> patch = nullptr;
};

void run_rule(const rule_case& rc, const expectation& x) {
  crafted_store s(rc.name);
  seed_trust(s);
  auto key = s.resign_catalog(rc.mount, [&](catalog& c) { rc.edit(s, c); }, rc.patch);
  run_commands(s, {x, {{key}}});
}

}  // namespace

TEST_CASE("rule: xattr names outside user.* are refused, and never set on anything restored") {
  const std::vector<rule_case> root_cases = {
      {"trusted.x on a file", "", [](crafted_store&, catalog& c) { find_entry(c, "hello.txt").xattrs = {{"trusted.x", "y"}}; }},
      {"system.posix_acl_access (mode 0777) on a directory", "",
       [](crafted_store&, catalog& c) { find_entry(c, "dir").xattrs = {{"system.posix_acl_access", acl_0777()}}; }},
  };
  for (const auto& rc : root_cases) run_rule(rc, root_damaged());
  run_rule({"security.capability (cap_setuid=ep) on a file of a nested catalog", "sub",
            [](crafted_store&, catalog& c) { find_entry(c, "sub/inner.txt").xattrs = {{"security.capability", setuid_capability()}}; }},
           nested_damaged());
}

TEST_CASE("rule: uid and gid above 2^32-1 are refused, not restored as 0") {
  run_rule({"uid 2^32", "", [](crafted_store&, catalog& c) { find_entry(c, "hello.txt").uid = 0xffffffff; },
            [](bytes& b) { replace_once(b, varint_u32_max, varint_2_pow_32); }},
           root_damaged());
  // chown(2) reads 2^32-1 as "leave unchanged": a restore would keep root's.
  run_rule({"uid 2^32-1", "", [](crafted_store&, catalog& c) { find_entry(c, "hello.txt").uid = 0xffffffff; }}, root_damaged());
  run_rule({"gid 2^32 in a nested catalog", "sub", [](crafted_store&, catalog& c) { find_entry(c, "sub/inner.txt").gid = 0xffffffff; },
            [](bytes& b) { replace_once(b, varint_u32_max, varint_2_pow_32); }},
           nested_damaged());
}

TEST_CASE("rule: chunk sizes that add up to the file's size only modulo 2^64 are refused") {
  run_rule({"chunk sizes wrap around 2^64", "",
            [](crafted_store&, catalog& c) {
              auto& e = find_entry(c, "hello.txt");
              const hash256 h = *e.object;
              e.object.reset();
              e.chunks = {{std::uint64_t(1) << 63, h}, {(std::uint64_t(1) << 63) + e.size, h}};
            }},
           root_damaged());
}

TEST_CASE("rule: a hardlink group mixing a symlink and a regular file, or two contents, is refused") {
  // 'link' sorts before 'new.txt': restore would make the symlink first and
  // the regular file a hardlink to it.
  run_rule({"hardlink group of a symlink and a regular file", "",
            [](crafted_store&, catalog& c) {
              find_entry(c, "link").hardlink_group = 1000;
              find_entry(c, "new.txt").hardlink_group = 1000;
            }},
           root_damaged());
  // One inode has one content: restore would give hl2 hl1's.
  run_rule({"hardlink group of two contents", "",
            [](crafted_store&, catalog& c) {
              const entry hello = find_entry(c, "hello.txt");
              auto& hl2 = find_entry(c, "hl2");
              REQUIRE(hl2.hardlink_group != 0);
              hl2.size = hello.size;
              hl2.object = hello.object;
            }},
           root_damaged());
}

TEST_CASE("rule: a symlink target restore cannot create (longer than 4095 bytes) is refused") {
  run_rule({"symlink target of 5000 bytes", "",
            [](crafted_store&, catalog& c) {
              auto& link = find_entry(c, "link");
              link.link_target = std::string(5000, 'a');
              link.size = link.link_target.size();
            }},
           root_damaged());
}

TEST_CASE("rule: a file below a symlink that points outside the destination is refused") {
  run_rule({"symlink to the canary with a file below it", "",
            [](crafted_store& s, catalog& c) {
              const entry& hello = find_entry(c, "hello.txt");
              entry link;
              link.path = "esc";
              link.type = entry_type::symlink;
              link.mode = 0777;
              link.link_target = s.canary;
              link.size = s.canary.size();
              entry below = hello;
              below.path = "esc/x";
              auto at = std::find_if(c.entries.begin(), c.entries.end(), [](const entry& e) { return path_before("esc", e.path); });
              at = c.entries.insert(at, link);
              c.entries.insert(at + 1, below);
            }},
           root_damaged());
}

TEST_CASE("rule: a nested catalog mounted at the wrong path or at two paths is refused") {
  const auto& b = base();
  SUBCASE("swapped") {
    // Each catalog mounted once, each at the other's path.
    crafted_store s("nested catalogs swapped between their mount points");
    seed_trust(s);
    s.resign_catalog("", [](catalog& c) {
      REQUIRE(c.nested.size() == 2);
      std::swap(c.nested[0], c.nested[1]);
      std::swap(c.nested[0].path, c.nested[1].path);
    });
    run_commands(s, {nested_damaged("sub", "sub/inner.txt"), {{b.nested2_key}}});
  }
  SUBCASE("two paths") {
    // sub's catalog also mounted at sub2: reading below sub still works.
    crafted_store s("one nested catalog mounted at two paths");
    seed_trust(s);
    s.resign_catalog("", [](catalog& c) {
      REQUIRE(c.nested.size() == 2);
      c.nested[1] = c.nested[0];
      c.nested[1].path = "sub2";
    });
    run_commands(s, {nested_damaged("sub2", "sub2/other.txt"), {{b.nested_key}}});
  }
}
