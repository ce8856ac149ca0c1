// SHA-256 and HMAC-SHA256 (io/sha256.hpp) against published vectors.
#include "io/sha256.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

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
