// CernVM-FS key sets (catalog/format/cvmfs/keys.hpp): names, files and modes,
// loading, and the certificate, checked with the openssl command line — the
// keys cvmfs_server's shell commands make are loaded, and ours read by openssl.
#include "letter_parts.hpp"
#include "support.hpp"

#include "catalog/format/cvmfs/keys.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace stratum;
using namespace stratum::cvmfs;
using namespace stratum::test;

namespace {

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// The keys exactly as server/cvmfs_server_ssl.sh makes them (create_master_key,
// create_cert), with the openssl command line.
void make_keys_like_cvmfs_server(const std::string& dir, const std::string& fqrn) {
  const std::string b = dir + "/" + fqrn;
  shell("set -e; openssl genrsa -out " + b + ".masterkey 2048 2>/dev/null; openssl rsa -in " + b + ".masterkey -pubout -out " + b +
        ".pub 2>/dev/null; openssl genrsa -out " + b + ".key 2048 2>/dev/null; openssl req -new -subj '/CN=" + fqrn +
        " CernVM-FS Release Managers' -key " + b + ".key -out " + b + ".csr 2>/dev/null; openssl x509 -req -days 365 -in " + b +
        ".csr -signkey " + b + ".key -out " + b + ".crt 2>/dev/null; rm " + b + ".csr; chmod 400 " + b + ".masterkey " + b +
        ".key; chmod 444 " + b + ".pub " + b + ".crt");
}

}  // namespace

TEST_CASE("cvmfs keys: repository names as cvmfs_server accepts them") {
  for (const std::string& ok : std::vector<std::string>{"test.example.org", "a", "A-b_c.d", "9lives.cern.ch", std::string(60, 'x')}) {
    CAPTURE(ok);
    CHECK_NOTHROW(check_fqrn(ok));
  }
  for (const std::string& bad : std::vector<std::string>{"", ".example.org", "-x", "_x", "a/b", "a b", "a:b", "ä.org", std::string(61, 'x')}) {
    CAPTURE(bad);
    expect_failure([&] { check_fqrn(bad); }, errc::usage, "invalid repository name '" + bad + "'", "1 to 60 characters");
  }
}

