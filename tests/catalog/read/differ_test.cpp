// The diff of two revisions (catalog/read/differ.hpp) on crafted catalogs in
// a memory store: what entry_changes tells apart, a nested catalog entered on
// one side only (the boundary moved), and equal nested catalogs not read.
#include "catalog/read/differ.hpp"
#include "read_fixture.hpp"

using namespace stratum;
using namespace stratum::test;

namespace {

std::string shown(const diff_result& d) {
  std::string s;
  for (const auto& c : d.changes) {
    s += char(c.kind) + std::string(" ") + c.path;
    for (auto& n : change_names(c.changes)) s += " " + n;
    s += "\n";
  }
  return s;
}

entry mount(std::string path) {
  auto e = dir_entry(std::move(path));
  e.nested_root = true;
  return e;
}

}  // namespace

TEST_CASE("entry_changes names each field that differs, and only those") {
  const entry f = file_entry("f", "abc");
  CHECK(entry_changes(f, f) == 0);
  auto g = f;
  g.object = sha256(as_bytes(std::string("abd")));
  CHECK(change_names(entry_changes(f, g)) == std::vector<std::string>{"content"});
  g.size = 4;
  CHECK(change_names(entry_changes(f, g)) == std::vector<std::string>{"content", "size"});
  g = f;
  g.mode = 0600;
  g.uid = 7;
  g.mtime_nsec = 1;
  g.xattrs = {{"user.a", ""}};
  CHECK(change_names(entry_changes(f, g)) == std::vector<std::string>{"mode", "owner", "mtime", "xattrs"});
  // The hard link group is the writer's number, not a property of the file.
  g = f;
  g.hardlink_group = 3;
  CHECK(entry_changes(f, g) == 0);
  // A type change implies content, size and target.
  auto l = symlink_entry("f", "x");
  l.mode = f.mode;
  l.mtime_sec = f.mtime_sec;
  CHECK(change_names(entry_changes(f, l)) == std::vector<std::string>{"type"});
  auto m = l;
  m.link_target = "y";
  CHECK(change_names(entry_changes(l, m)) == std::vector<std::string>{"target"});
}

TEST_CASE("diff: a directory that is a nested catalog on one side only compares as the same tree") {
  read_fixture fx;
  // A: sub/ is a nested catalog; B: the same tree in one catalog, with one
  // file changed and one added below sub/.
  auto sub_a = make_catalog("sub", {mount("sub"), file_entry("sub/x", "1"), file_entry("sub/y", "2")});
  auto hsub = fx.craft.put(sub_a);
  auto root_a = make_catalog("", {dir_entry(""), file_entry("a", "a"), mount("sub"), file_entry("z", "z")},
                             {{"sub", hsub, encode_catalog(sub_a).size()}});
  auto root_b = make_catalog("", {dir_entry(""), file_entry("a", "a"), dir_entry("sub"), file_entry("sub/x", "1"),
                                  file_entry("sub/y", "3"), file_entry("sub/y2", "n"), file_entry("z", "z")});
  auto ha = fx.craft.put(root_a), hb = fx.craft.put(root_b);
  fx.craft.publish(hb);
  auto repo = fx.open();
  auto d = run_io(fx.io, [&] { return diff(*repo, ha, hb); });
  CHECK(shown(d) == "M sub/y content\nA sub/y2\n");
  auto back = run_io(fx.io, [&] { return diff(*repo, hb, ha); });
  CHECK(shown(back) == "M sub/y content\nR sub/y2\n");
}

TEST_CASE("diff: a nested catalog both sides mount with one hash is not read") {
  read_fixture fx;
  auto sub = make_catalog("sub", {mount("sub"), file_entry("sub/x", "1")});
  // Never stored: reading it would fail with not_found.
  const hash256 missing = sha256(encode_catalog(sub));
  auto root_a = make_catalog("", {dir_entry(""), file_entry("a", "1"), mount("sub")}, {{"sub", missing, encode_catalog(sub).size()}});
  auto root_b = make_catalog("", {dir_entry(""), file_entry("a", "2"), mount("sub")}, {{"sub", missing, encode_catalog(sub).size()}});
  auto ha = fx.craft.put(root_a), hb = fx.craft.put(root_b);
  fx.craft.publish(hb);
  auto repo = fx.open();
  auto d = run_io(fx.io, [&] { return diff(*repo, ha, hb); });
  CHECK(shown(d) == "M a content\n");
  CHECK(d.catalogs_read == 2);
  CHECK(run_io(fx.io, [&] { return diff(*repo, ha, ha); }).catalogs_read == 0);
}
