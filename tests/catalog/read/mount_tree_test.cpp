// The mount's tree and object cache (catalog/read/mount_tree.hpp,
// object_cache.hpp) on a crafted repository in a memory store: inode
// numbers (hardlinks share one, the root is 1), link counts, lookups and
// listings, a nested catalog loaded by the lookup of its mount point, the
// prefetch scan that continues below a listed directory; the cache fetching
// once, serving a later cache of the same directory, refetching a damaged
// copy, refusing a corrupted object, and its bound.
#include "catalog/read/mount_tree.hpp"
#include "catalog/read/object_cache.hpp"
#include "crafted.hpp"
#include "support.hpp"

#include <filesystem>

using namespace stratum;
using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

struct fixture_repo {
  asio::io_context io;
  asio::thread_pool cpu{1};
  asio::thread_pool blocking{2};
  std::unique_ptr<backend> store = make_memory_backend("mount");
  crafted_store s{io, *store};
  hash256 root, nested;
  std::unique_ptr<repository> repo;

  fixture_repo() {
    // "" holds f, the hardlinks h1 and h2, directory d (with d/x and d/e/z)
    // and the mount point n of a nested catalog holding n/y.
    for (const char* c : {"eff", "aitch", "ex", "zed", "why"}) s.object(c);
    auto ny = make_catalog("n", {dir_entry("n"), file_entry("n/y", "why")});
    ny.entries[0].nested_root = true;
    nested = s.put(ny);
    auto h1 = file_entry("h1", "aitch"), h2 = file_entry("h2", "aitch");
    h1.hardlink_group = h2.hardlink_group = 1;
    auto n = dir_entry("n");
    n.nested_root = true;
    root = s.put(make_catalog("", {dir_entry(""), dir_entry("d"), dir_entry("d/e"), file_entry("d/e/z", "zed"), file_entry("d/x", "ex"),
                                   file_entry("f", "eff"), h1, h2, n},
                              {{"n", nested, encode_catalog(ny).size()}}));
    s.publish(root);
    repo = run_io(io, [&] { return repository::open(*store, cpu, trust_options{}); });
  }
  ~fixture_repo() {
    cpu.join();
    blocking.join();
  }
};

std::optional<struct stat> look(fixture_repo& f, mount_tree& t, std::uint64_t parent, const std::string& name) {
  return run_io(f.io, [&] { return t.lookup(parent, name); });
}

}  // namespace

TEST_CASE("mount_tree: inodes, link counts, lookups, listings and a nested catalog loaded by its mount point's lookup") {
  fixture_repo f;
  mount_tree t(*f.repo, f.cpu);
  run_io(f.io, [&] { return t.show(*f.repo, f.root, 1); });
  CHECK(t.stats().catalogs_loaded == 1);
  const struct stat root = t.attr(mount_tree::root_ino);
  CHECK(root.st_ino == mount_tree::root_ino);
  CHECK(S_ISDIR(root.st_mode));
  CHECK(root.st_nlink == 4);  // 2 + d and n
  auto h1 = look(f, t, 1, "h1"), h2 = look(f, t, 1, "h2"), file = look(f, t, 1, "f");
  REQUIRE(h1);
  REQUIRE(h2);
  REQUIRE(file);
  CHECK(h1->st_ino == h2->st_ino);
  CHECK(h1->st_nlink == 2);
  CHECK(file->st_ino != h1->st_ino);
  CHECK(file->st_nlink == 1);
  CHECK(file->st_size == 3);
  CHECK_FALSE(look(f, t, 1, "nothing"));
  auto d = look(f, t, 1, "d");
  REQUIRE(d);
  CHECK(d->st_nlink == 3);  // 2 + d/e
  std::vector<std::string> names;
  for (auto& r : run_io(f.io, [&] { return t.list(d->st_ino); })) names.push_back(r.name);
  CHECK(names == std::vector<std::string>{"e", "x"});
  CHECK(t.path(d->st_ino) == "/d");
  // The nested catalog is read when its mount point is looked up.
  auto n = look(f, t, 1, "n");
  REQUIRE(n);
  CHECK(t.stats().catalogs_loaded == 2);
  CHECK(t.xattr(n->st_ino, "user.stratum.catalog") == f.nested.hex());
  auto y = look(f, t, n->st_ino, "y");
  REQUIRE(y);
  CHECK(t.path(y->st_ino) == "/n/y");
  CHECK(t.xattr(y->st_ino, "user.stratum.revision") == "1");
  CHECK(t.xattr(y->st_ino, "user.stratum.hash") == sha256(as_bytes(std::string("why"))).hex());
  CHECK(t.xattr_names(y->st_ino).empty());
  auto c = t.content(y->st_ino);
  REQUIRE(c->units.size() == 1);
  CHECK(c->units[0].size == 3);
  // Not a directory, not a link: the errors a file system gives.
  CHECK_THROWS_AS(run_io(f.io, [&] { return t.lookup(file->st_ino, "x"); }), std::system_error);
  CHECK_THROWS_AS(t.link(file->st_ino), std::system_error);
  CHECK_THROWS_AS(t.attr(999999), std::system_error);
}

