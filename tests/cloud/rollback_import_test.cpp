// rollback and import against s3rver and Azurite over HTTPS, in both
// formats, with the real binary: a rollback to a tag is a new revision with
// the tag's tree, the tags as CernVM-FS's rule leaves them, and the next
// publish reads only what differs from the rolled-back tree; an imported
// STATE publishes the same tree without sending a data object. Then
// rollback behind the fault proxy (s3rver, plain HTTP): a 503 or a reset
// mid-body on each request in turn is retried away; a 403 on each request
// in turn stops it with the repository intact at the old or the new
// revision, and the same command again finishes the job or says it is done.
// The store is judged by stratum's reader (`check -i`, `cat`).
#include "fault_proxy.hpp"
#include "servers.hpp"
#include "support.hpp"

#include <filesystem>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// `stratum tag STORE --json`: field `field` of tag `name` ("" when none).
std::string tag_field(const std::string& json, const std::string& name, const std::string& field) {
  const std::string tags = json_field(json, "tags");
  const auto at = tags.find("\"name\":\"" + name + "\"");
  if (at == std::string::npos) return "";
  const auto end = tags.find('}', at);
  return json_field("{" + tags.substr(at, end - at) + "}", field);
}

std::string nested_marker(bool cvmfs) { return cvmfs ? ".cvmfscatalog" : ".stratumcatalog"; }

// R1 (tag v1), R2 (tag mid), R3; rollback -t v1 makes revision 4 with v1's
// tree; the next publish of R3's tree (its files as R3 left them) reads
// only the three that differ from v1's and publishes R3's content.
void rollback_to_v1(const temp_dir& d, const cloud_store& s, bool cvmfs) {
  CAPTURE(s.spec);
  CAPTURE(cvmfs);
  const std::string tag = cvmfs ? "-cvmfs" : "";
  const std::string st = d / ("st" + tag), src = d / ("src" + tag);
  make_tree(src, {{'f', "top.txt", "first"},
                  {'d', "dir"},
                  {'f', "dir/a", "alpha"},
                  {'f', "gone.txt", "only in v1"},
                  {'d', "pkg"},
                  {'f', "pkg/" + nested_marker(cvmfs), ""},
                  {'f', "pkg/p", "inside"}});
  std::vector<std::string> first = {"publish", "--new", st, src, s.spec, "-q", "--tag", "v1"};
  if (cvmfs) first.insert(first.end(), {"--format", "cvmfs", "--name", "rb.example.org"});
  auto p1 = s.run(first);
  REQUIRE_MESSAGE(p1.code == 0, p1.err);
  write_file(src + "/top.txt", "second");
  auto p2 = s.run({"publish", st, src, s.spec, "-q", "--tag", "mid"});
  REQUIRE_MESSAGE(p2.code == 0, p2.err);
  write_file(src + "/top.txt", "third!");
  write_file(src + "/dir/a", "alpha, changed");
  write_file(src + "/new.txt", "new in three");
  fs::remove(src + "/gone.txt");
  auto p3 = s.run({"publish", st, src, s.spec, "--json"});
  REQUIRE_MESSAGE(p3.code == 0, p3.err);
  REQUIRE(json_field(p3.out, "revision") == "3");

  auto rb = s.run({"rollback", st, s.spec, "-t", "v1"});
  REQUIRE_MESSAGE(rb.code == 0, rb.err);
  CHECK_MESSAGE(has(rb.err, "removed tag 'mid'"), rb.err);
  CHECK_MESSAGE(has(rb.err, "now revision 4"), rb.err);
  auto info = s.run({"info", s.spec, "--json", "--pubkey", st});
  REQUIRE_MESSAGE(info.code == 0, info.err);
  CHECK(json_field(info.out, "revision") == "4");
  CHECK(s.run({"cat", s.spec, "top.txt", "--pubkey", st}).out == "first");
  CHECK(s.run({"cat", s.spec, "gone.txt", "--pubkey", st}).out == "only in v1");
  CHECK(s.run({"cat", s.spec, "pkg/p", "--pubkey", st}).out == "inside");
  auto chk = s.run({"check", "-i", s.spec, "--pubkey", st});
  CHECK_MESSAGE(chk.code == 0, chk.err);
  // CernVM-FS's rule: the tags after v1's revision (mid) and trunk-previous
  // are gone; v1 and trunk name revision 4.
  auto tags = s.run({"tag", s.spec, "--pubkey", st, "--json"});
  REQUIRE_MESSAGE(tags.code == 0, tags.err);
  CAPTURE(tags.out);
  CHECK(tag_field(tags.out, "v1", "revision") == "4");
  CHECK(tag_field(tags.out, "trunk", "revision") == "4");
  CHECK(tag_field(tags.out, "mid", "revision") == "");
  CHECK(tag_field(tags.out, "trunk-previous", "revision") == "");
  CHECK(tag_field(tags.out, "v1", "root_catalog") == tag_field(tags.out, "trunk", "root_catalog"));

  // The journal was rebased onto v1's tree: top.txt, dir/a and new.txt are
  // read, the rest matches v1's records.
  auto p5 = s.run({"publish", st, src, s.spec, "--json"});
  REQUIRE_MESSAGE(p5.code == 0, p5.err);
  CHECK(json_field(p5.out, "revision") == "5");
  CHECK(json_field(p5.out, "files_read") == "3");
  CHECK(s.run({"cat", s.spec, "top.txt", "--pubkey", st}).out == "third!");
  CHECK(s.run({"cat", s.spec, "new.txt", "--pubkey", st}).out == "new in three");
  CHECK(s.run({"cat", s.spec, "gone.txt", "--pubkey", st}).code != 0);
  chk = s.run({"check", "-i", s.spec, "--pubkey", st});
  CHECK_MESSAGE(chk.code == 0, chk.err);
}

