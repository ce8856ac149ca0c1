// Object compression (io/compress.hpp): round trips, raw storage of what does
// not compress, and streams any zlib inflater reads.
#include "io/compress.hpp"
#include "support.hpp"


using namespace stratum;
using namespace stratum::test;

namespace {
// Text that compresses well, the same on every run.
bytes words_of(std::size_t n) {
  auto s = big_text(n);
  return bytes(s.begin(), s.end());
}
}  // namespace

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
  CHECK(inflate_bounded(deflate_object(text, {0}), text.size(), "x") == text);
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

TEST_CASE("the bounded inflate returns the content up to exactly its limit, and checks its hash first") {
  auto text = words_of(300000);
  for (int level : {0, 1, 6}) {
    CAPTURE(level);
    auto z = deflate_object(text, {level});
    CHECK(inflate_bounded(z, text.size(), "object K") == text);  // exactly at the limit
    CHECK(inflate_bounded(z, text.size(), "object K", sha256(text)) == text);
    // One byte less is over the limit.
    expect_failure([&] { inflate_bounded(z, text.size() - 1, "object K"); }, errc::corrupt, "object K: ",
                   "inflates to more than 299999 bytes");
    // Content that is not what its name says is refused.
    expect_failure([&] { inflate_bounded(z, text.size(), "object K", sha256(as_bytes("other"))); }, errc::corrupt,
                   "object K: ", "content does not match its hash");
  }
  CHECK(inflate_bounded(deflate_object({}, {1}), 0, "e", sha256({})).empty());
}

TEST_CASE("the bounded inflate stops a bomb at its limit") {
  // 64 MiB of zeros deflate to ~64 KiB; under a 1 MiB limit the inflate
  // stops after at most one more piece (256 KiB), long before the end.
  // (The e2e test measures the memory of a reader facing a 1.5 GiB one.)
  bytes zeros(std::size_t(64) << 20, 0);
  const auto stream = deflate_object(zeros, {6});
  CHECK(stream.size() < zeros.size() / 500);
  zeros = {};
  expect_failure([&] { inflate_bounded(stream, std::size_t(1) << 20, "object B"); }, errc::corrupt, "object B: ",
                 "inflates to more than 1048576 bytes");
  CHECK(inflate_bounded(stream, std::size_t(64) << 20, "object B").size() == std::size_t(64) << 20);
}

TEST_CASE("the bounded inflate refuses a stream that is damaged, cut short or followed by other bytes") {
  auto text = words_of(100000);
  auto z = deflate_object(text, {6});
  auto flipped = z;
  flipped[flipped.size() / 2] ^= 0xff;
  // A flip either breaks the stream or changes the content: the hash tells.
  expect_failure([&] { inflate_bounded(flipped, text.size(), "object F", sha256(text)); }, errc::corrupt, "object F: ", "");
  expect_failure([&] { inflate_bounded(byte_view(z).first(z.size() - 10), text.size(), "object T"); }, errc::corrupt,
                 "object T: ", "truncated");
  auto longer = z;
  longer.push_back(0);
  expect_failure([&] { inflate_bounded(longer, text.size(), "object L"); }, errc::corrupt, "object L: ", "after its zlib stream");
  expect_failure([&] { inflate_bounded(as_bytes("not zlib at all"), 100, "object N"); }, errc::corrupt, "object N: ",
                 "not a valid zlib stream");
}

TEST_CASE("a stored object is never larger than max_stored_size of its content") {
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(4096), std::size_t(65535), std::size_t(65536),
                        std::size_t(3) << 20}) {
    CAPTURE(n);
    auto noise = random_bytes(n, 3);
    for (int level : {0, 1, 6, 12}) {
      CAPTURE(level);
      CHECK(deflate_object(noise, {level}).size() <= max_stored_size(n));
    }
  }
  CHECK(max_stored_size(UINT64_MAX) == UINT64_MAX);
}