TEST_CASE("cvmfs keys: a new set is saved with cvmfs_server's names and modes, loads back and reads with openssl") {
  temp_dir t;
  const std::string dir = t / "keys", b = dir + "/test.example.org";
  const auto made = key_set::generate("test.example.org");
  made.save(dir);
  CHECK(mode_of(b + ".masterkey") == 0400);
  CHECK(mode_of(b + ".key") == 0400);
  CHECK(mode_of(b + ".pub") == 0444);
  CHECK(mode_of(b + ".crt") == 0444);
  CHECK(mode_of(dir) == 0700);

  const auto loaded = key_set::load(dir, "test.example.org");
  REQUIRE(loaded.master);
  REQUIRE(loaded.repository);
  CHECK(loaded.master->same_public(made.master_public));
  CHECK(loaded.repository->same_public(made.cert.public_key()));
  CHECK(loaded.cert.pem() == read_file(b + ".crt"));
  CHECK(loaded.cert.der() == made.cert.der());
  CHECK(!loaded.master->same_public(loaded.cert.public_key()));  // two different key pairs

  // openssl: the master public key is the master key's, 2048 bits; the
  // certificate is self-signed by FQRN.key with cvmfs_server's subject.
  CHECK(shell("openssl rsa -in " + b + ".masterkey -pubout 2>/dev/null") == read_file(b + ".pub"));
  CHECK(shell("openssl pkey -pubin -in " + b + ".pub -noout -text 2>/dev/null").find("Public-Key: (2048 bit)") != std::string::npos);
  CHECK(shell("openssl x509 -in " + b + ".crt -noout -pubkey") == shell("openssl rsa -in " + b + ".key -pubout 2>/dev/null"));
  CHECK(trim(shell("openssl x509 -in " + b + ".crt -noout -subject -nameopt oneline")) == "subject=CN = test.example.org CernVM-FS Release Managers");
  CHECK(trim(shell("openssl x509 -in " + b + ".crt -noout -issuer -nameopt oneline")) == "issuer=CN = test.example.org CernVM-FS Release Managers");
  CHECK(trim(shell("openssl verify -CAfile " + b + ".crt " + b + ".crt 2>&1")) == b + ".crt: OK");
  const auto text = shell("openssl x509 -in " + b + ".crt -noout -text");
  CHECK(text.find("Version: 1 (0x0)") != std::string::npos);
  CHECK(text.find("sha256WithRSAEncryption") != std::string::npos);
  // Valid now, for 365 days: still in 364 days, no longer in 366.
  CHECK(trim(shell("openssl x509 -in " + b + ".crt -noout -checkend " + std::to_string(364 * 86400))) == "Certificate will not expire");
  CHECK(trim(shell("openssl x509 -in " + b + ".crt -noout -checkend " + std::to_string(366 * 86400))) == "Certificate will expire");

  // The fingerprint as the whitelist lists it is openssl's SHA-1 fingerprint
  // of the certificate; the DER bytes are openssl's.
  CHECK(loaded.cert.fingerprint(algorithm::sha1) == trim(shell("openssl x509 -in " + b + ".crt -noout -fingerprint -sha1 | cut -d= -f2")));
  write_file(t / "der", to_string(loaded.cert.der()));
  CHECK(shell("openssl x509 -in " + b + ".crt -outform der | cmp - " + (t / "der") + " && echo same") == "same\n");
  // The other algorithms: the suffix in uppercase after the 20 hex pairs.
  const auto shake = trim(shell("python3 -c \"import hashlib,sys; print(hashlib.shake_128(open(sys.argv[1],'rb').read()).hexdigest(20))\" " + (t / "der")));
  REQUIRE(shake.size() == 40);
  std::string want;
  for (std::size_t i = 0; i < 40; i += 2) want += (i ? ":" : "") + shake.substr(i, 2);
  for (auto& c : want) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(loaded.cert.fingerprint(algorithm::shake128) == want + "-SHAKE128");
  const auto back = parse_fingerprint(loaded.cert.fingerprint(algorithm::shake128));
  REQUIRE(back);
  CHECK(back->first == loaded.cert.hash(algorithm::shake128));
  CHECK(back->second == algorithm::shake128);
}

TEST_CASE("cvmfs keys: fingerprint lines are read as CernVM-FS reads them") {
  const auto fp = parse_fingerprint("8F:3C:3B:B4:1A:CB:F1:A1:93:74:CF:04:0A:7C:3B:16:9C:5D:2C:93  # old key");
  REQUIRE(fp);
  CHECK(to_text(fp->first, fp->second) == "8f3c3bb41acbf1a19374cf040a7c3b169c5d2c93");
  CHECK(parse_fingerprint("8f3c3bb41acbf1a19374cf040a7c3b169c5d2c93\tcomment"));
  CHECK(!parse_fingerprint("# a comment line"));
  CHECK(!parse_fingerprint("8F:3C:3B"));
  CHECK(!parse_fingerprint(""));
}

TEST_CASE("cvmfs keys: a long name's certificate CN is cut to 30 characters as cvmfs_server cuts it") {
  const std::string fqrn = "a-rather-long-repository-name.example.org";  // 41 characters
  const auto k = key_set::generate(fqrn);
  temp_dir t;
  write_file(t / "c.crt", k.cert.pem());
  CHECK(trim(shell("openssl x509 -in " + (t / "c.crt") + " -noout -subject -nameopt oneline")) ==
        "subject=CN = a-rather-long-repository-name.[...] CernVM-FS Release Managers");
}

TEST_CASE("cvmfs keys: the files cvmfs_server's openssl commands make load") {
  temp_dir t;
  make_keys_like_cvmfs_server(t.path, "made.by.openssl");
  const auto k = key_set::load(t.path, "made.by.openssl");
  REQUIRE(k.master);
  CHECK(k.master->same_public(k.master_public));
  CHECK(k.repository->same_public(k.cert.public_key()));
  CHECK(k.cert.pem() == read_file(t / "made.by.openssl.crt"));  // published unchanged as the X object
  CHECK(k.cert.subject() == "CN = made.by.openssl CernVM-FS Release Managers");
}

