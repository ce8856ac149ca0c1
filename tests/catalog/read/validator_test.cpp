// The catalog rules every reader applies (catalog/read/validator.hpp): each
// rule on its own, then each broken rule in a crafted repository, where check
// must list it and restore must refuse it.
#include "catalog/read/validator.hpp"
#include "read_fixture.hpp"

#include <filesystem>
#include <sys/stat.h>

using namespace stratum;
using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

catalog with_file(entry f) { return make_catalog("", {dir_entry(""), std::move(f)}); }

// The failure of `f` as a message (empty when it did not throw errc::corrupt).
template <class F>
std::string refusal(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    if (is(e, errc::corrupt)) return e.what();
    return std::string("wrong error class: ") + e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("extended attribute names: user.* with a name, at most 255 bytes, no NUL") {
  CHECK(allowed_xattr_name("user.k"));
  CHECK(allowed_xattr_name("user." + std::string(250, 'a')));
  for (const std::string& bad : std::vector<std::string>{"security.capability", "trusted.x", "system.posix_acl_access", "user.", "User.k", "userk",
                          std::string("user.a\0b", 8), "user." + std::string(251, 'a')}) {
    CAPTURE(bad);
    CHECK_FALSE(allowed_xattr_name(bad));
  }
}

TEST_CASE("the validator names the catalog, the entry and the rule") {
  auto f = file_entry("f", "x");
  f.xattrs = {{"user.b", "1"}, {"user.a", "2"}};
  CHECK(refusal([&] { validate_catalog(with_file(f), "catalog K"); }).find("catalog K: 'f' has extended attributes that are not sorted") == 0);
  f.xattrs = {{"user.a", std::string(65537, 'v')}};
  CHECK(refusal([&] { validate_catalog(with_file(f), "K"); }).find("more than Linux can set") != std::string::npos);
  f.xattrs = {{"user.a", std::string(65536, 'v')}};
  CHECK(refusal([&] { validate_catalog(with_file(f), "K"); }).empty());
  f = file_entry("f", "x");
  f.gid = 0xffffffff;  // chown's "leave unchanged"
  CHECK(refusal([&] { validate_catalog(with_file(f), "K"); }).find("owner 4294967295") != std::string::npos);
  for (std::string target : {std::string(), std::string("a\0b", 3), std::string(4096, 'x')}) {
    CHECK(refusal([&] { validate_catalog(with_file(symlink_entry("l", target)), "K"); }).find("symlink whose target") != std::string::npos);
  }
  CHECK(refusal([&] { validate_catalog(with_file(symlink_entry("l", std::string(4095, 'x'))), "K"); }).empty());
}

TEST_CASE("a hardlink group is one inode: one type, never a directory, one content") {
  auto a = file_entry("a", "content"), b = file_entry("b", "content");
  a.hardlink_group = b.hardlink_group = 3;
  b.mode = 0600;  // metadata may differ: a publish that raced a chmod
  CHECK(refusal([&] { validate_catalog(make_catalog("", {dir_entry(""), a, b}), "K"); }).empty());
  auto other = file_entry("b", "other content");
  other.hardlink_group = 3;
  CHECK(refusal([&] { validate_catalog(make_catalog("", {dir_entry(""), a, other}), "K"); })
            .find("'b' is in hardlink group 3 with 'a' but differs from it in type or content") != std::string::npos);
  auto link = symlink_entry("b", "a");
  link.hardlink_group = 3;
  CHECK_FALSE(refusal([&] { validate_catalog(make_catalog("", {dir_entry(""), a, link}), "K"); }).empty());
  auto d = dir_entry("b");
  d.hardlink_group = 3;
  CHECK(refusal([&] { validate_catalog(make_catalog("", {dir_entry(""), a, d}), "K"); }).find("is a directory in hardlink group") != std::string::npos);
  // Linux can hard-link symlinks and FIFOs, and a publish records them so.
  auto l1 = symlink_entry("l1", "t"), l2 = symlink_entry("l2", "t");
  l1.hardlink_group = l2.hardlink_group = 1;
  CHECK(refusal([&] { validate_catalog(make_catalog("", {dir_entry(""), l1, l2}), "K"); }).empty());
  l2.link_target = "u";
  CHECK_FALSE(refusal([&] { validate_catalog(make_catalog("", {dir_entry(""), l1, l2}), "K"); }).empty());
}

TEST_CASE("a nested catalog fits its mount point: same root path, same type") {
  auto mount = dir_entry("a");
  mount.nested_root = true;
  auto child = make_catalog("a", {dir_entry("a")});
  CHECK(refusal([&] { validate_mount(mount, child, "catalog K"); }).empty());
  child.root_path = "b";
  CHECK(refusal([&] { validate_mount(mount, child, "catalog K"); }) ==
        "catalog K is mounted at 'a' but its root is 'b'; the nested catalog is refused");
  child = make_catalog("a", {file_entry("a", "")});  // no decoder makes this; a format might
  CHECK(refusal([&] { validate_mount(mount, child, "catalog K"); }).find("of another type") != std::string::npos);
  CHECK(refusal([&] { validate_root(make_catalog("x", {dir_entry("x")}), "catalog K"); }).find("says its root is 'x'") != std::string::npos);
}

TEST_CASE("an extended attribute outside user.* is listed by check and refused by restore") {
  read_fixture f;
  int n = 0;
  for (std::string name : {"security.capability", "trusted.x", "system.posix_acl_access", "user."}) {
    CAPTURE(name);
    auto file = file_entry("f", "data");
    file.xattrs = {{name, "v"}};
    f.publish(with_file(file), {"data"});
    auto r = f.check();
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].message.find("extended attribute '" + name + "', outside the user.* namespace") != std::string::npos);
    const std::string dest = f.d / ("dst" + std::to_string(n++));
    CHECK(refusal([&] { f.restore(dest); }).find(name) != std::string::npos);
    CHECK_FALSE(fs::exists(dest + "/f"));
  }
}

