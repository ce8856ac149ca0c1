// End-to-end: what the read commands refuse from a store someone else can
// write to, with their exit codes — 1 for damaged content that check lists,
// 2 for a mistake in the command, 3 for a repository that cannot be read at
// all. The stores are crafted object by object (tests/support/crafted.hpp).
#include "crafted.hpp"
#include "support.hpp"

#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <sys/xattr.h>

using namespace stratum;
using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

// A local store written in process, read by the stratum binary with the
// crafting key pinned.
struct crafted_local {
  temp_dir d;
  asio::io_context io;
  asio::thread_pool blocking{2};
  std::string store_dir = d / "store";
  std::unique_ptr<backend> store = make_local_backend(store_dir, true, blocking);
  crafted_store craft{io, *store};
  crafted_local() { craft.save_key(d / "key"); }
  ~crafted_local() { blocking.join(); }
  run_result run(std::vector<std::string> args) {
    args.insert(args.begin() + 2, {"--pubkey", d / "key/stratum.pub"});
    return run_stratum(args);
  }
};

std::string le32(std::uint32_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)}; }
std::string le16(std::uint16_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8)}; }

// security.capability, VFS_CAP_REVISION_2 with the effective flag:
// cap_setuid=ep (CAP_SETUID is bit 7).
std::string setuid_capability() { return le32(0x02000001) + le32(1u << 7) + le32(0) + le32(0) + le32(0); }
// system.posix_acl_access, version 2: user, group and other rwx — the mode
// bits 0777 written through an ACL.
std::string acl_rwx_for_all() {
  std::string v = le32(2);
  for (std::uint16_t tag : {0x01, 0x04, 0x20}) v += le16(tag) + le16(7) + le32(0xffffffff);
  return v;
}

std::vector<std::string> xattr_names(const std::string& path) {
  char buf[4096];
  auto n = ::llistxattr(path.c_str(), buf, sizeof buf);
  std::vector<std::string> out;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(buf + i)) + 1) out.emplace_back(buf + i);
  return out;
}

}  // namespace

TEST_CASE("restore sets no capability, trusted or ACL attribute from a store, and check lists them") {
  crafted_local s;
  // The attributes sit in a nested catalog, so restore goes on with the rest
  // and the mount point it does restore can be looked at.
  auto sub = dir_entry("sub", 0755);
  sub.xattrs = {{"system.posix_acl_access", acl_rwx_for_all()}};
  auto acl_dir = dir_entry("sub/d", 0755);
  acl_dir.xattrs = sub.xattrs;
  auto f = file_entry("sub/f", "payload", 0755);
  f.xattrs = {{"security.capability", setuid_capability()}, {"trusted.x", "1"}};
  s.craft.object("payload");
  s.craft.object("good");
  const hash256 nested = s.craft.put(make_catalog("sub", {sub, acl_dir, f}));
  auto mount = dir_entry("sub", 0755);
  mount.nested_root = true;
  s.craft.publish(s.craft.put(make_catalog("", {dir_entry(""), file_entry("good", "good"), mount}, {{"sub", nested}})));

  auto check = s.run({"check", s.store_dir, "-i"});
  INFO(check.err);
  CHECK(check.code == 1);
  CHECK(check.err.find("sub: catalog data/") != std::string::npos);
  CHECK(check.err.find("outside the user.* namespace") != std::string::npos);

  // What a restored path must not have, if it was restored at all: a
  // restore had given the file cap_setuid=ep and trusted.x, and the ACL had
  // made the directory 0777.
  auto no_attributes = [](const std::string& path) {
    CAPTURE(path);
    for (auto& name : xattr_names(path)) CHECK(name.rfind("user.", 0) == 0);
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) CHECK((st.st_mode & 07777) == 0755);
  };
  const std::string dst = s.d / "dst";
  auto r = s.run({"restore", s.store_dir, dst});
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(read_file(dst + "/good") == "good");
  for (const char* p : {"/sub", "/sub/d", "/sub/f"}) no_attributes(dst + p);
  CHECK(fs::is_directory(dst + "/sub"));
  CHECK(fs::is_empty(dst + "/sub"));  // the nested catalog is refused whole

  // The same attributes in the root catalog: nothing can be restored (exit 3).
  auto top_f = f;
  top_f.path = "f";
  auto top_d = acl_dir;
  top_d.path = "d";
  s.craft.publish(s.craft.put(make_catalog("", {dir_entry(""), top_d, top_f})));
  CHECK(s.run({"check", s.store_dir}).code == 1);
  auto all = s.run({"restore", s.store_dir, s.d / "dst2"});
  CHECK(all.code == 3);
  CHECK(all.err.find("outside the user.* namespace") != std::string::npos);
  for (const char* p : {"/d", "/f"}) no_attributes(s.d / "dst2" + p);
  CHECK_FALSE(fs::exists(s.d / "dst2/f"));
}

