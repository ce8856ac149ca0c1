// gc against s3rver and Azurite over HTTPS, in both formats, and behind the
// fault proxy. The emulators' objects cannot be aged, so each test waits two
// seconds between its last publish and gc (gc keeps what was written within
// a second of its start). What gc deletes is cross-checked with the same
// revisions on a local store, whose result tests/e2e/gc_test.cpp checks
// against an independent oracle: the same counts, `check -i` passes, the
// kept revisions read back, and a second gc finds nothing to delete.
#include "fault_proxy.hpp"
#include "servers.hpp"
#include "support.hpp"

#include <chrono>
#include <filesystem>
#include <thread>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(2100)); }

// Revision k of `src`: a file every revision changes and one only it has.
void revision(const std::string& src, int k) {
  write_file(src + "/rev", "revision " + std::to_string(k));
  for (const auto& e : fs::directory_iterator(src))
    if (e.path().filename().string().rfind("only", 0) == 0) fs::remove(e.path());
  write_file(src + "/only" + std::to_string(k), noise(20 << 10, k));
}

// Four revisions (1 tagged v1) to `s`, and the same to a local store;
// gc --keep-since now on both must delete the same number of objects.
void collect(const temp_dir& d, const cloud_store& s, bool cvmfs) {
  CAPTURE(s.spec);
  CAPTURE(cvmfs);
  const std::string tag = cvmfs ? "-cvmfs" : "";
  const std::string st = d / ("st" + tag), src = d / ("src" + tag), lst = d / ("local-st" + tag), lstore = d / ("local" + tag);
  make_tree(src, {{'f', "shared", "in every revision"}, {'d', "dir"}, {'f', "dir/a", "alpha"}});
  for (int k = 1; k <= 4; ++k) {
    revision(src, k);
    std::vector<std::string> a = {"publish", st, src, s.spec, "-q"}, l = {"publish", lst, src, lstore, "-q"};
    if (k == 1) {
      for (auto* v : {&a, &l}) {
        v->insert(v->begin() + 1, "--new");
        v->insert(v->end(), {"--tag", "v1"});
        if (cvmfs) v->insert(v->end(), {"--format", "cvmfs", "--name", "gc.example.org"});
      }
    }
    auto p = s.run(a);
    REQUIRE_MESSAGE(p.code == 0, p.err);
    auto q = run_stratum(l);
    REQUIRE_MESSAGE(q.code == 0, q.err);
  }
  settle();
  auto dry = s.run({"gc", st, s.spec, "--keep-since", "now", "--dry-run", "--json"});
  REQUIRE_MESSAGE(dry.code == 0, dry.err);
  auto gc = s.run({"gc", st, s.spec, "--keep-since", "now", "--json"});
  REQUIRE_MESSAGE(gc.code == 0, gc.err);
  auto local = run_stratum({"gc", lst, lstore, "--keep-since", "now", "--json"});
  REQUIRE_MESSAGE(local.code == 0, local.err);
  const auto deleted = json_field(gc.out, "objects_deleted");
  CHECK(std::stoul(deleted) >= 4);  // revision 2's own content and catalog, two old histories
  CHECK(deleted == json_field(dry.out, "objects_deleted"));
  CHECK(deleted == json_field(local.out, "objects_deleted"));
  CHECK(json_field(gc.out, "objects_marked") == json_field(local.out, "objects_marked"));
  auto chk = s.run({"check", "-i", s.spec, "--pubkey", st});
  CHECK_MESSAGE(chk.code == 0, chk.err);
  auto v1 = s.run({"cat", s.spec, "rev", "--tag", "v1", "--pubkey", st});
  CHECK(v1.out == "revision 1");
  auto again = s.run({"gc", st, s.spec, "--keep-since", "now", "--json"});
  REQUIRE_MESSAGE(again.code == 0, again.err);
  CHECK(json_field(again.out, "objects_deleted") == "0");
}

}  // namespace

TEST_CASE("gc on s3rver over HTTPS, both formats") {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  s3rver server(d / "s3", "bucket", tls);
  collect(d, s3_store(server, tls, "s3://bucket/native"), false);
  collect(d, s3_store(server, tls, "s3://bucket/cvmfs"), true);
}

