// `.cvmfswhitelist` (catalog/format/cvmfs/whitelist.hpp): the exact text,
// the signature checked with `openssl pkeyutl` and the fingerprint with
// `openssl x509 -fingerprint`, a whitelist made by cvmfs_server's own openssl
// commands verified, and every refusal.
#include "letter_parts.hpp"
#include "support.hpp"

#include "catalog/format/cvmfs/letter.hpp"
#include "catalog/format/cvmfs/whitelist.hpp"

#include <string>
#include <vector>

using namespace stratum;
using namespace stratum::cvmfs;
using namespace stratum::test;
using namespace std::chrono;

namespace {

// 2026-11-30 13:51:21 UTC, and the set made once (RSA key generation is slow).
const sys_seconds now = sys_days{year{2026} / 11 / 30} + hours{13} + minutes{51} + seconds{21};
const key_set& keys() {
  static const key_set k = key_set::generate("test.example.org");
  return k;
}

letter_parts split(const std::string& doc) { return split_letter(doc); }

}  // namespace

TEST_CASE("cvmfs whitelist: the text cvmfs_server writes, round trip") {
  const auto w = new_whitelist("test.example.org", keys().cert, algorithm::sha1, now);
  CHECK(w.expires == now + days{30});
  const auto doc = encode_whitelist(w, *keys().master);
  const auto p = split(doc);
  CHECK(p.text == "20261130135121\nE20261230135121\nNtest.example.org\n" + keys().cert.fingerprint(algorithm::sha1) + "\n");
  CHECK(p.hash == to_text(digest(as_bytes(p.text), algorithm::sha1), algorithm::sha1));
  CHECK(p.signature.size() == 256);

  const rsa_key masters[] = {keys().master_public};
  const auto back = verify_whitelist(doc, "test.example.org", masters, now);
  CHECK(back.created == w.created);
  CHECK(back.expires == w.expires);
  CHECK(back.fqrn == "test.example.org");
  CHECK(back.fingerprints == w.fingerprints);
  CHECK_NOTHROW(check_listed(back, keys().cert));
}

TEST_CASE("cvmfs whitelist: openssl verifies the signature, the hash and the fingerprint") {
  temp_dir t;
  const auto doc = encode_whitelist(new_whitelist("test.example.org", keys().cert, algorithm::sha1, now), *keys().master);
  const auto p = split(doc);
  write_file(t / "pub", keys().master_public.public_pem());
  write_file(t / "crt", keys().cert.pem());
  write_file(t / "text", p.text);
  write_file(t / "hash", p.hash);  // the signed bytes: the hex text, no newline
  write_file(t / "sig", p.signature);
  // Raw PKCS#1 v1.5, no digest: pkeyutl without -digest, and rsautl prints the hash back.
  CHECK(trim(shell("openssl pkeyutl -verify -pubin -inkey " + (t / "pub") + " -sigfile " + (t / "sig") + " -in " + (t / "hash") + " 2>&1")) ==
        "Signature Verified Successfully");
  CHECK(shell("openssl pkeyutl -verifyrecover -pubin -inkey " + (t / "pub") + " -in " + (t / "sig") + " 2>/dev/null") == p.hash);
  CHECK(shell("sha1sum < " + (t / "text")).substr(0, 40) == p.hash);
  const auto fingerprint = trim(shell("openssl x509 -in " + (t / "crt") + " -noout -fingerprint -sha1 | cut -d= -f2"));
  CHECK(fingerprint + "\n" == p.text.substr(49));
}

TEST_CASE("cvmfs whitelist: one made with cvmfs_server's openssl commands verifies") {
  // server/cvmfs_server_ssl.sh create_whitelist, with `cvmfs_publish hash`
  // replaced by sha1sum and openssl's fingerprint.
  temp_dir t;
  write_file(t / "masterkey", keys().master->private_pem());
  write_file(t / "crt", keys().cert.pem());
  const std::string u = t / "wl.unsigned";
  shell("set -e; cd " + t.path + "; date -u '+%Y%m%d%H%M%S' > wl.unsigned; echo \"E$(date -u --date='+30 days' '+%Y%m%d%H%M%S')\" >> wl.unsigned;"
        " echo Ntest.example.org >> wl.unsigned; openssl x509 -in crt -noout -fingerprint -sha1 | cut -d= -f2 >> wl.unsigned;"
        " hash=$(sha1sum < wl.unsigned | cut -c1-40); echo -- >> wl.unsigned; echo $hash >> wl.unsigned; echo -n $hash > wl.hash;"
        " openssl pkeyutl -inkey masterkey -sign -in wl.hash -out wl.sig; cat wl.unsigned wl.sig > wl");
  const rsa_key masters[] = {keys().master_public};
  const auto w = verify_whitelist(read_file(t / "wl"), "test.example.org", masters, floor<seconds>(system_clock::now()));
  CHECK(w.expires - w.created == days{30});
  CHECK_NOTHROW(check_listed(w, keys().cert));
}

TEST_CASE("cvmfs whitelist: shake128 and rmd160 fingerprints hash the text with their algorithm") {
  const rsa_key masters[] = {keys().master_public};
  for (auto a : {algorithm::rmd160, algorithm::shake128}) {
    CAPTURE(algorithm_name(a));
    const auto doc = encode_whitelist(new_whitelist("test.example.org", keys().cert, a, now), *keys().master);
    const auto p = split(doc);
    CHECK(p.hash == to_text(digest(as_bytes(p.text), a), a));
    CHECK(p.text.find(keys().cert.fingerprint(a) + "\n") != std::string::npos);
    const auto w = verify_whitelist(doc, "test.example.org", masters, now);
    REQUIRE(w.fingerprints.size() == 1);
    CHECK(w.fingerprints[0].second == a);
    CHECK_NOTHROW(check_listed(w, keys().cert));
  }
}