TEST_CASE("check lists what restore refuses: nested catalogs at the wrong path, mixed hardlink groups") {
  crafted_local s;
  s.craft.object("x");
  const hash256 wrong = s.craft.put(make_catalog("elsewhere", {dir_entry("elsewhere"), file_entry("elsewhere/f", "x")}));
  auto mount = dir_entry("m");
  mount.nested_root = true;
  s.craft.publish(s.craft.put(make_catalog("", {dir_entry(""), mount}, {{"m", wrong}})));
  auto c = s.run({"check", s.store_dir, "-i"});  // had exited 0
  CHECK(c.code == 1);
  CHECK(c.err.find("is mounted at 'm' but its root is 'elsewhere'") != std::string::npos);
  auto r = s.run({"restore", s.store_dir, s.d / "dst"});
  CHECK(r.code == 1);
  CHECK(fs::is_empty(s.d / "dst/m"));

  auto link = symlink_entry("a", "target");
  auto file = file_entry("b", "x");
  link.hardlink_group = file.hardlink_group = 1;
  s.craft.publish(s.craft.put(make_catalog("", {dir_entry(""), link, file})));
  CHECK(s.run({"check", s.store_dir, "-i"}).code == 1);
  auto h = s.run({"restore", s.store_dir, s.d / "dst3"});  // had exited 0, 'b' a link to the symlink
  CHECK(h.code == 3);
  CHECK(h.err.find("hardlink group 1") != std::string::npos);
}

TEST_CASE("check's exit codes: a missing subtree is a usage error, a damaged history is a listed problem") {
  crafted_local s;
  s.craft.object("x");
  const hash256 root = s.craft.put(make_catalog("", {dir_entry(""), dir_entry("dir"), file_entry("dir/f", "x")}));
  s.craft.publish(root);
  CHECK(s.run({"check", s.store_dir, "-s", "dir"}).code == 0);
  auto missing = s.run({"check", s.store_dir, "-s", "NOSUCH"});  // had exited 0
  CHECK(missing.code == 2);
  CHECK(missing.err.find("no 'NOSUCH'") != std::string::npos);

  s.craft.publish(root, {}, std::string("not a history"));
  auto bad = s.run({"check", s.store_dir});  // had exited 3
  INFO(bad.err);
  CHECK(bad.code == 1);
  CHECK(bad.err.find("the history (tags, earlier revisions) is damaged") != std::string::npos);
  CHECK(s.run({"restore", s.store_dir, s.d / "dst"}).code == 0);
  CHECK(read_file(s.d / "dst/dir/f") == "x");
  CHECK(s.run({"restore", s.store_dir, s.d / "dst2", "--tag", "trunk"}).code == 3);

  // A public key object that is not the key: nothing in the store can be
  // verified, so nothing can be listed as damage either.
  s.craft.publish(root);
  auto manifest = read_file(s.store_dir + "/.stratumpublished");
  auto pos = manifest.find("public-key ") + 11;
  const std::string key_hex = manifest.substr(pos, 64);
  const std::string key_file = s.store_dir + "/data/" + key_hex.substr(0, 2) + "/" + key_hex + "X";
  REQUIRE(fs::exists(key_file));
  write_file(key_file, "not a key object");
  auto untrusted = s.run({"check", s.store_dir});
  CHECK(untrusted.code == 3);
  CHECK(untrusted.err.find(key_hex) != std::string::npos);
}
