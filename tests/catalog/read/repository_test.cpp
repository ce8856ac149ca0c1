// Opening a repository (catalog/read/repository.hpp) from a store that may be
// hostile.
#include "catalog/format/manifest.hpp"
#include "catalog/read/repository.hpp"
#include "io/compress.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

TEST_CASE("a public key object that inflates beyond a key's size is refused before it is inflated whole") {
  asio::io_context io;
  asio::thread_pool cpu(1);
  auto store = make_memory_backend("key-bomb");
  auto key = signing_key::generate();
  // 64 MiB of zeros deflate to ~64 KiB; its hash is what the manifest names.
  bytes zeros(std::size_t(64) << 20, 0);
  const hash256 h = sha256(zeros);
  auto bomb = std::make_shared<const bytes>(deflate_object(zeros, {6}));
  manifest m{1, 0, sha256(as_bytes("root")), sha256(as_bytes("history")), h};
  run_io(io, [&]() -> awaitable<void> {
    co_await store->put(object_key(h, object_kind::public_key), bomb);
    co_await store->put(manifest_key, std::make_shared<const bytes>(encode_manifest(m, key)));
  });
  // Refused before it is even fetched whole: no zlib stream of 32 bytes is
  // 64 KiB long.
  CHECK_THROWS_WITH_AS(run_io(io, [&] { return repository::open(*store, cpu, trust_options{}); }),
                       doctest::Contains("is larger than any zlib stream of its 32-byte content"), std::system_error);
  // A stream short enough for 32 bytes that inflates to more stops at 32.
  run_io(io, [&]() -> awaitable<void> {
    co_await store->put(object_key(h, object_kind::public_key), std::make_shared<const bytes>(deflate_object(bytes(4096, 0), {6})));
  });
  CHECK_THROWS_WITH_AS(run_io(io, [&] { return repository::open(*store, cpu, trust_options{}); }),
                       doctest::Contains("does not inflate to the recorded 32 bytes"), std::system_error);
  cpu.join();
}

namespace {

// Forwards to a store and records the length of every get, to show what a
// reader asks for.
class recording_backend final : public backend {
 public:
  explicit recording_backend(backend& inner) : inner_(inner) {}
  std::map<std::string, std::uint64_t> asked;  // key -> length of the last get (0: whole)
  awaitable<void> put(std::string key, put_body body) override { return inner_.put(std::move(key), std::move(body)); }
  awaitable<std::optional<bytes>> get(std::string key, std::uint64_t offset, std::uint64_t length) override {
    asked[key] = length;
    return inner_.get(std::move(key), offset, length);
  }
  awaitable<std::optional<object_info>> stat(std::string key) override { return inner_.stat(std::move(key)); }
  awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit) override {
    return inner_.list(std::move(prefix), limit);
  }
  awaitable<void> remove(std::string key) override { return inner_.remove(std::move(key)); }
  awaitable<void> sync() override { return inner_.sync(); }
  std::string describe() const override { return inner_.describe(); }

 private:
  backend& inner_;
};

// A repository written by hand into a memory store, as a publisher (of this
// or an older version) or an attacker with write access would leave it.
struct crafted {
  asio::io_context io;
  asio::thread_pool cpu{1};
  std::unique_ptr<backend> mem;
  recording_backend store;
  signing_key key = signing_key::generate();
  explicit crafted(const std::string& name) : mem(make_memory_backend(name)), store(*mem) {}
  ~crafted() { cpu.join(); }

  void put(const std::string& k, bytes stored) {
    run_io(io, [&]() -> awaitable<void> { co_await store.put(k, std::make_shared<const bytes>(std::move(stored))); });
  }
  // Stores `content` as stratum does; returns its name.
  hash256 object(const bytes& content, object_kind kind) {
    auto h = sha256(content);
    put(object_key(h, kind), deflate_object(content, {6}));
    return h;
  }
  // The manifest of a revision with this root and an empty history.
  void publish(const hash256& root, std::optional<std::uint64_t> root_size) {
    auto hist = encode_history({});
    manifest m{1, 0, root, object(hist, object_kind::history), sha256(key.public_raw())};
    object(key.public_raw(), object_kind::public_key);
    m.root_size = root_size;
    if (root_size) m.history_size = hist.size();
    put(manifest_key, encode_manifest(m, key));
  }
  std::unique_ptr<repository> open(read_limits limits = {}) {
    return run_io(io, [&] { return repository::open(store, cpu, trust_options{}, nullptr, limits); });
  }
};

catalog directory_catalog(const std::string& root) {
  catalog c;
  c.root_path = root;
  c.entries.push_back({.path = root, .type = entry_type::directory, .mode = 0755});
  return c;
}

}  // namespace

TEST_CASE("a manifest larger than the limit is refused without being read whole") {
  crafted r("manifest-limit");
  r.publish(r.object(encode_catalog(directory_catalog("")), object_kind::catalog), std::nullopt);
  // The valid manifest with 64 KiB of comment lines in front of its signature.
  auto text = to_string(*run_io(r.io, [&] { return r.store.get(manifest_key, 0, 0); }));
  text.insert(text.find("signature "), std::string(manifest_max_size, '#'));
  r.put(manifest_key, bytes(text.begin(), text.end()));
  expect_failure([&] { r.open(); }, errc::corrupt, "mem:manifest-limit: .stratumpublished is larger than 65536 bytes", "");
  CHECK(r.store.asked[manifest_key] == manifest_max_size + 1);
}

