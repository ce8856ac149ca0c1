// The walk over a revision's catalogs (catalog/read/catalog_walk.hpp) on a
// crafted repository in a memory store: order, depth, weights and sizes, more
// siblings than are fetched at once, and a missing nested catalog.
#include "catalog/read/catalog_walk.hpp"
#include "crafted.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

namespace {

entry mount(std::string path) {
  auto e = dir_entry(std::move(path));
  e.nested_root = true;
  return e;
}

// Stores `c` (with the sizes of its nested references) and returns its reference at its root path.
nested_ref put(crafted_store& s, const catalog& c) { return {c.root_path, s.put(c), encode_catalog(c).size()}; }

struct built {
  hash256 root;
  std::map<std::string, hash256> hashes;      // by root path
  std::map<std::string, std::size_t> weights;  // entries of each, by root path
};

// "" holds a file and mounts "a" and "m0".."m9"; "a" mounts "a/x".
built build(crafted_store& s) {
  built b;
  auto keep = [&](const catalog& c) {
    auto r = put(s, c);
    b.hashes[c.root_path] = r.hash;
    b.weights[c.root_path] = c.entries.size();
    return r;
  };
  auto ax = keep(make_catalog("a/x", {dir_entry("a/x"), file_entry("a/x/1", "one"), file_entry("a/x/2", "two")}));
  auto a = keep(make_catalog("a", {dir_entry("a"), mount("a/x")}, {ax}));
  std::vector<entry> top = {dir_entry(""), mount("a")};
  std::vector<nested_ref> refs = {a};
  top.push_back(file_entry("f", "file"));
  for (int i = 0; i < 10; ++i) {
    const std::string p = "m" + std::to_string(i);
    std::vector<entry> es = {dir_entry(p)};
    for (int k = 0; k < i; ++k) es.push_back(file_entry(p + "/f" + std::to_string(k), "x"));
    refs.push_back(keep(make_catalog(p, std::move(es))));
    top.push_back(mount(p));
  }
  std::sort(top.begin(), top.end(), [](const entry& x, const entry& y) { return path_before(x.path, y.path); });
  std::sort(refs.begin(), refs.end(), [](const nested_ref& x, const nested_ref& y) { return path_before(x.path, y.path); });
  b.root = keep(make_catalog("", std::move(top), std::move(refs))).hash;
  s.publish(b.root);
  return b;
}

}  // namespace

TEST_CASE("walk_catalogs: every catalog once, in pre-order, with its depth, weight and the sizes of its object") {
  asio::io_context io;
  asio::thread_pool cpu(1);
  auto store = make_memory_backend("walk");
  crafted_store s(io, *store);
  const auto b = build(s);
  auto repo = run_io(io, [&] { return repository::open(*store, cpu, trust_options{}); });
  for (std::size_t siblings : {1, 3, 8, 100}) {
    CAPTURE(siblings);
    std::vector<catalog_row> rows;
    run_io(io, [&] { return walk_catalogs(*repo, b.root, [&](const catalog_row& r) { rows.push_back(r); }, siblings); });
    std::vector<std::string> paths;
    for (auto& r : rows) paths.push_back(r.path);
    CHECK(paths == std::vector<std::string>{"", "a", "a/x", "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"});
    for (auto& r : rows) {
      CAPTURE(r.path);
      CHECK(r.depth == (r.path.empty() ? 0u : r.path == "a/x" ? 2u : 1u));
      CHECK(r.hash == b.hashes.at(r.path));
      CHECK(r.weight == b.weights.at(r.path));
      CHECK(r.nested == (r.path.empty() ? 11u : r.path == "a" ? 1u : 0u));
      auto info = run_io(io, [&] { return store->stat(object_key(r.hash, object_kind::catalog)); });
      REQUIRE(info);
      CHECK(r.stored_size == info->size);
      auto plain = run_io(io, [&] { return repo->read_object(r.hash, object_kind::catalog, r.inflated_size); });
      CHECK(plain.size() == r.inflated_size);
    }
  }
  // A missing nested catalog ends the walk naming it. Siblings are fetched
  // two at a time here: m3 and m4 together, so m3's row is not reached.
  run_io(io, [&] { return store->remove(object_key(b.hashes.at("m4"), object_kind::catalog)); });
  std::vector<std::string> seen;
  const std::string missing = object_key(b.hashes.at("m4"), object_kind::catalog);
  CHECK_THROWS_WITH_AS(run_io(io, [&] { return walk_catalogs(*repo, b.root, [&](const catalog_row& r) { seen.push_back(r.path); }, 2); }),
                       doctest::Contains(missing.c_str()), std::system_error);
  CHECK(seen == std::vector<std::string>{"", "a", "a/x", "m0", "m1", "m2"});
  cpu.join();
}
