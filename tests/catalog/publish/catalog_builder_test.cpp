// Catalogs from the journal (catalog/publish/catalog_builder.hpp): nested
// catalogs at marker files, hardlink groups, totals, and a catalog this run
// built already taken from its record.
#include "catalog/publish/catalog_builder.hpp"
#include "catalog/publish/catalog_layout.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/read/validator.hpp"
#include "io/compress.hpp"
#include "stage_fixture.hpp"

#include <sys/stat.h>

using namespace stratum;
using namespace stratum::test;

namespace {

void record(stage_fixture& f, const std::string& path, std::uint32_t mode, std::uint64_t ino, const std::string& content = "") {
  pj::entry_record r;
  r.st.mode = mode;
  r.st.dev = 1;
  r.st.ino = ino;
  r.st.size = content.size();
  r.listed_run = S_ISDIR(mode) ? f.run.fixed().run : 0;
  if (S_ISREG(mode) && !content.empty()) {
    r.state = pj::file_state::done;
    r.object = sha256(as_bytes(content));
  }
  f.j->put(pj::entry_key(path), pj::encode_entry(r));
}

bytes fetch_content(stage_fixture& f, const hash256& h) {
  auto stored = run_io(f.io, [&] { return f.store->get(f.fmt->object_key(h, object_kind::catalog)); });
  REQUIRE(stored);
  return inflate_bounded(*stored, std::size_t(1) << 20, "catalog");
}

catalog fetch(stage_fixture& f, const hash256& h) { return decode_catalog(fetch_content(f, h), "catalog"); }

}  // namespace

TEST_CASE("catalogs are built from the journal, nested ones at their markers, with hardlink groups and totals") {
  stage_fixture f;
  record(f, "", S_IFDIR | 0755, 1);
  record(f, "h1", S_IFREG | 0644, 7, "same inode");
  record(f, "h2", S_IFREG | 0644, 7, "same inode");
  record(f, "sub", S_IFDIR | 0755, 2);
  record(f, "sub/.stratumcatalog", S_IFREG | 0644, 3);
  record(f, "sub/file", S_IFREG | 0644, 4, "in the nested catalog");
  plan_catalogs(*f.j, f.run.fixed().run, {}, *f.fmt);
  catalog_builder b(f.run, *f.sink, *f.fmt, f.cpu, f.stats);
  auto top = run_io(f.io, [&] { return b.build(""); });
  CHECK(f.stats.catalogs == 2);
  CHECK(top.stats.regular == 4);  // h1, h2, the marker and sub/file
  CHECK(top.stats.directories == 2);
  CHECK(top.stats.nested == 1);
  auto root = fetch(f, top.h);
  REQUIRE(root.nested.size() == 1);
  CHECK(root.nested[0].path == "sub");
  REQUIRE(root.entries.size() == 4);  // "", h1, h2, sub (its contents are nested)
  CHECK(root.entries[1].hardlink_group == 1);
  CHECK(root.entries[2].hardlink_group == 1);
  CHECK(root.entries[3].nested_root);
  auto sub = fetch(f, root.nested[0].hash);
  CHECK(sub.root_path == "sub");
  CHECK(sub.entries.size() == 3);
  // The sizes readers inflate exactly: the root's for the manifest, the
  // nested one's in its reference.
  CHECK(top.size == fetch_content(f, top.h).size());
  CHECK(root.nested[0].size == fetch_content(f, root.nested[0].hash).size());

  // Built again in the same run: taken from the journal, nothing stored.
  auto stored_before = f.stats.objects_stored;
  catalog_builder again(f.run, *f.sink, *f.fmt, f.cpu, f.stats);
  auto same = run_io(f.io, [&] { return again.build(""); });
  CHECK(same.h == top.h);
  CHECK(same.size == top.size);
  CHECK(f.stats.objects_stored == stored_before);

  // A record an older version wrote has no size: that catalog is built
  // again (to the same bytes), not taken with an unknown size.
  auto old = pj::decode_catalog_record(*f.j->get(pj::catalog_key("")), "ck");
  old.size = 0;
  f.j->put(pj::catalog_key(""), pj::encode_catalog_record(old));
  const auto catalogs_before = f.stats.catalogs;
  catalog_builder rebuilt(f.run, *f.sink, *f.fmt, f.cpu, f.stats);
  auto again_built = run_io(f.io, [&] { return rebuilt.build(""); });
  CHECK(again_built.h == top.h);
  CHECK(again_built.size == top.size);
  CHECK(f.stats.catalogs == catalogs_before + 2);
}

TEST_CASE("a file the run never read stops the catalogs") {
  stage_fixture f;
  record(f, "", S_IFDIR | 0755, 1);
  pj::entry_record pending;
  pending.st.mode = S_IFREG | 0644;
  pending.st.size = 5;
  pending.state = pj::file_state::pending;
  f.j->put(pj::entry_key("unread"), pj::encode_entry(pending));
  catalog_builder b(f.run, *f.sink, *f.fmt, f.cpu, f.stats);
  CHECK_THROWS_WITH_AS(run_io(f.io, [&] { return b.build(""); }), doctest::Contains("'unread' was never read"), std::system_error);
}

TEST_CASE("names of one inode recorded with different content are not one hardlink group") {
  // The file changed between the reads of its names: each name's record has
  // the content it was read with. Grouped, a reader refuses the catalog
  // (catalog/read/validator.hpp); apart, each name is a file of its own.
  stage_fixture f;
  record(f, "", S_IFDIR | 0755, 1);
  record(f, "a", S_IFREG | 0644, 7, "before");
  record(f, "b", S_IFREG | 0644, 7, "after");
  record(f, "c", S_IFREG | 0644, 7, "before");
  record(f, "d", S_IFIFO | 0644, 7);  // an inode is one type: a FIFO record is stale too
  record(f, "e", S_IFREG | 0644, 8, "after");
  record(f, "g", S_IFREG | 0644, 8, "after");
  catalog_builder b(f.run, *f.sink, *f.fmt, f.cpu, f.stats);
  auto root = fetch(f, run_io(f.io, [&] { return b.build(""); }).h);
  REQUIRE(root.entries.size() == 7);
  CHECK(root.entries[1].hardlink_group == 1);  // a and c: the same content
  CHECK(root.entries[2].hardlink_group == 0);  // b had been put in group 1
  CHECK(root.entries[3].hardlink_group == 1);
  CHECK(root.entries[4].hardlink_group == 0);
  CHECK(root.entries[5].hardlink_group == 2);  // numbered in catalog order
  CHECK(root.entries[6].hardlink_group == 2);
  CHECK_NOTHROW(validate_catalog(root, "catalog"));
}
