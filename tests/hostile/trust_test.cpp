// Hostile manifests that are validly signed: by another key, an older
// revision copied over the newer one (replay), an expired one. A reader
// trusts a key it already knows — --pubkey, or the record of its first read
// in $XDG_CONFIG_HOME/stratum/known_repositories — and refuses (exit 3) what
// the store alone vouches for. Every case has its own config directory.
// Thread: the test's main thread.
#include "runner.hpp"

#include <ctime>
#include <filesystem>

using namespace stratum;
using namespace stratum::test;
using namespace stratum::test::hostile;

namespace {

child_result read_with(const crafted_store& s, std::vector<std::string> args) {
  return run_child(args, reader_env(s), command_timeout());
}

}  // namespace

TEST_CASE("trust: the first read of a repository names the key it now trusts and how to pin it, once") {
  const auto& b = base();
  crafted_store s("first read");
  const std::string fingerprint = b.head.public_key.hex();
  auto first = read_with(s, {"ls", s.store});
  INFO("first read: " << first.err);
  CHECK(first.code == 0);
  CHECK(first.err.find(fingerprint) != std::string::npos);
  CHECK(first.err.find("--pubkey") != std::string::npos);
  CHECK(std::filesystem::exists(s.xdg + "/stratum/known_repositories"));
  CHECK(std::filesystem::is_empty(s.home));  // the config directory given, nothing under HOME

  auto second = read_with(s, {"ls", s.store});
  INFO("second read: " << second.err);
  CHECK(second.code == 0);
  CHECK(second.err.find(fingerprint) == std::string::npos);
}

TEST_CASE("trust: a manifest signed by another key is refused by every reader") {
  const auto& b = base();
  auto resign_with_other_key = [&](crafted_store& s) {
    auto other = signing_key::generate();
    manifest m = b.head;
    m.revision = b.head.revision + 1;
    m.public_key = other.fingerprint();
    s.write_manifest(m, other);
    return other.fingerprint().hex();
  };
  SUBCASE("the key recorded by an earlier read") {
    crafted_store s("another key, recorded key");
    seed_trust(s);
    auto other = resign_with_other_key(s);
    run_commands(s, {untrusted(), {{s.store}, {other, b.head.public_key.hex()}}});
  }
  SUBCASE("the key given with --pubkey FILE, first read") {
    crafted_store s("another key, --pubkey FILE");
    auto other = resign_with_other_key(s);
    run_commands(s, {untrusted(), {{s.store}, {other, b.head.public_key.hex()}}, {"--pubkey", b.state + "/keys/stratum.pub"}});
  }
  SUBCASE("the key given with --pubkey STATE, first read") {
    crafted_store s("another key, --pubkey STATE");
    auto other = resign_with_other_key(s);
    run_commands(s, {untrusted(), {{s.store}, {other, b.head.public_key.hex()}}, {"--pubkey", b.state}});
  }
}

TEST_CASE("trust: an older validly signed manifest copied over the newer one is refused, unless --allow-older") {
  const auto& b = base();
  crafted_store s("replayed manifest");
  seed_trust(s);
  s.put(manifest_key, b.old_manifest);
  run_commands(s, {untrusted(), {{s.store}, {"revision 1"}, {"revision 2"}}});
  auto allowed = read_with(s, {"ls", s.store, "--allow-older"});
  INFO(allowed.err);
  CHECK(allowed.code == 0);
  CHECK(allowed.out.find("new.txt") == std::string::npos);  // revision 1 it is
}

TEST_CASE("trust: an expired manifest is refused unless --allow-expired, and one not yet expired is read") {
  const auto& b = base();
  const std::int64_t now = std::time(nullptr);
  auto sign_expiring = [&](crafted_store& s, std::int64_t expires) {
    manifest m = b.head;
    m.revision = b.head.revision + 1;
    m.expires = expires;
    s.write_manifest(m, s.own_key());
  };
  SUBCASE("expired an hour ago, a reader that has never seen the repository") {
    crafted_store s("expired manifest");
    sign_expiring(s, now - 3600);
    run_commands(s, {untrusted(), {{s.store}, {"expire"}}});
    auto allowed = read_with(s, {"ls", s.store, "--allow-expired"});
    INFO(allowed.err);
    CHECK(allowed.code == 0);
  }
  SUBCASE("expires in an hour") {
    crafted_store s("manifest not yet expired");
    seed_trust(s);
    sign_expiring(s, now + 3600);
    auto r = read_with(s, {"ls", s.store});
    INFO(r.err);
    CHECK(r.code == 0);
  }
}