// Published from STATE A, imported into STATE B with A's keys: B's publish
// of the same tree sends no data object (native: nothing read, nothing
// stored; CernVM-FS, mtimes in seconds: every file read once, only the
// catalogs and the history stored).
void import_then_publish(const temp_dir& d, const cloud_store& s, bool cvmfs) {
  CAPTURE(s.spec);
  CAPTURE(cvmfs);
  const std::string tag = cvmfs ? "-cvmfs" : "";
  const std::string a = d / ("A" + tag), b = d / ("B" + tag), src = d / ("isrc" + tag);
  std::vector<fixture> tree;
  for (int i = 0; i < 4; ++i) tree.push_back({'f', "f" + std::to_string(i), pattern(500 + 37 * i, static_cast<unsigned>(i))});
  tree.push_back({'l', "link", "", "f0"});
  tree.push_back({'d', "pkg"});
  tree.push_back({'f', "pkg/" + nested_marker(cvmfs), ""});
  tree.push_back({'f', "pkg/p", noise(3000, 9)});
  make_tree(src, tree);
  const std::uint64_t content_files = 5;  // f0..f3, pkg/p (an empty file is not read)
  std::vector<std::string> first = {"publish", "--new", a, src, s.spec, "-q"};
  if (cvmfs) first.insert(first.end(), {"--format", "cvmfs", "--name", "imp.example.org"});
  auto p1 = s.run(first);
  REQUIRE_MESSAGE(p1.code == 0, p1.err);

  auto imp = s.run({"import", b, s.spec, "--keys", a + "/keys", "--source", src});
  REQUIRE_MESSAGE(imp.code == 0, imp.err);
  CHECK_MESSAGE(has(imp.err, "imported revision 1"), imp.err);
  auto r = s.run({"publish", b, src, s.spec, "--json"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  if (!cvmfs) {
    // Nothing changed: no new revision either.
    CHECK(json_field(r.out, "revision") == "1");
    CHECK(json_field(r.out, "unchanged") == "true");
    CHECK(json_field(r.out, "files_read") == "0");
    CHECK(json_field(r.out, "objects_stored") == "0");
  } else {
    CHECK(json_field(r.out, "revision") == "2");
    CHECK(std::stoull(json_field(r.out, "files_read")) == content_files);
    CHECK(std::stoull(json_field(r.out, "objects_stored")) == std::stoull(json_field(r.out, "catalogs")) + 1);
  }
  auto chk = s.run({"check", "-i", s.spec, "--pubkey", a});
  CHECK_MESSAGE(chk.code == 0, chk.err);
  CHECK(s.run({"cat", s.spec, "pkg/p", "--pubkey", a}).out == noise(3000, 9));
  // B goes on publishing: one changed file is read and sent alone.
  write_file(src + "/f2", "changed under B");
  r = s.run({"publish", b, src, s.spec, "--json"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(json_field(r.out, "files_read") == "1");
  CHECK(s.run({"cat", s.spec, "f2", "--pubkey", a}).out == "changed under B");
}

struct s3_setup {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  s3rver server{d / "s3", "bucket", tls};
  cloud_store store(const std::string& prefix) {
    run_options keys;
    keys.env = {"AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=S3RVER"};
    return {"s3://bucket/" + prefix, {"--endpoint", server.endpoint(), "--ca-file", tls.cert}, keys};
  }
};

struct azure_setup {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  azurite server{d / "az", "repo", tls};
  cloud_store store(const std::string& prefix) {
    run_options key;
    key.env = {std::string("AZURE_STORAGE_KEY=") + azurite::key, "AZURE_STORAGE_SAS_TOKEN="};
    return {"az://devstoreaccount1/repo/" + prefix, {"--endpoint", server.endpoint(), "--ca-file", tls.cert}, key};
  }
};

}  // namespace

TEST_CASE("rollback on s3rver over HTTPS, both formats") {
  s3_setup s;
  rollback_to_v1(s.d, s.store("native"), false);
  rollback_to_v1(s.d, s.store("cvmfs"), true);
}

TEST_CASE("rollback on Azurite over HTTPS, both formats") {
  azure_setup s;
  rollback_to_v1(s.d, s.store("native"), false);
  rollback_to_v1(s.d, s.store("cvmfs"), true);
}

TEST_CASE("import on s3rver over HTTPS, both formats") {
  s3_setup s;
  import_then_publish(s.d, s.store("native"), false);
  import_then_publish(s.d, s.store("cvmfs"), true);
}

TEST_CASE("import on Azurite over HTTPS, both formats") {
  azure_setup s;
  import_then_publish(s.d, s.store("native"), false);
  import_then_publish(s.d, s.store("cvmfs"), true);
}

namespace {

// Rollback to v1 with a fault on request n, for every n of a rollback.
void rollback_under_faults(bool cvmfs) {
  temp_dir d;
  s3rver server(d / "s3", "bucket", {});  // plain HTTP: the proxy reads the requests
  run_options keys;
  keys.env = {"AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=S3RVER"};
  const std::string spec = "s3://bucket/repo", st = d / "st", src = d / "src";
  auto via = [&](const std::string& endpoint, std::vector<std::string> a) {
    a.insert(a.end(), {"--endpoint", endpoint, "--request-timeout", "1"});
    return run_stratum(a, keys);
  };
  auto direct = [&](std::vector<std::string> a) { return via(server.endpoint(), std::move(a)); };
  make_tree(src, {{'f', "a", "one"}, {'f', "b", "two"}, {'d', "pkg"}, {'f', "pkg/" + nested_marker(cvmfs), ""},
                  {'f', "pkg/c", "three"}});
  std::vector<std::string> first = {"publish", "--new", st, src, spec, "-q", "--tag", "v1"};
  if (cvmfs) first.insert(first.end(), {"--format", "cvmfs", "--name", "faults.example.org"});
  auto pub = direct(first);
  REQUIRE_MESSAGE(pub.code == 0, pub.err);
  auto current_a = [&] { return direct({"cat", spec, "a", "--pubkey", st}).out; };
  auto revision = [&] { return std::stoul(json_field(direct({"info", spec, "--json", "--pubkey", st}).out, "revision")); };
  // A new revision away from v1's tree: `a` changed. The rollback before it
  // rebased the journal onto v1's tree, so `a` alone is read. Returns the
  // revision published. (Each trial runs the binary a few times only: the
  // CernVM-FS rollback makes 14 requests, each failed three ways.)
  int k = 0;
  auto move_on = [&] {
    write_file(src + "/a", "rev " + std::to_string(++k));
    auto p = direct({"publish", st, src, spec, "--json"});
    REQUIRE_MESSAGE(p.code == 0, p.err);
    CHECK(json_field(p.out, "files_read") == "1");
    return std::stoul(json_field(p.out, "revision"));
  };
  // How many requests a rollback makes.
  int requests = 0;
  {
    move_on();
    fault_proxy counter(server.port(), [](int, const std::string&) { return fault_plan{}; });
    auto r = via(counter.endpoint(), {"rollback", st, spec, "-t", "v1", "-q"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    requests = counter.requests();
    REQUIRE(requests >= 3);
    REQUIRE(current_a() == "one");
    REQUIRE(revision() == 3);
  }
  int finished_by_rerun = 0, found_done = 0;
  const fault kinds[] = {fault::status, fault::reset_mid_body, fault::status};
  const std::string names[] = {"503 SlowDown", "reset mid-body", "403 AccessDenied"};
  for (int kind = 0; kind < 3; ++kind) {
    for (int n = 1; n <= requests; ++n) {
      CAPTURE(names[kind]);
      CAPTURE(n);
      const unsigned long old = move_on();
      fault_proxy proxy(server.port(), [&](int i, const std::string&) {
        fault_plan p;
        if (i != n) return p;
        p.kind = kinds[kind];
        if (kind == 2) {
          p.status = 403;
          p.code = "AccessDenied";
        }
        return p;
      });
      auto r = via(proxy.endpoint(), {"rollback", st, spec, "-t", "v1", "-q"});
      CHECK(proxy.requests() >= n);  // the fault happened
      if (kind < 2) {
        // A transient fault is retried away. (check -i runs after each kind's
        // last trial: a run of the binary less per trial.)
        CHECK_MESSAGE(r.code == 0, r.err);
      } else {
        auto chk = direct({"check", "-i", spec, "--pubkey", st});
        CHECK_MESSAGE(chk.code == 0, chk.err);
        CHECK_MESSAGE(r.code == 3, r.err);  // a permanent one stops the rollback
        CHECK_MESSAGE(has(r.err, "403"), r.err);
        // Either nothing was made current, or the new manifest was written
        // before the failing request: the revision and the file agree.
        const std::string a = current_a();
        const unsigned long now = revision();
        CHECK(((a == "rev " + std::to_string(k) && now == old) || (a == "one" && now == old + 1)));
        // The same command again: it rolls back, or (the rollback is
        // current) refuses with exit 2 and says there is nothing to do.
        auto again = direct({"rollback", st, spec, "-t", "v1", "-q"});
        if (a == "one") {
          CHECK(again.code == 2);
          CHECK_MESSAGE(has(again.err, "there is nothing to roll back"), again.err);
          found_done++;
        } else {
          CHECK_MESSAGE(again.code == 0, again.err);
          finished_by_rerun++;
        }
        CHECK(revision() == old + 1);
      }
      CHECK(current_a() == "one");
    }
    auto chk = direct({"check", "-i", spec, "--pubkey", st});
    CHECK_MESSAGE(chk.code == 0, chk.err);
  }
  // A 403 on the first request (reading the manifest) leaves the job to the
  // re-run; one after the manifest's PUT (the journal's rebase reads the
  // nested catalog) leaves the rollback done.
  CHECK(finished_by_rerun >= 1);
  CHECK(found_done >= 1);
  CHECK(finished_by_rerun + found_done == requests);
  // The next publish restores the source tree's content.
  move_on();
  CHECK(current_a() == "rev " + std::to_string(k));
  CHECK(direct({"cat", spec, "pkg/c", "--pubkey", st}).out == "three");
  auto chk = direct({"check", "-i", spec, "--pubkey", st});
  CHECK_MESSAGE(chk.code == 0, chk.err);
}

}  // namespace

// Two cases, not subcases: ctest runs them side by side.
TEST_CASE("rollback under per-request faults (stratum's format): retried, or stopped and finished by a re-run") {
  rollback_under_faults(false);
}
TEST_CASE("rollback under per-request faults (CernVM-FS format): retried, or stopped and finished by a re-run") {
  rollback_under_faults(true);
}
