// Azure Blob: the stratum binary against Azurite over HTTPS (which checks
// SharedKey and SAS signatures): publish, restore through the block-list
// path, and refusals of a wrong key, an expired SAS and a read-only SAS.
#include "catalog/publish/record.hpp"
#include "servers.hpp"
#include "storage/backend.hpp"
#include "storage/journal/journal.hpp"
#include "support.hpp"

#include <filesystem>

using namespace stratum;
using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

struct az_env {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  azurite server{d / "az", "repo", tls};
  std::vector<std::string> args(std::vector<std::string> a) const {
    a.insert(a.end(), {"--endpoint", server.endpoint(), "--ca-file", tls.cert});
    return a;
  }
};

run_options with_key(const std::string& key = azurite::key) {
  run_options o;
  o.env = {"AZURE_STORAGE_KEY=" + key, "AZURE_STORAGE_SAS_TOKEN="};
  return o;
}

run_options with_sas(const std::string& sas) {
  run_options o;
  o.env = {"AZURE_STORAGE_KEY=", "AZURE_STORAGE_SAS_TOKEN=" + sas};
  return o;
}

// The store as the tests see it, in this process, signed with the key.
std::unique_ptr<backend> open_in_process(const az_env& s, const std::string& spec, asio::io_context& io, asio::thread_pool& pool) {
  ::setenv("AZURE_STORAGE_KEY", azurite::key, 1);
  ::unsetenv("AZURE_STORAGE_SAS_TOKEN");
  store_options o;
  o.endpoint = s.server.endpoint();
  o.ca_file = s.tls.cert;
  return open_store(spec, store_use::write, io, pool, o);
}

std::size_t confirmed_objects(const std::string& state) {
  auto j = journal::open(state);
  std::size_t n = 0;
  auto c = j->scan();
  for (c->seek(pj::prefix_begin('o'), pj::prefix_end('o')); c->valid(); c->next()) ++n;
  return n;
}

}  // namespace

TEST_CASE("publish to Azure Blob and restore, large objects through Put Block List") {
  az_env s;
  make_tree(s.d / "src", {{'d', "d"}, {'f', "d/a", "alpha"}, {'f', "big", noise(20 << 20, 1)}, {'l', "l", "", "d/a"}});
  auto pub = run_stratum(s.args({"publish", "--new", s.d / "st", s.d / "src", "az://devstoreaccount1/repo/x", "--json"}), with_key());
  REQUIRE_MESSAGE(pub.code == 0, pub.err);
  auto res = run_stratum(s.args({"restore", "az://devstoreaccount1/repo/x", s.d / "dst"}), with_key());
  REQUIRE_MESSAGE(res.code == 0, res.err);
  auto diffs = compare_trees(s.d / "src", s.d / "dst", ::geteuid() == 0);
  CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));

  // The incompressible chunks are stored raw, above the 8 MiB Put Blob limit
  // stratum sets itself: they went up as blocks, and came back whole.
  asio::io_context io;
  asio::thread_pool pool(2);
  auto store = open_in_process(s, "az://devstoreaccount1/repo/x", io, pool);
  auto objects = run_io(io, [&]() { return store->list("data/"); });
  CHECK(std::any_of(objects.begin(), objects.end(), [](auto& i) { return i.size > (8u << 20); }));
  auto chk = run_stratum(s.args({"check", "-i", "az://devstoreaccount1/repo/x"}), with_key());
  CHECK_MESSAGE(chk.code == 0, chk.err);
}

TEST_CASE("a wrong key, an expired SAS and a read-only SAS end with exit 3, a clear message and no secret") {
  az_env s;
  make_tree(s.d / "src", {{'f', "a", "1"}, {'f', "b", "2"}});
  const std::string wrong_key = "V3JvbmdLZXlGb3JUaGVUZXN0c1dyb25nS2V5Rm9yVGhlVGVzdHM=";
  const std::string expired = s.server.sas("repo", "racwdl", "2020-01-01T00:00:00Z");
  const std::string read_only = s.server.sas("repo", "rl", "2035-01-01T00:00:00Z");
  struct attempt {
    const char* name;
    run_options env;
    std::string secret;
  };
  const attempt attempts[] = {{"wrong key", with_key(wrong_key), wrong_key},
                              {"expired SAS", with_sas(expired), expired.substr(expired.find("sig="))},
                              {"read-only SAS", with_sas(read_only), read_only.substr(read_only.find("sig="))}};
  for (const auto& a : attempts) {
    CAPTURE(a.name);
    const std::string st = s.d / ("st-" + std::string(a.name));
    auto r = run_stratum(s.args({"publish", "--new", st, s.d / "src", "az://devstoreaccount1/repo/y"}), a.env);
    CHECK(r.code == 3);
    CHECK(r.err.find("not authorised") != std::string::npos);
    CHECK(r.err.find("account 'devstoreaccount1', container 'repo'") != std::string::npos);
    CHECK(r.out.find(a.secret) == std::string::npos);
    CHECK(r.err.find(a.secret) == std::string::npos);
    CHECK(r.err.find("sig=") == std::string::npos);
    CHECK(confirmed_objects(st) == 0);  // nothing marked as stored
  }
  auto missing = run_stratum(s.args({"publish", "--new", s.d / "st-missing", s.d / "src", "az://devstoreaccount1/no-such-container"}), with_key());
  CHECK(missing.code == 3);
  CHECK(missing.err.find("container 'no-such-container' does not exist in account 'devstoreaccount1'") != std::string::npos);
}