TEST_CASE("mount_tree: the prefetch scan below a listed directory goes on where the listing above it stopped") {
  fixture_repo f;
  mount_tree t(*f.repo, f.cpu);
  run_io(f.io, [&] { return t.show(*f.repo, f.root, 1); });
  bool continued = true;
  auto all = t.small_files_below(mount_tree::root_ino, 1 << 20, 100, continued);
  CHECK_FALSE(continued);
  // d/e/z, d/x, f, h1, h2 in pre-order (n/y is in the nested catalog).
  CHECK(all.size() == 5);
  auto d = look(f, t, 1, "d");
  REQUIRE(d);
  auto below = t.small_files_below(d->st_ino, 1 << 20, 100, continued);
  CHECK(continued);
  CHECK(below.empty());
  // Two at a time: the next listing below continues after them.
  mount_tree u(*f.repo, f.cpu);
  run_io(f.io, [&] { return u.show(*f.repo, f.root, 1); });
  auto first = u.small_files_below(mount_tree::root_ino, 1 << 20, 2, continued);
  CHECK(first.size() == 2);
  auto d2 = look(f, u, 1, "d");
  auto rest = u.small_files_below(d2->st_ino, 1 << 20, 100, continued);
  CHECK(continued);
  CHECK(rest.empty());  // d's two files were the first two
}

TEST_CASE("object_cache: fetched once and verified, served to a later cache of the directory, a damaged copy fetched again, bounded") {
  fixture_repo f;
  temp_dir d;
  const hash256 eff = sha256(as_bytes(std::string("eff")));
  {
    object_cache c(*f.repo, f.blocking, d / "cache", 1 << 20);
    c.open();
    auto o = run_io(f.io, [&] { return c.get(eff, object_kind::file, 3); });
    char buf[16] = {};
    CHECK(::pread(o->fd(), buf, sizeof buf, 0) == 3 + 8);  // content and its CRC-64
    CHECK(std::string(buf, 3) == "eff");
    CHECK(c.stats().fetched == 1);
    run_io(f.io, [&] { return c.get(eff, object_kind::file, 3); });
    CHECK(c.stats().fetched == 1);
  }
  const std::string copy = d / ("cache/" + eff.hex().substr(0, 2) + "/" + eff.hex());
  REQUIRE(fs::file_size(copy) == 3 + 8);
  {
    object_cache c(*f.repo, f.blocking, d / "cache", 1 << 20);
    c.open();
    run_io(f.io, [&] { return c.get(eff, object_kind::file, 3); });
    CHECK(c.stats().fetched == 0);
    CHECK(c.stats().hits == 1);
  }
  std::string kept = read_file(copy);
  kept[1] ^= 1;
  write_file(copy, kept);
  {
    object_cache c(*f.repo, f.blocking, d / "cache", 1 << 20);
    c.open();
    auto o = run_io(f.io, [&] { return c.get(eff, object_kind::file, 3); });
    CHECK(c.stats().damaged == 1);
    CHECK(c.stats().fetched == 1);
    char buf[3] = {};
    CHECK(::pread(o->fd(), buf, 3, 0) == 3);
    CHECK(std::string(buf, 3) == "eff");
  }
  // A corrupted object in the store: refused, nothing kept.
  const hash256 ex = sha256(as_bytes(std::string("ex")));
  auto stored = run_io(f.io, [&] { return f.store->get(object_key(ex, object_kind::file), 0, 0); });
  REQUIRE(stored);
  stored->back() ^= 1;  // the zlib stream's checksum
  auto damaged = std::make_shared<const bytes>(*stored);
  run_io(f.io, [&] { return f.store->put(object_key(ex, object_kind::file), damaged); });
  {
    object_cache c(*f.repo, f.blocking, d / "cache", 1 << 20);
    c.open();
    CHECK_THROWS_AS(run_io(f.io, [&] { return c.get(ex, object_kind::file, 2); }), std::system_error);
    CHECK_FALSE(fs::exists(d / ("cache/" + ex.hex().substr(0, 2) + "/" + ex.hex())));
  }
  // A 6-byte bound keeps the last object used only.
  {
    object_cache c(*f.repo, f.blocking, d / "small", 6);
    c.open();
    for (const char* s : {"eff", "zed", "why"}) {
      const hash256 h = sha256(as_bytes(std::string(s)));  // (a coroutine's const& parameter: not a temporary)
      run_io(f.io, [&] { return c.get(h, object_kind::file, 3); });
    }
    CHECK(c.stats().bytes <= 6);
    CHECK(c.stats().evicted >= 1);
    CHECK(c.ready(sha256(as_bytes(std::string("why")))));
    CHECK_FALSE(c.ready(sha256(as_bytes(std::string("eff")))));
  }
}

