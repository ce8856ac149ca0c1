// A journal from a published revision (catalog/publish/journal_from_revision.hpp)
// and the catalog-only match rule (entry_record::same_as_catalog): what a
// record known by its catalog matches, what makes it unsure, and the merge
// with an existing journal (kept, replaced and removed records) across a
// nested catalog.
#include "catalog/publish/journal_from_revision.hpp"

#include "../read/read_fixture.hpp"

#include <sys/stat.h>

using namespace stratum;
using namespace stratum::test;

namespace {

constexpr std::int64_t published = 1700000000;  // long after the fixtures' mtimes (1600000000)

// What the walker would see of `e` on disk: the catalog's fields and what a
// catalog does not keep (device, inode, ctime, nlink, a directory's size).
pj::entry_record on_disk(const entry& e) {
  pj::entry_record r;
  r.st.mode = st_mode_type(e.type) | e.mode;
  r.st.uid = e.uid;
  r.st.gid = e.gid;
  r.st.size = e.type == entry_type::directory ? 4096 : e.size;
  r.st.mtime_sec = e.mtime_sec;
  r.st.mtime_nsec = e.mtime_nsec;
  r.st.dev = 2049;
  r.st.ino = 777;
  r.st.nlink = 3;
  r.st.ctime_sec = published + 100;
  r.xattrs = e.xattrs;
  r.link_target = e.link_target;
  return r;
}

std::optional<pj::entry_record> record(journal& j, const std::string& path) {
  auto key = pj::entry_key(path);
  auto v = j.get(key);
  if (!v) return std::nullopt;
  return pj::decode_entry(*v, key);
}

}  // namespace

TEST_CASE("a catalog-only record matches what the catalog keeps, never an unsure mtime") {
  entry f = file_entry("d/f", "content");
  f.mtime_nsec = 123456789;
  f.xattrs = {{"user.k", "v"}};
  const auto cat = record_from_catalog(f, true, published);
  CHECK(cat.catalog_only);
  CHECK(!cat.mtime_unsure);
  CHECK(cat.state == pj::file_state::done);
  CHECK(cat.object == f.object);
  const auto disk = on_disk(f);
  // Inode, device, ctime and nlink are not compared; both ways round.
  CHECK(cat.same_source(disk));
  CHECK(disk.same_source(cat));

  auto changed = disk;
  changed.st.mtime_nsec += 1;
  CHECK(!cat.same_source(changed));
  changed = disk;
  changed.st.size += 1;
  CHECK(!cat.same_source(changed));
  changed = disk;
  changed.st.mode = S_IFREG | 0600;
  CHECK(!cat.same_source(changed));
  changed = disk;
  changed.st.gid = 5;
  CHECK(!cat.same_source(changed));
  changed = disk;
  changed.xattrs.clear();
  CHECK(!cat.same_source(changed));
  changed = disk;
  changed.st.mode = S_IFLNK | 0644;
  CHECK(!cat.same_source(changed));

  // Unsure: seconds only (the format), or written within 2 s of the publish.
  CHECK(record_from_catalog(f, false, published).mtime_unsure);
  CHECK(!record_from_catalog(f, false, published).same_source(disk));
  CHECK(record_from_catalog(f, true, f.mtime_sec + 2).mtime_unsure);
  CHECK(!record_from_catalog(f, true, f.mtime_sec + 3).mtime_unsure);
  CHECK(!record_from_catalog(f, true, f.mtime_sec + 2).same_source(disk));

  // A directory's size is the file system's; a symlink compares its target.
  const entry d = dir_entry("d");
  CHECK(record_from_catalog(d, true, published).same_source(on_disk(d)));
  const entry l = symlink_entry("l", "target");
  auto ldisk = on_disk(l);
  CHECK(record_from_catalog(l, true, published).same_source(ldisk));
  ldisk.link_target = "other";
  CHECK(!record_from_catalog(l, true, published).same_source(ldisk));
}

