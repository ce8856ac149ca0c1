// list-catalogs against s3rver and Azurite over HTTPS, in both formats: the
// same tree published to the cloud store and to a local directory gives the
// same catalog tree and entry counts (stratum's own format, whose catalogs
// are the tree alone: the same hashes and sizes too), and an unknown tag is
// a usage error there as well.
#include "servers.hpp"
#include "support.hpp"

using namespace stratum::test;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void same_as_local(const temp_dir& d, const cloud_store& s, bool cvmfs) {
  CAPTURE(s.spec);
  CAPTURE(cvmfs);
  const std::string marker = cvmfs ? ".cvmfscatalog" : ".stratumcatalog";
  const std::string tag = cvmfs ? "cv" : "nat";
  const std::string src = d / ("src-" + tag);
  make_tree(src, {{'f', "top", "first"},
                  {'d', "pkg"},
                  {'f', "pkg/" + marker, ""},
                  {'f', "pkg/a", "alpha"},
                  {'d', "pkg/deep"},
                  {'f', "pkg/deep/" + marker, ""},
                  {'d', "lib"},
                  {'f', "lib/" + marker, ""},
                  {'f', "lib/b", "beta"}});
  auto publish = [&](const std::string& st, const std::string& store, bool cloud) {
    std::vector<std::string> a = {"publish", "--new", st, src, store, "-q"};
    if (cvmfs) a.insert(a.end(), {"--format", "cvmfs", "--name", "lc.example.org"});
    auto r = cloud ? s.run(a) : run_stratum(a);
    REQUIRE_MESSAGE(r.code == 0, r.err);
  };
  const std::string st_cloud = d / ("st-cloud-" + tag), st_local = d / ("st-local-" + tag), local = d / ("store-" + tag);
  publish(st_cloud, s.spec, true);
  publish(st_local, local, false);
  std::vector<std::string> flags = {"-e"};
  if (!cvmfs) flags.insert(flags.end(), {"-s", "-x"});
  auto listing = [&](const std::string& store, const std::string& st, bool cloud) {
    std::vector<std::string> a = {"list-catalogs", store, "--pubkey", st};
    a.insert(a.end(), flags.begin(), flags.end());
    auto r = cloud ? s.run(a) : run_stratum(a);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    return r.out;
  };
  const auto there = listing(s.spec, st_cloud, true);
  CHECK(there == listing(local, st_local, false));
  // Root: its entry, top, and the mount points lib and pkg; lib: its entry,
  // its marker and b; pkg: its entry, its marker, a and the mount point deep.
  CHECK(there.substr(0, there.find('\n') + 1).ends_with("4 /\n"));
  CHECK(has(there, " 3 /lib\n"));
  CHECK(has(there, " 4 /pkg\n"));
  CHECK(has(there, "\u2502  \u251c\u2500 "));
  CHECK(has(there, " 2 /pkg/deep\n"));
  auto bad = s.run({"list-catalogs", s.spec, "--pubkey", st_cloud, "--tag", "nope"});
  CHECK(bad.code == 2);
  CHECK(has(bad.err, "nope"));
}

}  // namespace

TEST_CASE("list-catalogs on s3rver over HTTPS, both formats") {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  s3rver server(d / "s3", "bucket", tls);
  same_as_local(d, s3_store(server, tls, "s3://bucket/native"), false);
  same_as_local(d, s3_store(server, tls, "s3://bucket/cvmfs"), true);
}

TEST_CASE("list-catalogs on Azurite over HTTPS, both formats") {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  azurite server(d / "az", "repo", tls);
  same_as_local(d, azure_store(server, tls, "az://devstoreaccount1/repo/native"), false);
  same_as_local(d, azure_store(server, tls, "az://devstoreaccount1/repo/cvmfs"), true);
}
