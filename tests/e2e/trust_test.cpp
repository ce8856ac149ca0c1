// End-to-end: which repository a reader trusts (catalog/read/trust.hpp,
// docs/SECURITY.md) — the key recorded on first use, a pinned key, a key
// that changes, an older manifest put back (replay), an expired manifest,
// and `resign`, through the stratum binary on a local store. Each test has
// its own XDG_CONFIG_HOME, so its record starts empty.
#include "support.hpp"

#include "catalog/format/manifest.hpp"

#include <ctime>
#include <filesystem>
#include <fstream>

using namespace stratum;
using namespace stratum::test;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A publisher (STATE, SOURCE, STORE) and readers with their own record.
struct repo_fixture {
  temp_dir d;
  std::string state = d / "state", src = d / "src", store = d / "store";
  std::vector<std::string> env{"XDG_CONFIG_HOME=" + (d / "config")};

  run_result publish(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"publish", "-q", state, src, store};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_stratum(args, run_options{.env = env});
  }
  run_result read(std::vector<std::string> args) {
    args.insert(args.begin() + 1, store);
    return run_stratum(args, run_options{.env = env});
  }
  manifest head() { return parse_manifest(as_bytes(read_file(store + "/.stratumpublished")), store).m; }
  // The manifest as the publisher signs it, with `change` applied: an
  // expired one, or one naming another revision.
  void resign_with(const std::function<void(manifest&)>& change) {
    manifest m = head();
    change(m);
    auto text = encode_manifest(m, signing_key::load(state + "/keys/stratum.key"));
    write_file(store + "/.stratumpublished", std::string(text.begin(), text.end()));
  }
};

