// The primitive encodings every object uses (catalog/format/codec.hpp).
#include "catalog/format/codec.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

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