TEST_CASE("object_cache: small objects packed (no file each), served to a later cache through the index, a whole pack evicted least recently used first") {
  fixture_repo f;
  temp_dir d;
  // 100 objects of 200 KB: 20 MB against a 16 MiB bound of 1 MiB packs.
  std::vector<hash256> hs;
  for (int i = 0; i < 100; ++i) hs.push_back(f.s.object(noise(200000, static_cast<unsigned>(i))));
  const std::uint64_t limit = 16 << 20;
  {
    object_cache c(*f.repo, f.blocking, d / "cache", limit);
    c.open();
    for (int i = 0; i < 10; ++i) {
      const hash256 h = hs[static_cast<std::size_t>(i)];
      auto o = run_io(f.io, [&] { return c.get(h, object_kind::file, 200000); });
      std::string back(200000, '\0');
      REQUIRE(::pread(o->fd(), back.data(), back.size(), static_cast<off_t>(o->offset)) == 200000);
      CHECK(back == noise(200000, static_cast<unsigned>(i)));
    }
    CHECK(c.stats().fetched == 10);
  }
  int own = 0, packs = 0;
  for (const auto& e : fs::recursive_directory_iterator(d / "cache"))
    if (e.is_regular_file()) own += e.path().filename().string().size() == 64, packs += e.path().extension() == ".pack";
  CHECK(own == 0);
  CHECK(packs == 2);  // five records of 200 KB fill a 1 MiB pack
  {
    object_cache c(*f.repo, f.blocking, d / "cache", limit);
    c.open();
    for (int i = 0; i < 10; ++i) {
      const hash256 h = hs[static_cast<std::size_t>(i)];
      run_io(f.io, [&] { return c.get(h, object_kind::file, 200000); });
    }
    CHECK(c.stats().fetched == 0);
    CHECK(c.stats().hits == 10);
    // Objects 0-4 are used again last; then 90 more fill the cache past
    // its bound: whole packs go, the least recently used first.
    for (int i = 0; i < 5; ++i) {
      const hash256 h = hs[static_cast<std::size_t>(i)];
      run_io(f.io, [&] { return c.get(h, object_kind::file, 200000); });
    }
    for (int i = 10; i < 100; ++i) {
      const hash256 h = hs[static_cast<std::size_t>(i)];
      run_io(f.io, [&] { return c.get(h, object_kind::file, 200000); });
      if (i == 90) {
        // 18 MB by now: the pack of 5-9 (used least recently) is gone whole.
        CHECK(c.stats().evicted >= 5);
        for (int j = 5; j < 10; ++j) CHECK_FALSE(c.ready(hs[static_cast<std::size_t>(j)]));
      }
    }
    CHECK(c.stats().bytes <= limit);
    CHECK(c.stats().evicted % 5 == 0);  // packs, not single objects
    CHECK(c.ready(hs[99]));
  }
  std::uintmax_t on_disk = 0;
  for (const auto& e : fs::directory_iterator(d / "cache/packs")) on_disk += e.file_size();
  CHECK(on_disk <= limit + (64 << 10));  // packs and their small indexes
}

TEST_CASE("object_cache: names in the pack directory it did not make are left alone, an orphan index and temporary files go") {
  fixture_repo f;
  temp_dir d;
  fs::create_directories(d / "cache/packs");
  for (const char* n : {"x.pack", "123456789012345678901234567890.pack", "7.idx", "3.idx.tmp", "notes.txt"}) write_file(d / ("cache/packs/" + std::string(n)), "?");
  object_cache c(*f.repo, f.blocking, d / "cache", 64 << 20);
  CHECK_NOTHROW(c.open());
  CHECK(fs::exists(d / "cache/packs/x.pack"));
  CHECK(fs::exists(d / "cache/packs/123456789012345678901234567890.pack"));
  CHECK(fs::exists(d / "cache/packs/notes.txt"));
  CHECK_FALSE(fs::exists(d / "cache/packs/7.idx"));      // its pack is gone
  CHECK_FALSE(fs::exists(d / "cache/packs/3.idx.tmp"));  // a killed index write
  const hash256 eff = sha256(as_bytes(std::string("eff")));
  auto o = run_io(f.io, [&] { return c.get(eff, object_kind::file, 3); });
  char buf[3] = {};
  CHECK(::pread(o->fd(), buf, 3, static_cast<off_t>(o->offset)) == 3);
  CHECK(std::string(buf, 3) == "eff");
}
