// `.cvmfspublished` (catalog/format/cvmfs/manifest.hpp): the fields in
// CernVM-FS's order, the signature checked with `openssl dgst -sha1 -verify`,
// a manifest signed by the openssl command line verified, the chain through
// the whitelist, and every refusal.
#include "letter_parts.hpp"
#include "support.hpp"

#include "catalog/format/cvmfs/letter.hpp"
#include "catalog/format/cvmfs/manifest.hpp"

#include <string>

using namespace stratum;
using namespace stratum::cvmfs;
using namespace stratum::test;
using namespace std::chrono;

namespace {

const key_set& keys() {
  static const key_set k = key_set::generate("test.example.org");
  return k;
}

object_id id(std::string_view text) {
  const auto h = from_text(text);
  REQUIRE(h);
  return {h->first, h->second};
}

// The fields of a manifest cvmfs_server wrote (revision 2 of a test repository).
manifest reference() {
  manifest m;
  m.root_catalog = id("a0de21eb8efbe264af327f11997bcb59f319ee87");
  m.root_catalog_size = 57344;
  m.revision = 2;
  m.fqrn = "test.example.org";
  m.certificate = id("18339c417ab303a719757b279575508047f22abb");
  m.history = id("fecd95100c20ce5c6cb2314646ebd570dfffb73f");
  m.timestamp = 1796046955;
  m.reflog = id("ab1332937e5fab314e30de1b70c869b7502a5a7d");
  return m;
}
const std::string reference_text =
    "Ca0de21eb8efbe264af327f11997bcb59f319ee87\nB57344\nRd41d8cd98f00b204e9800998ecf8427e\nD240\nS2\nGno\nAno\n"
    "Ntest.example.org\nX18339c417ab303a719757b279575508047f22abb\nHfecd95100c20ce5c6cb2314646ebd570dfffb73f\nT1796046955\n"
    "Yab1332937e5fab314e30de1b70c869b7502a5a7d\n";

letter_parts split(const std::string& doc) { return split_letter(doc); }

}  // namespace

TEST_CASE("cvmfs manifest: the text of a cvmfs_server manifest, byte for byte, and a round trip") {
  CHECK(manifest_text(reference()) == reference_text);
  const auto doc = encode_manifest(reference(), *keys().repository);
  const auto p = split(doc);
  CHECK(p.text == reference_text);
  CHECK(p.hash == to_text(digest(as_bytes(reference_text), algorithm::sha1), algorithm::sha1));
  CHECK(p.signature.size() == 256);
  CHECK(verify_manifest(doc, keys().cert, "test.example.org") == reference());
  CHECK(parse_manifest(doc) == reference());
}

TEST_CASE("cvmfs manifest: every field, optional ones left out when unset") {
  manifest m;
  m.root_catalog = {digest(as_bytes(std::string_view("c")), algorithm::shake128), algorithm::shake128};
  m.ttl = 15;
  CHECK(manifest_text(m) == "C" + to_text(m.root_catalog) + "\nB0\nRd41d8cd98f00b204e9800998ecf8427e\nD15\nS0\nGno\nAno\n");
  m.garbage_collectable = m.alternative_path = true;
  m.micro_catalog = m.meta_info = object_id{digest(as_bytes(std::string_view("m")), algorithm::shake128), algorithm::shake128};
  m.fqrn = "test.example.org";
  m.certificate = m.history = m.reflog = m.root_catalog;
  m.timestamp = 1;
  m.revision = 18446744073709551615ull;
  const auto text = manifest_text(m);
  CHECK(text.find("\nGyes\nAyes\nL") != std::string::npos);
  CHECK(text.find("\nS18446744073709551615\n") != std::string::npos);
  const auto doc = encode_manifest(m, *keys().repository);
  // Hashed with the root catalog's algorithm, suffix and all.
  CHECK(split(doc).hash == to_text(digest(as_bytes(text), algorithm::shake128), algorithm::shake128));
  CHECK(verify_manifest(doc, keys().cert, "test.example.org") == m);
}

TEST_CASE("cvmfs manifest: openssl verifies the signature (SHA-1 of the hash text) with the certificate's key") {
  temp_dir t;
  const auto p = split(encode_manifest(reference(), *keys().repository));
  write_file(t / "crt", keys().cert.pem());
  write_file(t / "hash", p.hash);  // the signed bytes: the hex text, no newline
  write_file(t / "sig", p.signature);
  write_file(t / "text", p.text);
  shell("openssl x509 -in " + (t / "crt") + " -pubkey -noout > " + (t / "certpub"));
  CHECK(trim(shell("openssl dgst -sha1 -verify " + (t / "certpub") + " -signature " + (t / "sig") + " " + (t / "hash") + " 2>&1")) == "Verified OK");
  CHECK(trim(shell("openssl dgst -sha256 -verify " + (t / "certpub") + " -signature " + (t / "sig") + " " + (t / "hash") + " 2>&1")) != "Verified OK");
  CHECK(shell("sha1sum < " + (t / "text")).substr(0, 40) == p.hash);
}

