// Object compression (io/compress.hpp): round trips, raw storage of what does
// not compress, and streams any zlib inflater reads.
#include "io/compress.hpp"
#include "support.hpp"


using namespace stratum;
using namespace stratum::test;

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