void publish_first(repo_fixture& f) {
  make_tree(f.src, {{'f', "a.txt", "first"}});
  auto r = f.publish({"--new"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
}

}  // namespace

TEST_CASE("trust: the first read names the key it trusts, once, and later reads say nothing") {
  repo_fixture f;
  publish_first(f);
  auto first = f.read({"ls"});
  CHECK(first.code == 0);
  const std::string fp = f.head().public_key.hex();
  CHECK(has(first.err, "first use of"));
  CHECK(has(first.err, fp));
  CHECK(has(first.err, "--pubkey"));
  auto second = f.read({"ls"});
  CHECK(second.code == 0);
  CHECK(second.err.empty());
  CHECK(has(read_file(f.d / "config/stratum/known_repositories"), fp + " 1 " + std::filesystem::canonical(f.store).string()));
}

TEST_CASE("trust: a repository made again with another key is refused until the new key is pinned") {
  repo_fixture f;
  publish_first(f);
  REQUIRE(f.read({"ls"}).code == 0);
  const auto old_fp = f.head().public_key.hex();
  // Someone who can write the store replaces the repository with their own.
  std::filesystem::remove_all(f.store);
  std::filesystem::remove_all(f.state);
  REQUIRE(f.publish({"--new"}).code == 0);
  for (const char* cmd : {"ls", "info", "check"}) {
    auto r = f.read({cmd});
    CHECK_MESSAGE(r.code == 3, cmd);
    CHECK(has(r.err, "is the one trusted for this repository"));
    CHECK(has(r.err, old_fp));
  }
  auto cat = f.read({"cat", "a.txt"});
  CHECK(cat.code == 3);
  CHECK(cat.out.empty());
  // The publisher's STATE as --pubkey: the new key is pinned and recorded.
  auto pinned = f.read({"ls", "--pubkey", f.state});
  CHECK(pinned.code == 0);
  CHECK(has(pinned.err, "replaces key " + old_fp));
  CHECK(f.read({"ls"}).code == 0);
}

TEST_CASE("trust: --pubkey with another key is refused, naming both keys") {
  repo_fixture f;
  publish_first(f);
  REQUIRE(run_stratum({"keygen", f.d / "other"}).code == 0);
  auto r = f.read({"ls", "--pubkey", f.d / "other/stratum.pub"});
  CHECK(r.code == 3);
  CHECK(has(r.err, f.head().public_key.hex()));
  CHECK(has(r.err, "not with the key given with --pubkey"));
  CHECK(f.read({"ls", "--pubkey", f.state + "/keys/stratum.pub"}).code == 0);
}

TEST_CASE("trust: an older manifest put back over a newer one is refused (replay), unless --allow-older") {
  repo_fixture f;
  publish_first(f);
  const std::string first = read_file(f.store + "/.stratumpublished");
  make_tree(f.src, {{'f', "b.txt", "second"}});
  REQUIRE(f.publish().code == 0);
  REQUIRE(f.read({"ls"}).code == 0);  // the reader has seen revision 2
  write_file(f.store + "/.stratumpublished", first);
  for (const char* cmd : {"ls", "info", "check"}) {
    auto r = f.read({cmd});
    CHECK_MESSAGE(r.code == 3, cmd);
    CHECK(has(r.err, "revision 1, older than revision 2"));
  }
  auto older = f.read({"ls", "--allow-older"});
  CHECK(older.code == 0);
  CHECK(older.out == "a.txt\n");
  // Accepting it once does not lower the record.
  CHECK(f.read({"ls"}).code == 3);
  // resign refuses to make the replayed manifest current again.
  auto resign = run_stratum({"resign", f.state, f.store}, run_options{.env = f.env});
  CHECK(resign.code == 3);
  CHECK(has(resign.err, "older manifest has been put back"));
  CHECK(read_file(f.store + "/.stratumpublished") == first);
}

TEST_CASE("trust: an expired manifest is refused until resign renews it") {
  repo_fixture f;
  publish_first(f);
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  f.resign_with([&](manifest& m) { m.expires = now - 60; });
  auto r = f.read({"ls"});
  CHECK(r.code == 3);
  CHECK(has(r.err, "expired at"));
  CHECK(has(r.err, "stratum resign"));
  CHECK(f.read({"ls", "--allow-expired"}).code == 0);

  auto resign = run_stratum({"resign", f.state, f.store, "--expiry", "7"}, run_options{.env = f.env});
  CHECK_MESSAGE(resign.code == 0, resign.err);
  const manifest m = f.head();
  CHECK(m.revision == 1);
  CHECK(m.expires >= now + 7 * 86400);
  CHECK(m.expires <= now + 7 * 86400 + 600);
  CHECK(f.read({"ls"}).code == 0);
}

TEST_CASE("trust: publish --expiry signs an expiry that later publishes keep, and the publisher reads its own expired manifest") {
  repo_fixture f;
  publish_first(f);
  CHECK(f.head().expires == 0);  // by default a manifest never expires
  make_tree(f.src, {{'f', "b.txt", "second"}});
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  REQUIRE(f.publish({"--expiry", "3"}).code == 0);
  CHECK(f.head().expires >= now + 3 * 86400);
  CHECK(f.head().expires <= now + 3 * 86400 + 600);
  // Expired in the store: the next publish reads it and signs a new one,
  // with the recorded 3 days.
  f.resign_with([&](manifest& m) { m.expires = now - 60; });
  make_tree(f.src, {{'f', "c.txt", "third"}});
  auto r = f.publish();
  CHECK_MESSAGE(r.code == 0, r.err);
  CHECK(f.head().revision == 3);
  CHECK(f.head().expires >= now + 3 * 86400);
}

TEST_CASE("trust: the manifest's signed lines cannot be changed without the key") {
  repo_fixture f;
  publish_first(f);
  REQUIRE(f.read({"ls"}).code == 0);
  // Pushing the expiry out by editing the text breaks the signature.
  f.resign_with([](manifest& m) { m.expires = 1; });
  auto text = read_file(f.store + "/.stratumpublished");
  auto at = text.find("expires 1\n");
  REQUIRE(at != std::string::npos);
  text.replace(at, 10, "expires 9999999999\n");
  write_file(f.store + "/.stratumpublished", text);
  auto r = f.read({"ls"});
  CHECK(r.code == 3);
  CHECK(has(r.err, "signature does not verify"));
}