TEST_CASE("cvmfs manifest: one signed by the openssl command line verifies") {
  temp_dir t;
  write_file(t / "key", keys().repository->private_pem());
  write_file(t / "text", reference_text);
  shell("set -e; cd " + t.path + "; h=$(sha1sum < text | cut -c1-40); echo -n $h > hash;"
        " openssl dgst -sha1 -sign key -out sig hash; { cat text; echo --; echo $h; cat sig; } > published");
  CHECK(verify_manifest(read_file(t / "published"), keys().cert, "test.example.org") == reference());
}

TEST_CASE("cvmfs manifest: master key -> whitelist -> certificate -> manifest") {
  const auto now = floor<seconds>(system_clock::now());
  const auto wl_doc = encode_whitelist(new_whitelist("test.example.org", keys().cert, algorithm::sha1, now), *keys().master);
  const rsa_key masters[] = {keys().master_public};
  const auto wl = verify_whitelist(wl_doc, "test.example.org", masters, now);
  const auto doc = encode_manifest(reference(), *keys().repository);
  // The X object is the certificate's PEM text; read back as a client reads it.
  const auto cert = certificate::from_pem(keys().cert.pem(), "the X object");
  CHECK(verify_manifest(doc, cert, wl) == reference());

  const auto other = key_set::generate("test.example.org");
  const auto forged = encode_manifest(reference(), *other.repository);
  expect_failure([&] { verify_manifest(forged, other.cert, wl); }, errc::corrupt, "the repository certificate (CN = test.example.org", "is not listed in the whitelist");
  expect_failure([&] { verify_manifest(forged, cert, wl); }, errc::corrupt,
                 "the manifest (.cvmfspublished) of 'test.example.org': its signature does not verify with the repository certificate", "another key");
}

TEST_CASE("cvmfs manifest: refusals") {
  auto signed_text = [&](const std::string& text) {
    return seal_letter(text, algorithm::sha1, [&](byte_view h) { return sign_sha1(*keys().repository, h); });
  };
  const std::string what = "the manifest (.cvmfspublished)";
  auto refused = [&](const std::string& doc, const std::string& prefix) {
    expect_failure([&] { verify_manifest(doc, keys().cert, "test.example.org"); }, errc::corrupt, prefix, "");
  };
  const std::string tail = "Ntest.example.org\n";
  SUBCASE("required lines") {
    for (char key : {'C', 'R', 'D', 'S'}) {
      CAPTURE(key);
      std::string text = reference_text;
      const auto at = text.find(std::string("\n") + key) + 1;
      text.erase(at, text.find('\n', at) + 1 - at);
      refused(signed_text(text), what + " has no " + std::string(1, key) + " line");
    }
  }
  SUBCASE("malformed values") {
    refused(signed_text("Cxyz\nRd41d8cd98f00b204e9800998ecf8427e\nD240\nS1\n" + tail), what + ": field C is not a hash ('xyz')");
    refused(signed_text("Ca0de21eb8efbe264af327f11997bcb59f319ee87\nRd41d8cd98f00b204e9800998ecf8427e\nD2x\nS1\n" + tail), what + ": field D is not a number");
    refused(signed_text("Ca0de21eb8efbe264af327f11997bcb59f319ee87\nRd41d8cd98f00b204e9800998ecf8427e\nD240\nS-1\n" + tail), what + ": field S is not a number");
    refused(signed_text("Ca0de21eb8efbe264af327f11997bcb59f319ee87\nRd41d8cd98f00b204e9800998ecf8427e\nD4294967296\nS1\n" + tail), what + ": field D is not a number");
    refused(signed_text("Ca0de21eb8efbe264af327f11997bcb59f319ee87\nR00000000000000000000000000000000\nD240\nS1\n" + tail),
            what + ": R is '00000000000000000000000000000000', not the root path's md5");
    refused(signed_text("Ca0de21eb8efbe264af327f11997bcb59f319ee87\nRd41d8cd98f00b204e9800998ecf8427e\nD240\nS1\nXnot-a-hash\n" + tail), what + ": field X is not a hash");
  }
  SUBCASE("another repository, or none named") {
    refused(signed_text("Ca0de21eb8efbe264af327f11997bcb59f319ee87\nRd41d8cd98f00b204e9800998ecf8427e\nD240\nS1\nNother.example.org\n"),
            what + " names repository 'other.example.org', not 'test.example.org'");
    refused(signed_text("Ca0de21eb8efbe264af327f11997bcb59f319ee87\nRd41d8cd98f00b204e9800998ecf8427e\nD240\nS1\n"),
            what + " has no N line; it must name 'test.example.org'");
  }
  SUBCASE("edited, re-hashed but not re-signed, or cut") {
    const auto doc = encode_manifest(reference(), *keys().repository);
    auto edited = doc;
    edited.replace(edited.find("S2\n"), 3, "S3\n");
    refused(edited, what + ": its text does not match the hash after '--'");
    auto text = reference_text;
    text.replace(text.find("S2\n"), 3, "S3\n");
    const auto rehashed = text + "--\n" + to_text(digest(as_bytes(text), algorithm::sha1), algorithm::sha1) + "\n" + split(doc).signature;
    refused(rehashed, what + " of 'test.example.org': its signature does not verify");
    CHECK(parse_manifest(rehashed).revision == 3);  // parse alone checks no signature: it says so
    refused(doc.substr(0, doc.size() - 256), what + " has no signature");
    refused(reference_text, what + " has no '--' line");
  }
}