TEST_CASE("an account key with a newline after it works, and one that is not base64 is a usage error") {
  // `export AZURE_STORAGE_KEY=$(cat key)` keeps no newline, but an env file
  // or a copy and paste can: decoded, it made the key longer and every
  // request got 403.
  az_env s;
  make_tree(s.d / "src", {{'f', "a", "1"}});
  auto pub = run_stratum(s.args({"publish", "--new", s.d / "st", s.d / "src", "az://devstoreaccount1/repo/k"}),
                         with_key(std::string(azurite::key) + "\n"));
  CHECK_MESSAGE(pub.code == 0, pub.err);
  const std::string bad = "this-is-not-a-key";
  auto r = run_stratum(s.args({"ls", "az://devstoreaccount1/repo/k"}), with_key(bad));
  CHECK(r.code == 2);
  CHECK(r.err.find("AZURE_STORAGE_KEY is not valid base64") != std::string::npos);
  CHECK(r.err.find(bad) == std::string::npos);
}

TEST_CASE("--endpoint with the account as its path (Azurite's BlobEndpoint) and without it reach the same store") {
  az_env s;
  make_tree(s.d / "src", {{'f', "a", "alpha"}, {'d', "d"}, {'f', "d/b", "beta"}});
  const std::string host_only = s.server.endpoint();
  const std::string with_account = host_only + "/devstoreaccount1";
  auto opts = [&](const std::string& endpoint, std::vector<std::string> a) {
    a.insert(a.end(), {"--endpoint", endpoint, "--ca-file", s.tls.cert});
    return a;
  };
  auto pub = run_stratum(opts(with_account, {"publish", "--new", s.d / "st", s.d / "src", "az://devstoreaccount1/repo/e"}), with_key());
  REQUIRE_MESSAGE(pub.code == 0, pub.err);
  for (const std::string& endpoint : {host_only, with_account, with_account + "/", host_only + "/"}) {
    CAPTURE(endpoint);
    auto cat = run_stratum(opts(endpoint, {"cat", "az://devstoreaccount1/repo/e", "d/b"}), with_key());
    CHECK_MESSAGE(cat.code == 0, cat.err);
    CHECK(cat.out == "beta");
  }
  auto again = run_stratum(opts(host_only, {"publish", s.d / "st", s.d / "src", "az://devstoreaccount1/repo/e", "--json"}), with_key());
  CHECK_MESSAGE(again.code == 0, again.err);
  // Another account in the path than in the store is a usage error.
  auto other = run_stratum(opts(host_only + "/otheraccount", {"ls", "az://devstoreaccount1/repo/e"}), with_key());
  CHECK(other.code == 2);
  CHECK(other.err.find("/otheraccount") != std::string::npos);
  CHECK(other.err.find(with_account) != std::string::npos);
}

TEST_CASE("load, CLFSLoad's form: --new, killed, resumed by the same command, and the same repository as publish az://") {
  az_env s;
  std::vector<fixture> tree;
  for (int i = 0; i < 60; ++i) tree.push_back({'f', "f" + std::to_string(i), "content " + std::to_string(i * 7919)});
  tree.push_back({'d', "dir"});
  tree.push_back({'f', "dir/inner", "inner"});
  make_tree(s.d / "src", tree);
  const std::string sas = s.server.sas("repo", "racwdl", "2035-01-01T00:00:00Z");
  run_options crash = with_sas("");
  crash.env.push_back("STRATUM_CRASH_AT=upload:30");
  auto first = run_stratum(s.args({"load", "--new", s.d / "st", s.d / "src", "devstoreaccount1", "repo", sas}), crash);
  REQUIRE_MESSAGE(first.code == 128 + 9, first.err);
  auto again = run_stratum(s.args({"load", s.d / "st", s.d / "src", "devstoreaccount1", "repo", sas, "--json"}), with_sas(""));
  INFO(again.err);
  REQUIRE(again.code == 0);
  CHECK(json_field(again.out, "resumed") == "true");
  CHECK(std::stoull(json_field(again.out, "objects_stored")) < 63);  // what the first run confirmed is not sent again
  // Killed right after a Put Blob returned, before its confirmation: that
  // object's intent (STATE/intents) makes it in flight, and it is sent again.
  auto in_flight = std::stoull(json_field(again.out, "in_flight_at_stop"));
  auto resent = std::stoull(json_field(again.out, "objects_resent"));
  CHECK(in_flight >= 1);
  CHECK(resent >= 1);
  CHECK(resent <= in_flight);
  auto res = run_stratum(s.args({"restore", "az://devstoreaccount1/repo", s.d / "dst"}), with_sas(sas));
  REQUIRE_MESSAGE(res.code == 0, res.err);
  auto diffs = compare_trees(s.d / "src", s.d / "dst", ::geteuid() == 0);
  CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));

  // The publish form, into another container's worth of prefix, same tree.
  auto pub = run_stratum(s.args({"publish", "--new", s.d / "st2", s.d / "src", "az://devstoreaccount1/repo/other", "--json"}), with_sas(sas));
  REQUIRE_MESSAGE(pub.code == 0, pub.err);
  CHECK(json_field(pub.out, "root_catalog") == json_field(again.out, "root_catalog"));

  // The SAS is nowhere: not in output, not in STATE.
  const std::string sig = sas.substr(sas.find("sig=") + 4);
  std::string state;
  for (auto& e : fs::recursive_directory_iterator(s.d / "st"))
    if (e.is_regular_file()) state += read_file(e.path().string());
  CHECK((first.out + first.err + again.out + again.err + state).find(sig) == std::string::npos);
}

