// Unit tests of the pure parts: codec, hashing, compression, chunking, the
// catalog/history/manifest encodings, names, and the budget.
#include "async/budget.hpp"
#include "async/error.hpp"
#include "catalog/catalog.hpp"
#include "catalog/history.hpp"
#include "catalog/manifest.hpp"
#include "cmd/cmd.hpp"
#include "io/chunker.hpp"
#include "io/compress.hpp"
#include "support.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <random>
#include <thread>

using namespace stratum;

namespace {
bytes random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 g(seed);
  bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(g());
  return b;
}

catalog sample_catalog() {
  catalog c;
  c.entries.push_back({.path = "", .type = entry_type::directory, .mode = 0755});
  c.entries.push_back({.path = "a", .type = entry_type::directory, .mode = 0700});
  entry f{.path = "a/f", .type = entry_type::regular, .mode = 04755, .uid = 7, .gid = 8, .size = 5, .mtime_sec = -3, .mtime_nsec = 999999999};
  f.object = sha256(as_bytes("hello"));
  f.xattrs = {{"user.k", "v"}};
  c.entries.push_back(f);
  c.entries.push_back({.path = "a-b", .type = entry_type::symlink, .size = 3, .link_target = "../"});
  c.stats.regular = 1;
  return c;
}
}  // namespace

TEST_CASE("varints and zigzag round-trip at the edges") {
  encoder e;
  std::vector<std::uint64_t> u = {0, 1, 127, 128, 300, UINT64_MAX};
  std::vector<std::int64_t> s = {0, -1, 1, INT64_MIN, INT64_MAX};
  for (auto v : u) e.varint(v);
  for (auto v : s) e.svarint(v);
  e.str(std::string("a\0b", 3));
  auto b = e.take();
  decoder d(b, "test");
  for (auto v : u) CHECK(d.varint() == v);
  for (auto v : s) CHECK(d.svarint() == v);
  CHECK(d.str() == std::string("a\0b", 3));
  CHECK(d.done());
  CHECK_THROWS_AS(d.u8(), std::system_error);
}