TEST_CASE("cvmfs whitelist: several certificates and several master keys") {
  const auto other = key_set::generate("test.example.org");
  auto w = new_whitelist("test.example.org", keys().cert, algorithm::sha1, now);
  w.fingerprints.push_back({other.cert.hash(algorithm::sha1), algorithm::sha1});
  const auto doc = encode_whitelist(w, *other.master);
  const rsa_key masters[] = {keys().master_public, other.master_public};  // a client trusts any of its keys
  const auto back = verify_whitelist(doc, "test.example.org", masters, now);
  CHECK_NOTHROW(check_listed(back, keys().cert));
  CHECK_NOTHROW(check_listed(back, other.cert));
}

TEST_CASE("cvmfs whitelist: expiry counts to the hour, as clients count it") {
  const rsa_key masters[] = {keys().master_public};
  const auto doc = encode_whitelist(new_whitelist("test.example.org", keys().cert, algorithm::sha1, now), *keys().master);
  const auto hour = sys_days{year{2026} / 12 / 30} + hours{13};  // E20261230135121
  CHECK_NOTHROW(verify_whitelist(doc, "test.example.org", masters, hour - seconds{1}));
  const std::string prefix = "the whitelist (.cvmfswhitelist) of 'test.example.org' expired at 2026-12-30 13:51:21 UTC";
  expect_failure([&] { verify_whitelist(doc, "test.example.org", masters, hour); }, errc::corrupt, prefix, "renews it with 'stratum resign STATE STORE'");
  expect_failure([&] { verify_whitelist(doc, "test.example.org", masters, hour); }, errc::corrupt, prefix, "--ignore-expiry");
  expect_failure([&] { verify_whitelist(doc, "test.example.org", masters, hour + days{400}); }, errc::corrupt, prefix,
                 "clients refuse it from 2026-12-30 13:00:00 UTC");
  CHECK(verify_whitelist(doc, "test.example.org", masters, hour + days{400}, expiry::ignore).expires == now + days{30});
}

TEST_CASE("cvmfs whitelist: refusals") {
  const rsa_key masters[] = {keys().master_public};
  const auto w = new_whitelist("test.example.org", keys().cert, algorithm::sha1, now);
  const auto doc = encode_whitelist(w, *keys().master);
  const std::string what = "the whitelist (.cvmfswhitelist) of 'test.example.org'";
  auto refused = [&](const std::string& d, const std::string& prefix, const std::string& says) {
    expect_failure([&] { verify_whitelist(d, "test.example.org", masters, now); }, errc::corrupt, prefix, says);
  };

  SUBCASE("another repository's name") {
    auto other = w;
    other.fqrn = "other.example.org";
    refused(encode_whitelist(other, *keys().master), what + " is signed for repository 'other.example.org'", "must match");
  }
  SUBCASE("signed by another master key") {
    const auto stranger = key_set::generate("test.example.org");
    refused(encode_whitelist(w, *stranger.master), what + ": its signature does not verify with the master public key given", "another master key");
  }
  SUBCASE("a signature byte changed") {
    auto d = doc;
    d[d.size() - 7] ^= 1;
    refused(d, what + ": its signature does not verify", "");
  }
  SUBCASE("the text edited after signing") {
    auto d = doc;
    d.replace(d.find("E2026"), 5, "E2027");
    refused(d, what + ": its text does not match the hash after '--'", "edited");
  }
  SUBCASE("cut short") {
    refused(doc.substr(0, doc.find("\n--\n") + 2), what + " has no '--' line", "");
    refused(doc.substr(0, doc.find("\n--\n") + 10), what + " ends within the hash line", "");
    refused(doc.substr(0, doc.find("\n--\n") + 4 + 41), what + " has no signature", "");
  }
  SUBCASE("signed, but not a whitelist's lines") {
    auto signed_text = [&](const std::string& text) {
      return seal_letter(text, algorithm::sha1, [&](byte_view h) { return sign_raw(*keys().master, h); });
    };
    const std::string fp = keys().cert.fingerprint(algorithm::sha1) + "\n";
    for (std::string text : {"2026113013512\nE20261230135121\nNtest.example.org\n", "20261130135121\nX20261230135121\nNtest.example.org\n",
                             "20261130135121\nE20261332135121\nNtest.example.org\n", "20261130135121\nE20261230135121\n"}) {
      CAPTURE(text);
      refused(signed_text(text + fp), what + " does not start with its creation time, 'E' expiry and 'N' name lines", "");
    }
    refused(signed_text("20261130135121\nE20261230135121\nNtest.example.org\nVpkcs7\n" + fp), what + " asks for a PKCS#7 signature", "does not check");
    refused(signed_text("20261130135121\nE20261230135121\nNtest.example.org\nWcachain\n" + fp), what + " asks for a CA chain check", "");
    // Lines that are no fingerprint are skipped, as CernVM-FS skips them.
    const auto w2 = verify_whitelist(signed_text("20261130135121\nE20261230135121\nNtest.example.org\n# comment\n" + fp), "test.example.org", masters, now);
    CHECK(w2.fingerprints.size() == 1);
  }
  SUBCASE("a certificate not listed") {
    const auto other = key_set::generate("test.example.org");
    const auto back = verify_whitelist(doc, "test.example.org", masters, now);
    expect_failure([&] { check_listed(back, other.cert); }, errc::corrupt,
                   "the repository certificate (CN = test.example.org CernVM-FS Release Managers, fingerprint " + other.cert.fingerprint(algorithm::sha1) +
                       ") is not listed in the whitelist of 'test.example.org' (1 listed)",
                   "stratum resign");
  }
}