TEST_CASE("rclone's azureblob backend lists and downloads exactly what stratum wrote") {
  az_env s;
  make_tree(s.d / "src", {{'f', "a", "alpha"}, {'f', "b", std::string(70000, 'b')}, {'d', "d"}, {'f', "d/c", "gamma"}});
  auto pub = run_stratum(s.args({"publish", "--new", s.d / "st", s.d / "src", "az://devstoreaccount1/repo/r", "--json"}), with_key());
  REQUIRE_MESSAGE(pub.code == 0, pub.err);

  asio::io_context io;
  asio::thread_pool pool(2);
  auto store = open_in_process(s, "az://devstoreaccount1/repo/r", io, pool);
  auto ours = run_io(io, [&]() { return store->list(""); });
  REQUIRE(ours.size() == std::stoull(json_field(pub.out, "objects_stored")) + 1);

  // rclone 1.60 with the emulator's well-known account; --ca-cert trusts
  // the test certificate.
  const std::string env = "RCLONE_CONFIG_AZ_TYPE=azureblob RCLONE_CONFIG_AZ_USE_EMULATOR=true RCLONE_CONFIG_AZ_ENDPOINT=" +
                          s.server.endpoint() + "/devstoreaccount1 ";
  auto rclone = [&](const std::string& args) { return shell(env + "rclone --ca-cert " + s.tls.cert + " " + args + " 2>/dev/null"); };
  auto listing = rclone("lsf -R --files-only az:repo/r");
  std::vector<std::string> theirs;
  for (std::size_t at = 0; at < listing.size();) {
    auto nl = listing.find('\n', at);
    theirs.push_back(listing.substr(at, nl - at));
    at = nl == std::string::npos ? listing.size() : nl + 1;
  }
  std::sort(theirs.begin(), theirs.end());
  std::vector<std::string> keys;
  for (auto& i : ours) keys.push_back(i.key);
  CHECK(theirs == keys);
  for (auto& k : keys) {
    CAPTURE(k);
    auto mine = run_io(io, [&]() { return store->get(k); });
    REQUIRE(mine);
    CHECK(rclone("cat az:repo/r/" + k) == to_string(*mine));
  }
}

TEST_CASE("a CernVM-FS repository on Azure: killed, resumed, the next revision, read back") {
  az_env s;
  make_tree(s.d / "src", small_cvmfs_tree(50));
  const std::string sas = s.server.sas("repo", "racwdl", "2035-01-01T00:00:00Z");
  const std::string store = "az://devstoreaccount1/repo/cvmfs";
  run_options crash = with_sas(sas);
  crash.env.push_back("STRATUM_CRASH_AT=upload:20");
  auto first = run_stratum(
      s.args({"publish", "--new", s.d / "st", s.d / "src", store, "--format", "cvmfs", "--name", "sw.example.org", "--json"}), crash);
  REQUIRE_MESSAGE(first.code == 128 + 9, first.err);
  auto again = run_stratum(s.args({"publish", s.d / "st", s.d / "src", store, "--json"}), with_sas(sas));
  REQUIRE_MESSAGE(again.code == 0, again.err);
  CHECK(json_field(again.out, "resumed") == "true");
  CHECK(std::stoull(json_field(again.out, "objects_resent")) <= std::stoull(json_field(again.out, "in_flight_at_stop")));
  CHECK(std::stoull(json_field(again.out, "objects_stored")) < 50);

  write_file(s.d / "src/f1", "revision two");
  auto next = run_stratum(s.args({"publish", s.d / "st", s.d / "src", store, "--json"}), with_sas(sas));
  REQUIRE_MESSAGE(next.code == 0, next.err);
  CHECK(json_field(next.out, "revision") == "2");
  auto res = run_stratum(s.args({"restore", store, s.d / "dst", "--pubkey", s.d / "st"}), with_sas(sas));
  REQUIRE_MESSAGE(res.code == 0, res.err);
  auto diffs = compare_trees(s.d / "src", s.d / "dst", ::geteuid() == 0);
  CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));
  auto chk = run_stratum(s.args({"check", "-i", store}), with_sas(sas));
  CHECK_MESSAGE(chk.code == 0, chk.err);
}
