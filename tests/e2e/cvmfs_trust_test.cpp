// End-to-end: reading a CernVM-FS repository trusts nothing but its master
// key — a missing or wrong key, a whitelist signed by another master key,
// an expired one, a certificate the whitelist does not list, a tampered
// manifest, a damaged catalog and an unsupported schema each end with a
// clear message and a non-zero exit. The bad stores are made with
// tests/e2e/cvmfs_tool.py (openssl, as cvmfs_server signs), not with stratum.
#include "support.hpp"

#include <filesystem>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* fqrn = "sw.example.org";
constexpr int usage = 2, failed = 3, problems = 1;

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string tool(const std::string& args) {
  return shell("/usr/bin/python3 " STRATUM_SOURCE_DIR "/tests/e2e/cvmfs_tool.py " + args + " 2>&1");
}

// A copy of the good store to spoil.
std::string variant(const temp_dir& d, const std::string& name) {
  const std::string to = d / name;
  fs::copy(d / "store", to, fs::copy_options::recursive);
  return to;
}

}  // namespace

TEST_CASE("cvmfs trust: every broken link of master key -> whitelist -> certificate -> manifest -> catalogs is refused") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a", "alpha"}, {'d', "pkg"}, {'f', "pkg/.cvmfscatalog", ""}, {'f', "pkg/b", "beta"}});
  const std::string st = d / "st", keys = d / "st/keys";
  REQUIRE(run_stratum({"publish", "--new", "-q", st, d / "src", d / "store", "--format", "cvmfs", "--name", fqrn}).code == 0);
  // Another repository of the same name, with its own keys.
  REQUIRE(run_stratum({"publish", "--new", "-q", d / "other", d / "src", d / "other-store", "--format", "cvmfs", "--name", fqrn}).code == 0);

  SUBCASE("no master key: it must be given once") {
    auto r = run_stratum({"ls", d / "store"});
    CHECK(r.code == failed);
    CHECK(has(r.err, "master public key"));
    CHECK(has(r.err, "--pubkey FILE"));
    // Given once (the .pub file itself), it is kept for the next read.
    REQUIRE(run_stratum({"ls", d / "store", "--pubkey", keys + "/" + fqrn + ".pub"}).code == 0);
    auto again = run_stratum({"ls", d / "store"});
    CHECK_MESSAGE(again.code == 0, again.err);
  }
  SUBCASE("another repository's master key") {
    auto r = run_stratum({"ls", d / "store", "--pubkey", d / "other"});
    CHECK(r.code == failed);
    CHECK(has(r.err, "the whitelist (.cvmfswhitelist) of 'sw.example.org': its signature does not verify with the master public key"));
  }
  SUBCASE("a whitelist signed by another master key") {
    const auto s = variant(d, "foreign");
    fs::copy_file(d / "other-store/.cvmfswhitelist", s + "/.cvmfswhitelist", fs::copy_options::overwrite_existing);
    auto r = run_stratum({"ls", s, "--pubkey", st});
    CHECK(r.code == failed);
    CHECK(has(r.err, "signature does not verify with the master public key"));
  }
  SUBCASE("an expired whitelist: refused unless --ignore-expiry, and renewed by resign") {
    CHECK(tool("whitelist " + d / "store" + " " + keys + " " + fqrn + " 20200101000000 20200201000000") == "");
    auto r = run_stratum({"ls", d / "store", "--pubkey", st});
    CHECK(r.code == failed);
    CHECK(has(r.err, "expired at 2020-02-01 00:00:00 UTC"));
    CHECK(has(r.err, "stratum resign STATE STORE"));
    CHECK(has(r.err, "--ignore-expiry"));
    auto anyway = run_stratum({"ls", d / "store", "--pubkey", st, "--ignore-expiry"});
    CHECK_MESSAGE(anyway.code == 0, anyway.err);
    auto resign = run_stratum({"resign", st, d / "store", "--days", "60"});
    REQUIRE_MESSAGE(resign.code == 0, resign.err);
    CHECK(has(resign.err, "signed the whitelist of sw.example.org"));
    auto after = run_stratum({"ls", d / "store", "--pubkey", st});
    CHECK_MESSAGE(after.code == 0, after.err);
    // 60 days from now, in the whitelist's own E line.
    const std::string wl = read_file(d / "store/.cvmfswhitelist");
    const std::time_t later = std::time(nullptr) + 60 * 86400;
    char e[16];
    std::strftime(e, sizeof e, "E%Y%m%d", std::gmtime(&later));
    CHECK(has(wl, e));
    // A publish keeps the longer whitelist rather than shortening it to 30 days.
    write_file(d / "src/a", "changed");
    REQUIRE(run_stratum({"publish", "-q", st, d / "src", d / "store"}).code == 0);
    CHECK(read_file(d / "store/.cvmfswhitelist") == wl);
  }
  SUBCASE("a certificate the whitelist does not list") {
    const auto s = variant(d, "unlisted");
    CHECK(tool("whitelist " + s + " " + keys + " " + fqrn + " 20200101000000 20990101000000 " +
               "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33") == "");
    auto r = run_stratum({"ls", s, "--pubkey", st});
    CHECK(r.code == failed);
    CHECK(has(r.err, "is not listed in the whitelist of 'sw.example.org'"));
  }
  SUBCASE("a tampered manifest") {
    const auto s = variant(d, "tampered");
    std::string m = read_file(s + "/.cvmfspublished");
    const auto at = m.find("\nS1\n");
    REQUIRE(at != std::string::npos);
    m.replace(at, 4, "\nS9\n");
    write_file(s + "/.cvmfspublished", m);
    auto r = run_stratum({"ls", s, "--pubkey", st});
    CHECK(r.code == failed);
    CHECK(has(r.err, "does not match the hash after '--'"));
  }
  SUBCASE("a catalog whose bytes are not its name") {
    const auto s = variant(d, "damaged");
    // The nested catalog: the one C object the manifest does not name.
    const std::string root = read_file(s + "/.cvmfspublished").substr(1, 40);
    std::string nested;
    for (auto& e : fs::recursive_directory_iterator(s + "/data")) {
      const auto name = e.path().parent_path().filename().string() + e.path().filename().string();
      if (name.back() == 'C' && name.substr(0, 40) != root) nested = e.path().string();
    }
    REQUIRE(!nested.empty());
    write_file(nested, "not a catalog");
    auto chk = run_stratum({"check", s, "--pubkey", st});
    CHECK(chk.code == problems);
    CHECK(has(chk.err, "its bytes do not match its name"));
    auto ls = run_stratum({"ls", s, "pkg"});
    CHECK(ls.code == failed);
    CHECK(has(ls.err, "its bytes do not match its name"));
    // What the manifest names directly is still read.
    CHECK(run_stratum({"cat", s, "a"}).out == "alpha");
  }
  SUBCASE("a catalog of an unsupported schema, correctly signed") {
    const auto s = variant(d, "schema");
    CHECK(tool("schema " + s + " " + keys + " " + fqrn + " 3.0") == "");
    auto r = run_stratum({"ls", s, "--pubkey", st});
    CHECK(r.code == failed);
    CHECK(has(r.err, "schema"));
    CHECK(has(r.err, "3.0"));
  }
  SUBCASE("a publish with another master key's STATE is refused before anything is written") {
    auto r = run_stratum({"publish", d / "other", d / "src", d / "store"});
    CHECK(r.code == usage);
    CHECK(!has(read_file(d / "store/.cvmfspublished"), "S2\n"));
  }
}