TEST_CASE("a hardlink group that mixes a symlink with a regular file is listed by check and refused by restore") {
  read_fixture f;
  auto link = symlink_entry("a", "target");
  auto file = file_entry("b", "content");
  file.hardlink_group = link.hardlink_group = 1;
  f.publish(make_catalog("", {dir_entry(""), link, file}), {"content"});
  auto r = f.check();
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message.find("'b' is in hardlink group 1 with 'a'") != std::string::npos);
  // restore had created the symlink 'a' and made the regular file 'b' a hard
  // link to it, without a problem.
  CHECK_FALSE(refusal([&] { f.restore(f.d / "dst"); }).empty());
  CHECK_FALSE(fs::exists(fs::symlink_status(f.d / "dst/b")));
}

TEST_CASE("owners and numbers out of range are listed by check and refused by restore") {
  read_fixture f;
  const std::uint64_t two32 = std::uint64_t(1) << 32;
  int n = 0;
  for (const auto& raw : {raw_fields{.uid = two32}, raw_fields{.gid = two32 - 1}, raw_fields{.mode = two32 + 0644},
                          raw_fields{.nsec = two32 + 1}, raw_fields{.flags = 1}}) {
    const int i = n++;
    CAPTURE(i);
    f.craft.publish(f.craft.object(to_string(raw_catalog(raw)), object_kind::catalog));
    auto r = f.check();
    CHECK(r.problems.size() == 1);
    const std::string dest = f.d / ("dst" + std::to_string(i));
    CHECK_FALSE(refusal([&] { f.restore(dest); }).empty());
    CHECK_FALSE(fs::exists(dest + "/p"));
  }
}

TEST_CASE("a nested catalog mounted at the wrong path is listed by check, and restore leaves the mount point empty") {
  read_fixture f;
  const hash256 sub = f.craft.put(make_catalog("b", {dir_entry("b"), file_entry("b/f", "nested")}));
  f.craft.object("nested");
  auto mount = dir_entry("a");
  mount.nested_root = true;
  f.publish(make_catalog("", {dir_entry(""), mount, file_entry("z", "top")}, {{"a", sub}}), {"top"});
  auto r = f.check();
  INFO(listed(r.problems));
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].path == "a");
  CHECK(r.problems[0].message.find("is mounted at 'a' but its root is 'b'") != std::string::npos);
  auto res = f.restore(f.d / "dst");
  INFO(listed(res.problems));
  REQUIRE(res.problems.size() == 1);
  CHECK(res.problems[0].path == "a");
  CHECK(fs::is_directory(f.d / "dst/a"));
  CHECK(fs::is_empty(f.d / "dst/a"));
  CHECK_FALSE(fs::exists(f.d / "dst/b"));
  CHECK(read_file(f.d / "dst/z") == "top");
}

TEST_CASE("one nested catalog mounted at two paths is listed by check, and restore fills only the one it fits") {
  read_fixture f;
  const hash256 sub = f.craft.put(make_catalog("a", {dir_entry("a"), file_entry("a/f", "nested")}));
  f.craft.object("nested");
  auto a = dir_entry("a"), b = dir_entry("b");
  a.nested_root = b.nested_root = true;
  f.publish(make_catalog("", {dir_entry(""), a, b}, {{"a", sub}, {"b", sub}}));
  auto r = f.check();
  INFO(listed(r.problems));
  REQUIRE(r.problems.size() == 1);  // was none: the second mount was never looked at
  CHECK(r.problems[0].path == "b");
  CHECK(r.problems[0].message.find("is mounted at 'b' and at 'a'") != std::string::npos);
  auto res = f.restore(f.d / "dst");
  REQUIRE(res.problems.size() == 1);
  CHECK(res.problems[0].path == "b");
  CHECK(read_file(f.d / "dst/a/f") == "nested");
  CHECK(fs::is_empty(f.d / "dst/b"));
}

TEST_CASE("a root catalog that says it is a subtree is listed by check and refused by restore") {
  read_fixture f;
  f.publish(make_catalog("x", {dir_entry("x"), file_entry("x/f", "data")}), {"data"});
  auto r = f.check();
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message.find("says its root is 'x'") != std::string::npos);
  CHECK_FALSE(refusal([&] { f.restore(f.d / "dst"); }).empty());
}

TEST_CASE("an entry below a symlink is refused: nothing is written where the symlink points") {
  read_fixture f;
  temp_dir outside;
  f.publish(make_catalog("", {dir_entry(""), symlink_entry("a", outside.path), file_entry("a/x", "escaped")}), {"escaped"});
  auto r = f.check();
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message.find("'a/x' has no parent directory") != std::string::npos);
  CHECK_FALSE(refusal([&] { f.restore(f.d / "dst"); }).empty());
  CHECK_FALSE(fs::exists(outside / "x"));
  CHECK(fs::is_empty(outside.path));
}