TEST_CASE("cvmfs keys: load refuses missing, unreadable, malformed and mismatched files, naming them") {
  temp_dir t;
  const std::string dir = t / "k", b = dir + "/r.example.org";
  // Made once: every subcase runs the test case again, and RSA keys take time.
  static const key_set set = key_set::generate("r.example.org"), other_set = key_set::generate("r.example.org");
  set.save(dir);

  SUBCASE("only the parts asked for are needed") {
    std::filesystem::remove(b + ".masterkey");
    const auto k = key_set::load(dir, "r.example.org", key_parts::repository);
    CHECK(!k.master);
    CHECK(k.repository);
    expect_failure([&] { key_set::load(dir, "r.example.org", key_parts::master); }, errc::usage, "key file '" + b + ".masterkey' (master private key) does not exist", "directory");
    std::filesystem::remove(b + ".key");
    CHECK_NOTHROW(key_set::load(dir, "r.example.org", key_parts::public_only));
    expect_failure([&] { key_set::load(dir, "r.example.org", key_parts::repository); }, errc::usage, "key file '" + b + ".key' (repository private key) does not exist", "");
  }
  SUBCASE("each missing file is named") {
    for (std::string ext : {".pub", ".crt"}) {
      CAPTURE(ext);
      std::filesystem::rename(b + ext, b + ext + ".away");
      expect_failure([&] { key_set::load(dir, "r.example.org", key_parts::public_only); }, errc::usage, "key file '" + b + ext + "'", "does not exist");
      std::filesystem::rename(b + ext + ".away", b + ext);
    }
  }
  SUBCASE("a directory where a key should be") {
    std::filesystem::remove(b + ".key");
    std::filesystem::create_directory(b + ".key");
    expect_failure([&] { key_set::load(dir, "r.example.org"); }, errc::usage, "key file '" + b + ".key' (repository private key) is not a regular file", "");
  }
  SUBCASE("not a key") {
    std::filesystem::remove(b + ".masterkey");
    write_file(b + ".masterkey", "hello\n");
    expect_failure([&] { key_set::load(dir, "r.example.org"); }, errc::usage, "'" + b + ".masterkey' is not a PEM private key", "");
    std::filesystem::remove(b + ".crt");
    write_file(b + ".crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    expect_failure([&] { key_set::load(dir, "r.example.org", key_parts::public_only); }, errc::usage, "'" + b + ".crt' holds no PEM X.509 certificate", "");
  }
  SUBCASE("an Ed25519 key is not CernVM-FS's") {
    std::filesystem::remove(b + ".key");
    shell("openssl genpkey -algorithm ed25519 -out " + b + ".key 2>/dev/null");
    expect_failure([&] { key_set::load(dir, "r.example.org"); }, errc::usage, "'" + b + ".key' is not an RSA key", "");
  }
  SUBCASE("keys of another set") {
    const std::string other = t / "other";
    other_set.save(other);
    std::filesystem::remove(b + ".key");
    std::filesystem::copy_file(other + "/r.example.org.key", b + ".key");
    expect_failure([&] { key_set::load(dir, "r.example.org"); }, errc::usage, "'" + b + ".key' is not the key of certificate '" + b + ".crt'", "would not verify");
    std::filesystem::remove(b + ".masterkey");
    std::filesystem::copy_file(other + "/r.example.org.masterkey", b + ".masterkey");
    expect_failure([&] { key_set::load(dir, "r.example.org", key_parts::master); }, errc::usage, "'" + b + ".masterkey' and '" + b + ".pub' are not the same key pair", "");
  }
  SUBCASE("a bad name") {
    expect_failure([&] { key_set::load(dir, "../etc"); }, errc::usage, "invalid repository name '../etc'", "");
  }
}

TEST_CASE("cvmfs keys: save never overwrites a key file and leaves no partial set") {
  temp_dir t;
  const std::string dir = t / "k";
  std::filesystem::create_directory(dir);
  write_file(dir + "/s.example.org.crt", "mine\n");
  expect_failure([&] { key_set::generate("s.example.org").save(dir); }, errc::usage, "'" + dir + "/s.example.org.crt' exists already", "refusing to overwrite");
  CHECK(read_file(dir + "/s.example.org.crt") == "mine\n");
  CHECK(!std::filesystem::exists(dir + "/s.example.org.masterkey"));
  CHECK(!std::filesystem::exists(dir + "/s.example.org.key"));
}
