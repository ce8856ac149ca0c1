// Content-defined chunk cuts (chunker.hpp). Thread: any (pure function; runs
// on the CPU pool).
#include "io/chunker.hpp"

#include <array>
#include <cstdint>

namespace stratum {
namespace {

// 256 pseudo-random 64-bit values (splitmix64 from a fixed seed): fixed
// forever, since changing them moves every cut and defeats de-duplication
// against older revisions.
constexpr std::array<std::uint64_t, 256> make_gear() {
  std::array<std::uint64_t, 256> g{};
  std::uint64_t x = 0x5374726174756dULL;  // "Stratum"
  for (auto& v : g) {
    x += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    v = z ^ (z >> 31);
  }
  return g;
}
constexpr auto gear = make_gear();

}  // namespace

std::size_t find_cut(byte_view data, const chunk_params& p) {
  const std::size_t n = data.size();
  if (n <= p.min) return n;
  const std::size_t end = std::min(n, p.max);
  // The gear hash forgets a byte after 64 shifts: start 64 bytes early so the
  // window is full at `min` and a cut depends only on the 64 bytes before it.
  std::size_t i = p.min >= 64 ? p.min - 64 : 0;
  std::uint64_t h = 0;
  for (; i < p.min; ++i) h = (h << 1) + gear[data[i]];
  const unsigned shift = 64 - p.bits;
  for (; i < end; ++i) {
    h = (h << 1) + gear[data[i]];
    if ((h >> shift) == 0) return i + 1;
  }
  return end;
}

}  // namespace stratum
