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

TEST_CASE("the sizes of the root catalog and the history are signed lines after 'history', and optional") {
  auto key = signing_key::generate();
  manifest m{7, 1700000000, sha256(as_bytes("r")), sha256(as_bytes("h")), key.fingerprint()};
  m.root_size = 4242;
  m.history_size = 99;
  auto text = to_string(encode_manifest(m, key));
  CHECK(text.find("history " + m.history.hex() + "\nroot-catalog-size 4242\nhistory-size 99\npublic-key ") != std::string::npos);
  auto p = parse_manifest(as_bytes(text), "store");
  CHECK(p.m.root_size == 4242);
  CHECK(p.m.history_size == 99);
  CHECK(verify_signature(key.public_raw(), p.signed_part, p.signature));
  // Signed: a store cannot change them.
  auto edited = text;
  edited.replace(edited.find("size 4242"), 9, "size 4243");
  auto q = parse_manifest(as_bytes(edited), "store");
  CHECK_FALSE(verify_signature(key.public_raw(), q.signed_part, q.signature));

  // A manifest written before sizes were recorded has none.
  manifest old{7, 1700000000, sha256(as_bytes("r")), sha256(as_bytes("h")), key.fingerprint()};
  auto o = parse_manifest(encode_manifest(old, key), "store");
  CHECK_FALSE(o.m.root_size);
  CHECK_FALSE(o.m.history_size);

  // A size that is not all digits is refused, naming the store.
  for (std::string bad : {"root-catalog-size -1", "root-catalog-size 12x", "history-size ", "history-size 99999999999999999999999"}) {
    CAPTURE(bad);
    auto t = text;
    auto field = bad.substr(0, bad.find(' '));
    auto at = t.find(field + " ");
    t.replace(at, t.find('\n', at) - at, bad);
    expect_failure([&] { parse_manifest(as_bytes(t), "store S"); }, errc::corrupt, "store S: ", "bad '" + field + "'");
  }
}
