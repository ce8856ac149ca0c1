// CernVM-FS hashes (catalog/format/cvmfs/digest.hpp) against values computed
// independently (Python's hashlib and struct, `openssl dgst`).
#include "support.hpp"

#include "catalog/format/cvmfs/digest.hpp"

#include <string>

using namespace stratum;
using namespace stratum::cvmfs;

TEST_CASE("cvmfs digests: sha1, rmd160 and shake128 (160 bits) of 'abc', with their suffixes") {
  const auto abc = as_bytes(std::string_view("abc"));
  CHECK(to_text(digest(abc, algorithm::sha1), algorithm::sha1) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(to_text(digest(abc, algorithm::rmd160), algorithm::rmd160) == "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc-rmd160");
  CHECK(to_text(digest(abc, algorithm::shake128), algorithm::shake128) == "5881092dd818bf5cf8a3ddb793fbcba74097d5c5-shake128");
  // Left-aligned in a hash256, the rest zero.
  auto h = digest(abc, algorithm::sha1);
  for (std::size_t i = digest_size; i < h.v.size(); ++i) CHECK(h.v[i] == 0);
  // In pieces, the same.
  digest_stream s(algorithm::shake128);
  s.update(as_bytes(std::string_view("a")));
  s.update(as_bytes(std::string_view("bc")));
  CHECK(s.finish() == digest(abc, algorithm::shake128));
}

TEST_CASE("cvmfs digests: text round trip, and what is not a digest") {
  for (auto a : {algorithm::sha1, algorithm::rmd160, algorithm::shake128}) {
    auto h = digest(as_bytes(std::string_view("x")), a);
    auto back = from_text(to_text(h, a));
    REQUIRE(back);
    CHECK(back->first == h);
    CHECK(back->second == a);
    CHECK(algorithm_named(algorithm_name(a)) == a);
  }
  CHECK(from_text("A9993E364706816ABA3E25717850C26C9CD0D89D"));
  CHECK(!from_text("a9993e364706816aba3e25717850c26c9cd0d89"));          // short
  CHECK(!from_text("a9993e364706816aba3e25717850c26c9cd0d89dX"));        // a type letter is not an algorithm
  CHECK(!from_text("g9993e364706816aba3e25717850c26c9cd0d89d"));
  CHECK(!from_text("a9993e364706816aba3e25717850c26c9cd0d89d-md5"));
  CHECK(!algorithm_named("md5"));
}

TEST_CASE("cvmfs path hashes: MD5 as two little-endian signed 64-bit integers") {
  // struct.unpack('<qq', hashlib.md5(path).digest())
  CHECK(md5_path("") == path_hash{338333539836370388, 9098107892288553193});
  CHECK(md5_path("/pkg/sub") == path_hash{-1773883814442982847, -632697872870638654});
}
