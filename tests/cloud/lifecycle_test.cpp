// tag and diff against s3rver and Azurite over HTTPS, in both formats: the
// real binary adds, lists, inspects and removes tags and diffs revisions
// of a repository in a bucket or container, and `check -i` passes after
// each edit. Then `tag -a` behind the fault proxy (s3rver, plain HTTP): a
// 503 or a reset mid-body on each request in turn is retried away; a 403 on
// each request in turn stops it, leaves a repository `check -i` accepts,
// and the same command again finishes the job.
#include "fault_proxy.hpp"
#include "servers.hpp"
#include "support.hpp"

#include <filesystem>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Two revisions of a small tree (one file changed, one added), then tags and
// diffs on them; the store is judged by stratum's reader (`check -i`,
// `restore`), trusting the publisher's STATE.
void tag_and_diff(const temp_dir& d, const cloud_store& s, bool cvmfs) {
  CAPTURE(s.spec);
  CAPTURE(cvmfs);
  const std::string st = d / (cvmfs ? "st-cvmfs" : "st"), src = d / (cvmfs ? "src-cvmfs" : "src");
  make_tree(src, {{'f', "top", "first"}, {'d', "dir"}, {'f', "dir/a", "alpha"}});
  std::vector<std::string> first = {"publish", "--new", st, src, s.spec, "-q"};
  if (cvmfs) first.insert(first.end(), {"--format", "cvmfs", "--name", "sw.example.org"});
  auto p1 = s.run(first);
  REQUIRE_MESSAGE(p1.code == 0, p1.err);
  write_file(src + "/top", "second");
  write_file(src + "/dir/new", "added");
  auto p2 = s.run({"publish", st, src, s.spec, "-q"});
  REQUIRE_MESSAGE(p2.code == 0, p2.err);

  auto add = s.run({"tag", st, s.spec, "-a", "release-1", "-m", "the first", "--revision", "1", "-q"});
  REQUIRE_MESSAGE(add.code == 0, add.err);
  auto chk = s.run({"check", "-i", s.spec, "--pubkey", st});
  CHECK_MESSAGE(chk.code == 0, chk.err);
  auto text = s.run({"tag", s.spec, "--pubkey", st});
  REQUIRE_MESSAGE(text.code == 0, text.err);
  CHECK(has(text.out, "release-1"));
  CHECK(has(text.out, "the first"));
  auto json = s.run({"tag", s.spec, "--pubkey", st, "--json"});
  REQUIRE_MESSAGE(json.code == 0, json.err);
  CHECK(has(json_field(json.out, "tags"), "\"name\":\"release-1\""));
  auto one = s.run({"tag", "-i", "release-1", s.spec, "--pubkey", st});
  REQUIRE_MESSAGE(one.code == 0, one.err);
  CHECK(has(one.out, "revision:        1"));

  // diff by tag names and by revision numbers, text and JSON.
  auto diff = s.run({"diff", s.spec, "release-1", "trunk", "--pubkey", st});
  REQUIRE_MESSAGE(diff.code == 0, diff.err);
  CHECK(has(diff.out, "A dir/new\n"));
  CHECK(has(diff.out, "M top ("));
  CHECK_FALSE(has(diff.out, "dir/a"));
  auto djson = s.run({"diff", s.spec, "1", "2", "--json", "--pubkey", st});
  REQUIRE_MESSAGE(djson.code == 0, djson.err);
  CHECK(has(json_field(djson.out, "added"), "dir/new"));
  CHECK(has(json_field(djson.out, "modified"), "top"));
  CHECK(json_field(djson.out, "removed") == "[]");

  // The tagged revision restores as it was published.
  auto res = s.run({"cat", s.spec, "top", "--tag", "release-1", "--pubkey", st});
  CHECK(res.out == "first");

  auto rm = s.run({"tag", st, s.spec, "-r", "release-1", "-q"});
  REQUIRE_MESSAGE(rm.code == 0, rm.err);
  auto after = s.run({"tag", s.spec, "--pubkey", st});
  CHECK_FALSE(has(after.out, "release-1"));
  chk = s.run({"check", "-i", s.spec, "--pubkey", st});
  CHECK_MESSAGE(chk.code == 0, chk.err);
}

}  // namespace

TEST_CASE("tag and diff on s3rver over HTTPS, both formats") {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  s3rver server(d / "s3", "bucket", tls);
  tag_and_diff(d, s3_store(server, tls, "s3://bucket/native"), false);
  tag_and_diff(d, s3_store(server, tls, "s3://bucket/cvmfs"), true);
}

