// Fuzz target: inflate_object and inflate_bounded (io/compress.hpp), which
// every object read from a store goes through: with the size a catalog or
// the manifest recorded, and of unknown size under a limit (catalogs and
// history of older repositories), measured and hashed before it is kept. Output is
// bounded at 1 MiB here so a decompression bomb costs the fuzzer nothing.
// Input: one control byte, then (sized form) 3 bytes of expected size, then
// the zlib stream. What inflates is deflated again at a level the control
// byte picks and must come back the same. Runs on the fuzzer's thread.
#include "fuzz.hpp"
#include "io/compress.hpp"

using namespace stratum;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t limit = std::size_t(1) << 20;
  if (size < 1) return 0;
  const std::uint8_t control = data[0];
  const bool sized = control & 1;
  const int level = (control >> 1) % 13;
  std::size_t expected = 0;
  std::size_t at = 1;
  if (sized) {
    if (size < 4) return 0;
    expected = (data[1] | data[2] << 8 | data[3] << 16) & (limit - 1);
    at = 4;
  }
  auto stream = fuzz::view(data + at, size - at);

  bytes plain;
  if (sized) {
    if (!fuzz::accepts([&] { plain = inflate_object(stream, expected, "fuzz"); })) return 0;
    fuzz::require(plain.size() == expected, "a sized inflate returned another size");
  } else {
    if (!fuzz::accepts([&] { plain = inflate_bounded(stream, limit, "fuzz"); })) return 0;
    fuzz::require(plain.size() <= limit, "an unsized inflate went past its limit");
    // Its first pass hashes what its second returns.
    fuzz::require(fuzz::accepts([&] { inflate_bounded(stream, limit, "fuzz", sha256(plain)); }),
                  "the bounded inflate refused the hash of its own output");
  }

  // Round trip through the writer's side, at the level the control byte
  // picked (1 is igzip, 2..12 libdeflate, 0 stored blocks).
  if (plain.size() > limit / 4) return 0;  // keeps the slow levels fast enough to fuzz
  auto packed = deflate_object(plain, compression{level});
  // Never worse than stored blocks: 5 bytes a 64 KiB block, 6 of framing.
  fuzz::require(packed.size() <= plain.size() + 5 * (plain.size() / 65535 + 1) + 6, "deflate_object grew the data");
  bytes back;
  fuzz::require(fuzz::accepts([&] { back = inflate_object(packed, plain.size(), "fuzz round trip"); }),
                "deflate_object wrote a stream that does not inflate to its size");
  fuzz::require(back == plain, "deflate then inflate changed the data");
  fuzz::require(fuzz::accepts([&] { back = inflate_bounded(packed, limit, "fuzz round trip"); }) && back == plain,
                "the unsized inflate of deflate_object's stream differs");
  fuzz::require(packed.size() <= max_stored_size(plain.size()), "deflate_object wrote more than max_stored_size");
  return 0;
}
