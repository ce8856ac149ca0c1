// The trust decision and the known-repositories record (catalog/read/trust.hpp),
// in process: what is recorded, what is refused, and that the file survives
// names with any bytes and lines a user edited.
#include "support.hpp"

#include "async/error.hpp"
#include "catalog/read/trust.hpp"

using namespace stratum;
using namespace stratum::test;

namespace {

manifest at_revision(std::uint64_t r, std::int64_t expires = 0) {
  manifest m;
  m.revision = r;
  m.expires = expires;
  return m;
}

const bytes key_a(32, 1), key_b(32, 2);

}  // namespace

TEST_CASE("trust record: first use records the key and revision, with a notice, and the highest revision is kept") {
  temp_dir d;
  std::vector<std::string> notices;
  trust_options o;
  o.repository = "/srv/repo with space\nand newline";
  o.known_file = d / "cfg/known";
  o.notice = [&](const std::string& m) { notices.push_back(m); };
  trust_manifest(o, at_revision(3), key_a, 0);
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].find(sha256(key_a).hex()) != std::string::npos);
  auto rec = read_known(o.known_file, o.repository);
  REQUIRE(rec);
  CHECK(rec->key == sha256(key_a));
  CHECK(rec->revision == 3);
  // The name is one token: no other repository matches it by a prefix.
  CHECK(!read_known(o.known_file, "/srv/repo"));

  trust_manifest(o, at_revision(5), key_a, 0);
  CHECK(read_known(o.known_file, o.repository)->revision == 5);
  CHECK(notices.size() == 1);  // known: no second notice
  expect_failure([&] { trust_manifest(o, at_revision(4), key_a, 0); }, errc::corrupt, "/srv/repo",
                 "revision 4, older than revision 5");
  o.allow_older = true;
  trust_manifest(o, at_revision(4), key_a, 0);
  CHECK(read_known(o.known_file, o.repository)->revision == 5);  // accepting older never lowers the record
}

TEST_CASE("trust record: another key is refused unless pinned, and pinning replaces the record") {
  temp_dir d;
  trust_options o;
  o.repository = "s3://bucket at https://127.0.0.1:9000";
  o.known_file = d / "known";
  trust_manifest(o, at_revision(1), key_a, 0);
  expect_failure([&] { trust_manifest(o, at_revision(2), key_b, 0); }, errc::corrupt, "s3://bucket",
                 "is the one trusted for this repository");
  CHECK(read_known(o.known_file, o.repository)->key == sha256(key_a));
  o.pinned_key = key_b;
  trust_manifest(o, at_revision(2), key_b, 0);
  CHECK(read_known(o.known_file, o.repository)->key == sha256(key_b));
  expect_failure([&] { trust_manifest(o, at_revision(3), key_a, 0); }, errc::corrupt, "s3://bucket",
                 "not with the key given with --pubkey");
}

TEST_CASE("trust record: an expired manifest is refused before anything is recorded") {
  temp_dir d;
  trust_options o;
  o.repository = "r";
  o.known_file = d / "known";
  expect_failure([&] { trust_manifest(o, at_revision(1, 100), key_a, 101); }, errc::corrupt, "r", "expired at");
  CHECK(!read_known(o.known_file, o.repository));
  trust_manifest(o, at_revision(1, 100), key_a, 100);  // valid up to and including its second
  o.allow_expired = true;
  trust_manifest(o, at_revision(1, 100), key_a, 1000);
}

TEST_CASE("trust record: lines a user edited are kept, and a record that cannot be written is a notice, not a failure") {
  temp_dir d;
  write_file(d / "known", "# mine\nnot a record line\n");
  trust_options o;
  o.repository = "r";
  o.known_file = d / "known";
  trust_manifest(o, at_revision(1), key_a, 0);
  auto text = read_file(d / "known");
  CHECK(text.find("# mine\nnot a record line\n") == 0);
  CHECK(read_known(o.known_file, "r"));

  std::vector<std::string> notices;
  o.known_file = "/proc/stratum-cannot-write-here/known";
  o.notice = [&](const std::string& m) { notices.push_back(m); };
  trust_manifest(o, at_revision(1), key_a, 0);
  REQUIRE(notices.size() == 2);
  CHECK(notices[1].find("cannot record") != std::string::npos);
}