TEST_CASE("tag and diff on Azurite over HTTPS, both formats") {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  azurite server(d / "az", "repo", tls);
  tag_and_diff(d, azure_store(server, tls, "az://devstoreaccount1/repo/native"), false);
  tag_and_diff(d, azure_store(server, tls, "az://devstoreaccount1/repo/cvmfs"), true);
}

TEST_CASE("tag -a under per-request faults: retried, or stopped with the repository intact and finished by a re-run") {
  temp_dir d;
  s3rver server(d / "s3", "bucket", {});  // plain HTTP: the proxy reads the requests
  run_options keys;
  keys.env = {"AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=S3RVER"};
  const std::string spec = "s3://bucket/repo", st = d / "st";
  make_tree(d / "src", {{'f', "a", "one"}, {'d', "d"}, {'f', "d/b", "two"}});
  auto via = [&](const std::string& endpoint, std::vector<std::string> a) {
    a.insert(a.end(), {"--endpoint", endpoint, "--request-timeout", "1"});
    return run_stratum(a, keys);
  };
  auto pub = via(server.endpoint(), {"publish", "--new", st, d / "src", spec, "-q"});
  REQUIRE_MESSAGE(pub.code == 0, pub.err);
  auto tagged = [&](const std::string& name) {
    auto list = via(server.endpoint(), {"tag", spec, "--pubkey", st});
    REQUIRE_MESSAGE(list.code == 0, list.err);
    return has(list.out, name + " ") || has(list.out, name + "\t") || has(list.out, name + "\n");
  };
  // How many requests a tag -a makes.
  int requests = 0;
  {
    fault_proxy counter(server.port(), [](int, const std::string&) { return fault_plan{}; });
    auto r = via(counter.endpoint(), {"tag", st, spec, "-a", "counted", "-q"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    requests = counter.requests();
    REQUIRE(requests >= 3);
    REQUIRE(tagged("counted"));
  }
  int finished_by_rerun = 0, found_done = 0;
  const fault kinds[] = {fault::status, fault::reset_mid_body, fault::status};
  const char* names[] = {"503 SlowDown", "reset mid-body", "403 AccessDenied"};
  for (int k = 0; k < 3; ++k) {
    for (int n = 1; n <= requests; ++n) {
      const std::string kind = names[k], tag = "t" + std::to_string(k) + "-" + std::to_string(n);
      CAPTURE(kind);
      CAPTURE(n);
      fault_proxy proxy(server.port(), [&](int i, const std::string&) {
        fault_plan p;
        if (i != n) return p;
        p.kind = kinds[k];
        if (k == 2) {
          p.status = 403;
          p.code = "AccessDenied";
        }
        return p;
      });
      auto r = via(proxy.endpoint(), {"tag", st, spec, "-a", tag, "-q"});
      CHECK(proxy.requests() >= n);  // the fault happened
      if (k < 2) {
        CHECK_MESSAGE(r.code == 0, r.err);  // a transient fault is retried away
      } else {
        CHECK_MESSAGE(r.code == 3, r.err);  // a permanent one stops the edit
        CHECK(has(r.err, "403"));
      }
      auto chk = via(server.endpoint(), {"check", "-i", spec, "--pubkey", st});
      CHECK_MESSAGE(chk.code == 0, chk.err);
      if (r.code != 0) {
        // The same command again finishes the job, or finds it was finished
        // (the manifest was written before the failing request).
        auto again = via(server.endpoint(), {"tag", st, spec, "-a", tag, "-q"});
        CHECK_MESSAGE((again.code == 0 || (again.code == 2 && has(again.err, "exists"))), again.err);
        (again.code == 0 ? finished_by_rerun : found_done)++;
      }
      CHECK(tagged(tag));
    }
  }
  // A 403 on the first request (reading the manifest) leaves the job to the re-run.
  CHECK(finished_by_rerun >= 1);
  CHECK(finished_by_rerun + found_done == requests);
  // Every tag is still there, and the next publish keeps them.
  write_file(d / "src/a", "changed");
  auto next = via(server.endpoint(), {"publish", st, d / "src", spec, "-q"});
  REQUIRE_MESSAGE(next.code == 0, next.err);
  CHECK(tagged("t2-1"));
  CHECK(tagged("counted"));
  auto chk = via(server.endpoint(), {"check", "-i", spec, "--pubkey", st});
  CHECK_MESSAGE(chk.code == 0, chk.err);
}
