// The signed manifest (catalog/format/manifest.hpp).
#include "catalog/format/manifest.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

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