TEST_CASE("a catalog without a recorded size is inflated under the limit, one with a size to exactly that size") {
  crafted r("catalog-bomb");
  // 8 MiB of zeros, ~8 KiB stored: not a catalog, but the name is checked
  // only once the content is whole, so the reader must stop before.
  bytes zeros(std::size_t(8) << 20, 0);
  const hash256 bomb = r.object(zeros, object_kind::catalog);
  const std::string key = object_key(bomb, object_kind::catalog);
  r.publish(bomb, std::nullopt);  // as an older publisher wrote it: no sizes
  auto repo = r.open({.max_catalog_size = std::uint64_t(1) << 20});
  expect_failure([&] { run_io(r.io, [&] { return repo->load_catalog(bomb); }); }, errc::corrupt, "object " + key,
                 "inflates to more than 1048576 bytes");
  // No more is fetched than a zlib stream of 1 MiB can take.
  CHECK(r.store.asked[key] == max_stored_size(std::uint64_t(1) << 20) + 1);

  // With the size recorded in the manifest, no more is fetched than a
  // stream of that size takes (the 8 KiB bomb is more)...
  r.publish(bomb, 1000);
  repo = r.open();
  expect_failure([&] { run_io(r.io, [&] { return repo->load_catalog(bomb); }); }, errc::corrupt, "mem:catalog-bomb: object " + key,
                 "is larger than any zlib stream of its 1000-byte content");
  CHECK(r.store.asked[key] == max_stored_size(1000) + 1);
  // ...and a smaller stream is inflated to exactly that size, no more.
  const hash256 small = r.object(bytes(std::size_t(1) << 20, 0), object_kind::catalog);
  r.publish(small, 1000);
  repo = r.open();
  expect_failure([&] { run_io(r.io, [&] { return repo->load_catalog(small); }); }, errc::corrupt,
                 "object " + object_key(small, object_kind::catalog), "does not inflate to the recorded 1000 bytes");
}

TEST_CASE("a stored object larger than any stream of its size is refused after fetching one byte more than that") {
  crafted r("stored-bound");
  auto content = encode_catalog(directory_catalog(""));
  const hash256 h = sha256(content);
  const std::string key = object_key(h, object_kind::catalog);
  r.publish(h, content.size());
  auto stored = deflate_object(content, {6});
  stored.resize(max_stored_size(content.size()) + 1000, 0);  // as a sparse 3 GiB object would be
  r.put(key, stored);
  auto repo = r.open();
  expect_failure([&] { run_io(r.io, [&] { return repo->load_catalog(h); }); }, errc::corrupt, "mem:stored-bound: object " + key,
                 "is larger than any zlib stream of its " + std::to_string(content.size()) + "-byte content");
  CHECK(r.store.asked[key] == max_stored_size(content.size()) + 1);
}

TEST_CASE("a repository an older version wrote (version-1 catalogs, no sizes) is still read") {
  crafted r("version-1");
  catalog sub = directory_catalog("sub");
  sub.entries.push_back({.path = "sub/f", .type = entry_type::symlink, .size = 1, .link_target = "x"});
  auto sub_bytes = encode_catalog(sub);
  catalog root = directory_catalog("");
  root.entries.push_back({.path = "sub", .type = entry_type::directory, .mode = 0755, .nested_root = true});
  root.nested.push_back({"sub", r.object(sub_bytes, object_kind::catalog), std::nullopt});
  auto root_bytes = encode_catalog(root);
  REQUIRE(root_bytes[16] == 1);
  r.publish(r.object(root_bytes, object_kind::catalog), std::nullopt);
  auto repo = r.open();
  CHECK_FALSE(repo->head().root_size);
  auto loc = run_io(r.io, [&] { return repo->find(repo->head().root, "sub/f"); });
  REQUIRE(loc.e);
  CHECK(loc.e->link_target == "x");
  // Read under the limit: the whole limit's worth of stored bytes asked for.
  CHECK(r.store.asked[object_key(sha256(sub_bytes), object_kind::catalog)] == max_stored_size(read_limits{}.max_catalog_size) + 1);

  // The same tree with sizes: the nested catalog is read at its size.
  crafted s("version-2");
  root.nested[0].size = sub_bytes.size();
  s.object(sub_bytes, object_kind::catalog);
  auto v2 = encode_catalog(root);
  s.publish(s.object(v2, object_kind::catalog), v2.size());
  auto repo2 = s.open();
  CHECK(repo2->head().root_size == v2.size());
  loc = run_io(s.io, [&] { return repo2->find(repo2->head().root, "sub/f"); });
  REQUIRE(loc.e);
  CHECK(s.store.asked[object_key(sha256(sub_bytes), object_kind::catalog)] == max_stored_size(sub_bytes.size()) + 1);
  CHECK(s.store.asked[object_key(sha256(v2), object_kind::catalog)] == max_stored_size(v2.size()) + 1);
}