TEST_CASE("gc on Azurite over HTTPS, both formats") {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  azurite server(d / "az", "repo", tls);
  collect(d, azure_store(server, tls, "az://devstoreaccount1/repo/native"), false);
  collect(d, azure_store(server, tls, "az://devstoreaccount1/repo/cvmfs"), true);
}

TEST_CASE("gc under per-request faults: retried, or stopped with the repository intact and finished by a re-run") {
  temp_dir d;
  s3rver server(d / "s3", "bucket", {});  // plain HTTP: the proxy reads the requests
  run_options keys;
  keys.env = {"AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=S3RVER"};
  const std::string spec = "s3://bucket/repo", st = d / "st", src = d / "src";
  auto via = [&](const std::string& endpoint, std::vector<std::string> a) {
    a.insert(a.end(), {"--endpoint", endpoint, "--request-timeout", "2"});
    return run_stratum(a, keys);
  };
  make_tree(src, {{'f', "shared", "in every revision"}});
  revision(src, 1);
  auto pub = via(server.endpoint(), {"publish", "--new", st, src, spec, "-q", "--tag", "v1"});
  REQUIRE_MESSAGE(pub.code == 0, pub.err);
  struct trial {
    const char* what;
    const char* method;
    int nth;  // the nth request of that method
    fault kind;
    int status;
  };
  // In order: the first gc also signs the manifest again (garbage-collectable).
  const trial trials[] = {
      {"403 on the manifest signed again", "PUT", 2, fault::status, 403},
      {"403 on the first DeleteObjects", "POST", 1, fault::status, 403},
      {"503 on the first DeleteObjects", "POST", 1, fault::status, 503},
      {"reset mid-body on the clock marker", "PUT", 1, fault::reset_mid_body, 0},
      {"403 on a shard's listing", "GET", 20, fault::status, 403},
      {"403 reading the manifest", "GET", 1, fault::status, 403},
  };
  int k = 1;
  for (const auto& t : trials) {
    CAPTURE(t.what);
    // New garbage: revision k-1's own content goes once k+1 is current.
    for (int i = 0; i < 2; ++i) {
      revision(src, ++k);
      auto p = via(server.endpoint(), {"publish", st, src, spec, "-q"});
      REQUIRE_MESSAGE(p.code == 0, p.err);
    }
    settle();
    int seen = 0;
    fault_proxy proxy(server.port(), [&](int, const std::string& method) {
      fault_plan p;
      if (method != t.method || ++seen != t.nth) return p;
      p.kind = t.kind;
      if (t.kind == fault::status) {
        p.status = t.status;
        p.code = t.status == 403 ? "AccessDenied" : "SlowDown";
      }
      return p;
    });
    auto r = via(proxy.endpoint(), {"gc", st, spec, "--keep-since", "now", "--json"});
    CHECK(seen >= t.nth);  // the fault happened
    if (t.status == 403) {
      CHECK_MESSAGE(r.code == 3, r.err);
      CHECK_MESSAGE(has(r.err, "403"), r.err);
    } else {
      CHECK_MESSAGE(r.code == 0, r.err);
    }
    auto chk = via(server.endpoint(), {"check", "-i", spec, "--pubkey", st});
    CHECK_MESSAGE(chk.code == 0, chk.err);
    auto v1 = via(server.endpoint(), {"cat", spec, "rev", "--tag", "v1", "--pubkey", st});
    CHECK(v1.out == "revision 1");
    // Whatever stopped it, the next gc finishes the job.
    auto next = via(server.endpoint(), {"gc", st, spec, "--keep-since", "now", "--json"});
    REQUIRE_MESSAGE(next.code == 0, next.err);
    auto none = via(server.endpoint(), {"gc", st, spec, "--keep-since", "now", "--dry-run", "--json"});
    REQUIRE_MESSAGE(none.code == 0, none.err);
    CHECK(json_field(none.out, "objects_deleted") == "0");
    const auto total = std::stoul(json_field(r.out.empty() ? next.out : r.out, "objects_deleted")) +
                       (r.out.empty() ? 0 : std::stoul(json_field(next.out, "objects_deleted")));
    CHECK(total >= 2);
  }
  auto cur = via(server.endpoint(), {"cat", spec, "rev", "--pubkey", st});
  CHECK(cur.out == "revision " + std::to_string(k));
}
