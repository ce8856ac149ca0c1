// Content-defined chunking (io/chunker.hpp).
#include "io/chunker.hpp"
#include "support.hpp"


using namespace stratum;
using namespace stratum::test;

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