TEST_CASE("entry records keep their flags, and records without them decode as before") {
  const entry f = file_entry("f", "abc");
  auto cat = record_from_catalog(f, false, published);
  auto back = pj::decode_entry(pj::encode_entry(cat), "ef");
  CHECK(back.catalog_only);
  CHECK(back.mtime_unsure);
  CHECK(back.object == f.object);
  // A strong record is encoded as versions before the flags did: one byte
  // shorter than the same record with flags.
  auto strong = cat;
  strong.catalog_only = strong.mtime_unsure = false;
  const auto v = pj::encode_entry(strong);
  CHECK(pj::encode_entry(cat).size() == v.size() + 1);
  CHECK(pj::encode_entry(cat).substr(0, v.size()) == v);
  auto old = pj::decode_entry(v, "ef");
  CHECK(!old.catalog_only);
  CHECK(!old.mtime_unsure);
  CHECK_THROWS(pj::decode_entry(v + std::string(1, '\0'), "ef"));
  CHECK_THROWS(pj::decode_entry(v + "\x04", "ef"));
}

TEST_CASE("journal_from_revision writes the tree across nested catalogs, keeps matching strong records, removes the rest") {
  read_fixture fx;
  auto mount = dir_entry("sub");
  mount.nested_root = true;
  const entry a = file_entry("a", "alpha"), x = file_entry("sub/x", "new x"), z = symlink_entry("z", "a");
  const auto sub = make_catalog("sub", {mount, x});
  const hash256 hsub = fx.craft.put(sub);
  const auto root = make_catalog("", {dir_entry(""), a, mount, z}, {{"sub", hsub, encode_catalog(sub).size()}});
  const hash256 hroot = fx.craft.put(root);
  fx.craft.publish(hroot);
  auto repo = fx.open();

  temp_dir state;
  auto j = journal::open(state.path);
  // What an earlier publish left: "a" as it is in the revision (strong: an
  // inode and ctime), "sub/x" with other content, and paths the revision
  // does not have, in both catalogs' ranges.
  auto strong_a = on_disk(a);
  strong_a.state = pj::file_state::done;
  strong_a.object = a.object;
  auto old_x = on_disk(file_entry("sub/x", "old x"));
  old_x.state = pj::file_state::done;
  old_x.object = sha256(as_bytes(std::string("old x")));
  auto gone = on_disk(dir_entry("gone"));
  for (auto& [path, r] : std::vector<std::pair<std::string, pj::entry_record>>{
           {"a", strong_a}, {"sub/x", old_x}, {"gone", gone}, {"gone/child", on_disk(file_entry("gone/child", "c"))},
           {"sub/old", on_disk(file_entry("sub/old", "o"))}})
    j->put(pj::entry_key(path), pj::encode_entry(r));

  revision_load_options o;
  o.run = 4;
  o.keep_matching = true;
  auto s = run_io(fx.io, [&] { return journal_from_revision(*repo, hroot, published, *j, o); });
  CHECK(s.catalogs == 2);
  CHECK(s.entries == 5);  // "", a, sub, sub/x, z
  CHECK(s.kept == 1);
  CHECK(s.removed == 3);

  auto ra = record(*j, "a");
  REQUIRE(ra);
  CHECK(!ra->catalog_only);
  CHECK(ra->st.ino == 777);
  auto rx = record(*j, "sub/x");
  REQUIRE(rx);
  CHECK(rx->catalog_only);
  CHECK(rx->object == x.object);
  for (const char* p : {"", "sub", "z"}) {
    auto r = record(*j, p);
    REQUIRE(r);
    CHECK(r->catalog_only);
  }
  CHECK(record(*j, "z")->link_target == "a");
  for (const char* p : {"gone", "gone/child", "sub/old"}) CHECK(!record(*j, p));
  // The objects the tree references are confirmed, with the run given.
  CHECK(j->get(pj::object_key(*a.object, object_kind::file)) == "0 4");
  CHECK(j->get(pj::object_key(*x.object, object_kind::file)) == "0 4");
  CHECK(j->get(pj::object_key(hroot, object_kind::catalog)) == "0 4");
  CHECK(j->get(pj::object_key(hsub, object_kind::catalog)) == "0 4");
  CHECK(!j->get(pj::object_key(*old_x.object, object_kind::file)));

  // Without keep_matching every entry record is the catalog's.
  o.keep_matching = false;
  s = run_io(fx.io, [&] { return journal_from_revision(*repo, hroot, published, *j, o); });
  CHECK(s.kept == 0);
  CHECK(s.removed == 0);
  CHECK(record(*j, "a")->catalog_only);
}
