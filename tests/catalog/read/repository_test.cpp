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
  CHECK_THROWS_WITH_AS(run_io(io, [&] { return repository::open(*store, cpu, trust_options{}); }),
                       doctest::Contains("does not inflate to the recorded 32 bytes"), std::system_error);
  cpu.join();
}