TEST_CASE("sha256 matches the FIPS 180-2 vector") {
  CHECK(sha256(as_bytes("abc")).hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  sha256_stream s;
  s.update(as_bytes("a"));
  s.update(as_bytes("bc"));
  CHECK(s.finish() == sha256(as_bytes("abc")));
  CHECK(hash256::from_hex(sha256(as_bytes("x")).hex()) == sha256(as_bytes("x")));
  CHECK_FALSE(hash256::from_hex("zz"));
}

TEST_CASE("hmac_sha256 matches the RFC 4231 vectors") {
  // Test case 1: a 20-byte key.
  CHECK(hmac_sha256(std::string(20, '\x0b')).sign("Hi There").hex() ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output.
  const hmac_sha256 jefe("Jefe");
  CHECK(jefe.sign("what do ya want for nothing?").hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // The same key signs again from its kept state.
  CHECK(jefe.sign("what do ya want for nothing?") == jefe.sign("what do ya want for nothing?"));
  // Test case 6: a key longer than the block is hashed first.
  CHECK(hmac_sha256(std::string(131, '\xaa')).sign("Test Using Larger Than Block-Size Key - Hash Key First").hex() ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("compression round-trips and stores incompressible data raw") {
  bytes text(100000, 'a');
  auto z = deflate_object(text, {1});
  CHECK(z.size() < 1000);
  CHECK(z[0] == 0x78);  // zlib header
  CHECK(inflate_object(z, text.size(), "x") == text);
  auto noise = random_bytes(100000, 1);
  auto raw = deflate_object(noise, {6});
  // Stored blocks: 5 bytes per 64 KiB block plus 6 bytes of zlib framing.
  CHECK(raw.size() <= noise.size() + 5 * 2 + 6);
  CHECK(inflate_object(raw, noise.size(), "x") == noise);
  CHECK(inflate_object(deflate_object(text, {0}), "x") == text);
  // A flipped byte or a wrong size is corruption, named by the object.
  z[z.size() / 2] ^= 0xff;
  CHECK_THROWS_WITH(inflate_object(z, text.size(), "object K"), doctest::Contains("object K"));
  CHECK_THROWS(inflate_object(deflate_object(text, {1}), text.size() - 1, "x"));
}

TEST_CASE("level 1 (igzip) and libdeflate's levels write zlib streams any inflater reads") {
  // Text-like data of sizes around the encoder's scratch buffer (1 MiB), on
  // both sides of the 4 KiB below which level 1 uses igzip's built-in
  // Huffman tables, and the tiny ones where compressing cannot pay.
  auto words = [](std::size_t n) {
    static const char* const vocabulary[] = {"stratum ", "publishes ", "a ", "tree\n", "of ", "files ", "into ", "stores "};
    std::string s;
    std::uint32_t x = 7;
    while (s.size() < n) s += vocabulary[(x = x * 1103515245 + 12345) >> 29];
    s.resize(n);
    return bytes(s.begin(), s.end());
  };
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(33), std::size_t(4000), std::size_t(4095),
                        std::size_t(4096), std::size_t(1) << 20,
                        (std::size_t(1) << 20) + 40, std::size_t(5) << 20}) {
    CAPTURE(n);
    auto data = words(n);
    for (int level : {1, 2, 9}) {
      CAPTURE(level);
      auto z = deflate_object(data, {level});
      CHECK(inflate_object(z, n, "x") == data);
      if (n >= 4000) CHECK(z.size() < n / 3);
    }
  }
  // Two threads at once, as the CPU pool runs it: every stream inflates to
  // its input (igzip's encodings vary from run to run; its content may not).
  std::vector<bytes> inputs;
  for (std::size_t i = 0; i < 400; ++i) {
    auto b = words(100 + i * 97 % 20000);
    b[i % b.size()] = static_cast<std::uint8_t>(i);
    inputs.push_back(std::move(b));
  }
  std::atomic<int> wrong{0};
  auto work = [&](std::size_t first) {
    for (std::size_t round = 0; round < 3; ++round)
      for (std::size_t i = first; i < inputs.size(); i += 1)
        if (inflate_object(deflate_object(inputs[i], {1}), inputs[i].size(), "x") != inputs[i]) ++wrong;
  };
  std::thread a(work, 0), b(work, 200);
  a.join();
  b.join();
  CHECK(wrong == 0);

  // Noise at level 1 is stored raw, like at libdeflate's levels.
  auto noise = random_bytes((std::size_t(3) << 20) + 5, 2);
  auto raw = deflate_object(noise, {1});
  CHECK(raw.size() <= noise.size() + 5 * 49 + 6);
  CHECK(inflate_object(raw, noise.size(), "x") == noise);
}

TEST_CASE("chunk cuts are bounded, deterministic and survive an insertion") {
  chunk_params p{.min = 4096, .max = 16384, .bits = 12};
  auto data = random_bytes(1 << 20, 2);
  auto cuts = [&](const bytes& d) {
    std::vector<bytes> out;
    for (std::size_t pos = 0; pos < d.size();) {
      auto n = find_cut(byte_view(d.data() + pos, std::min(p.max, d.size() - pos)), p);
      REQUIRE(n >= 1);
      if (pos + n < d.size()) CHECK((n >= p.min && n <= p.max));
      out.emplace_back(d.begin() + pos, d.begin() + pos + n);
      pos += n;
    }
    return out;
  };
  auto a = cuts(data);
  CHECK(a == cuts(data));
  bytes joined;
  for (auto& c : a) joined.insert(joined.end(), c.begin(), c.end());
  CHECK(joined == data);
  // Insert 100 bytes near the start: most chunks after it are unchanged.
  bytes edited = data;
  edited.insert(edited.begin() + 1000, 100, 7);
  auto b = cuts(edited);
  std::size_t shared = 0;
  for (auto& c : b) shared += std::count(a.begin(), a.end(), c);
  CHECK(shared + 3 >= a.size());
}

TEST_CASE("catalogs encode deterministically and decode to the same value") {
  auto c = sample_catalog();
  auto b1 = encode_catalog(c), b2 = encode_catalog(c);
  CHECK(b1 == b2);
  auto d = decode_catalog(b1, "cat");
  CHECK(d.entries == c.entries);
  CHECK(d.stats == c.stats);
  CHECK(encode_catalog(d) == b1);
  CHECK(object_key(sha256(b1), object_kind::catalog).size() == 5 + 3 + 64 + 1);
}

TEST_CASE("the catalog reader rejects names that would escape the destination") {
  for (std::string bad : {"..", "a/../../etc", "a//b", "/abs", "a/.", "."}) {
    auto c = sample_catalog();
    c.entries[2].path = bad;
    CAPTURE(bad);
    CHECK_THROWS_WITH(decode_catalog(encode_catalog(c), "cat X"), doctest::Contains("cat X"));
  }
  auto c = sample_catalog();
  std::swap(c.entries[1], c.entries[3]);  // out of order: child before parent
  CHECK_THROWS(decode_catalog(encode_catalog(c), "x"));
  auto t = encode_catalog(sample_catalog());
  t.pop_back();
  CHECK_THROWS(decode_catalog(t, "x"));
}

TEST_CASE("path order is pre-order with names by bytes") {
  CHECK(path_before("", "a"));
  CHECK(path_before("a", "a/b"));
  CHECK(path_before("a/b", "a-c"));  // a's subtree before its sibling a-c
  CHECK(path_before("a/z", "b"));
  CHECK_FALSE(path_before("b", "a/z"));
  CHECK(path_within("a/b", "a"));
  CHECK_FALSE(path_within("ab", "a"));
}

TEST_CASE("history keeps tags sorted and round-trips") {
  history h;
  h.set({"v2", sha256(as_bytes("2")), 2, 20, "second"});
  h.set({"trunk", sha256(as_bytes("1")), 1, 10, ""});
  h.set({"v2", sha256(as_bytes("3")), 3, 30, "moved"});
  h.revisions = {{1, sha256(as_bytes("1")), 10}, {3, sha256(as_bytes("3")), 30}};
  REQUIRE(h.tags.size() == 2);
  CHECK(h.tags[0].name == "trunk");
  auto d = decode_history(encode_history(h), "h");
  CHECK(d.tags == h.tags);
  CHECK(d.revisions == h.revisions);
  CHECK(d.find("v2")->revision == 3);
  CHECK_FALSE(valid_tag_name("../x"));
  CHECK_FALSE(valid_tag_name(""));
  CHECK(valid_tag_name("release-1.2_rc"));
}

TEST_CASE("manifests verify, and any edit breaks the signature") {
  auto key = signing_key::generate();
  manifest m{7, 1700000000, sha256(as_bytes("r")), sha256(as_bytes("h")), key.fingerprint()};
  auto text = encode_manifest(m, key);
  auto p = parse_manifest(text, "store");
  CHECK(p.m.revision == 7);
  CHECK(p.m.root == m.root);
  CHECK(verify_signature(key.public_raw(), p.signed_part, p.signature));
  auto s = to_string(text);
  s.replace(s.find("revision 7"), 10, "revision 8");
  auto q = parse_manifest(as_bytes(s), "store");
  CHECK_FALSE(verify_signature(key.public_raw(), q.signed_part, q.signature));
  CHECK_FALSE(verify_signature(signing_key::generate().public_raw(), p.signed_part, p.signature));
  CHECK_THROWS(parse_manifest(as_bytes("garbage"), "store"));
}

TEST_CASE("names are escaped for one-line display") {
  using stratum::cmd::escape_name;
  CHECK(escape_name("plain name") == "plain name");
  CHECK(escape_name("a\nb\tc\\") == "a\\nb\\tc\\\\");
  CHECK(escape_name("\xff-x") == "\\xff-x");
  CHECK(escape_name("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("budget serves waiters in order and never exceeds capacity") {
  asio::io_context io;
  budget b(io.get_executor(), 10);
  std::vector<int> order;
  std::size_t peak = 0;
  auto user = [&](int id, std::size_t n) -> awaitable<void> {
    auto l = co_await lease(b, n);
    peak = std::max(peak, b.in_use());
    order.push_back(id);
    asio::steady_timer t(io, std::chrono::milliseconds(1));
    co_await t.async_wait(use_awaitable);
  };
  for (int i = 0; i < 6; ++i) asio::co_spawn(io, user(i, i % 2 ? 7 : 3), asio::detached);
  asio::co_spawn(io, user(6, 100), asio::detached);  // clamped to capacity
  io.run();
  CHECK(order.size() == 7);
  CHECK(peak <= 10);
  CHECK(b.in_use() == 0);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
}
