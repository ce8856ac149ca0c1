// S3: SigV4 against AWS's published test vectors and botocore's signer, and
// the stratum binary against s3rver over HTTPS: publish, restore, awscli's
// view of the bucket, certificate checking, and no secret in any output.
#include "async/group.hpp"
#include "io/sha256.hpp"
#include "fault_proxy.hpp"
#include "servers.hpp"
#include "storage/http/http.hpp"
#include "storage/s3/sigv4.hpp"
#include "support.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace stratum;
using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

// The aws-sig-v4-test-suite's fixed inputs.
const aws_credentials suite_creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const std::string empty_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string signature_of(const std::string& authorization) { return authorization.substr(authorization.rfind('=') + 1); }

sigv4_signed suite_sign(const std::string& method, const std::string& path,
                        std::vector<std::pair<std::string, std::string>> query,
                        std::vector<std::pair<std::string, std::string>> headers = {}, const std::string& payload = empty_hash) {
  sigv4_request r{method, "example.amazonaws.com", path, std::move(query), std::move(headers), payload};
  return sigv4_sign(r, suite_creds, "us-east-1", "service", "20150830T123600Z", false);
}

// Everything under `dir` as one string (to search for secrets).
std::string all_files(const std::string& dir) {
  std::string out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out += read_file(e.path().string());
  return out;
}

struct s3_env {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  s3rver server{d / "s3", "bucket", tls};
  std::vector<std::string> opts() const { return {"--endpoint", server.endpoint(), "--ca-file", tls.cert}; }
  std::vector<std::string> args(std::vector<std::string> a) const {
    auto o = opts();
    a.insert(a.end(), o.begin(), o.end());
    return a;
  }
};

run_options with_keys(const std::string& secret = "S3RVER") {
  run_options o;
  o.env = {"AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=" + secret};
  return o;
}

}  // namespace

TEST_CASE("SigV4 matches AWS's published test vectors") {
  // get-vanilla: each step, not only the signature.
  auto v = suite_sign("GET", "/", {});
  CHECK(v.canonical_request == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + empty_hash);
  CHECK(v.string_to_sign ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  CHECK(v.authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  // get-vanilla-query-order-key-case: the query is sorted by name.
  auto q = suite_sign("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}});
  CHECK(sha256(as_bytes(q.canonical_request)).hex() == "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
  CHECK(signature_of(q.authorization) == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  // get-vanilla-query-order-value: then by value.
  CHECK(signature_of(suite_sign("GET", "/", {{"Param1", "value2"}, {"Param1", "value1"}}).authorization) ==
        "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694");
  // get-unreserved: unreserved characters are not encoded.
  const std::string unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  CHECK(uri_encode(unreserved, true) == unreserved);
  CHECK(signature_of(suite_sign("GET", "/" + unreserved, {}).authorization) ==
        "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
  // post-x-www-form-urlencoded: a signed content type and a body hash.
  auto post = suite_sign("POST", "/", {}, {{"Content-Type", "application/x-www-form-urlencoded"}},
                         sha256(as_bytes("Param1=value1")).hex());
  CHECK(signature_of(post.authorization) == "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
  CHECK(post.authorization.find("SignedHeaders=content-type;host;x-amz-date,") != std::string::npos);

  // The S3 documentation's GetObject example (a range, the payload header).
  sigv4_request s3{"GET", "examplebucket.s3.amazonaws.com", "/test.txt", {}, {{"Range", "bytes=0-9"}}, empty_hash};
  auto doc = sigv4_sign(s3, {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""}, "us-east-1", "s3",
                        "20130524T000000Z");
  CHECK(signature_of(doc.authorization) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  // The signing key kept for a secret and scope is not used for another:
  // back to the suite's credentials and day.
  CHECK(suite_sign("GET", "/", {}).authorization == v.authorization);

  // Encoding: spaces and reserved bytes as uppercase %XX; '/' kept in paths.
  CHECK(uri_encode("a b/c+d=é", false) == "a%20b/c%2Bd%3D%C3%A9");
  CHECK(uri_encode("a/b", true) == "a%2Fb");
}

TEST_CASE("SigV4 signs a PUT exactly as botocore does") {
  // botocore (Debian's python3-botocore) signs the same request; the clock
  // is fixed so both sign the same moment.
  const std::string body = "the body of an object, signed by its SHA-256";
  const std::string hash = sha256(as_bytes(body)).hex();
  sigv4_request r{"PUT", "127.0.0.1:9000", "/bucket/data/ab/key%20with%20space", {}, {{"Content-Type", "application/octet-stream"}}, hash};
  aws_credentials c{"AKIDEXAMPLE", "secret/with+chars", "session-token-value"};
  auto ours = sigv4_sign(r, c, "eu-west-3", "s3", "20261121T101500Z");
  temp_dir d;
  write_file(d / "sign.py", R"PY(
import datetime, sys
import botocore.auth, botocore.awsrequest, botocore.credentials
class Fixed(datetime.datetime):
    @classmethod
    def utcnow(cls): return cls(2026, 11, 21, 10, 15, 0)
botocore.auth.datetime.datetime = Fixed
body = b"the body of an object, signed by its SHA-256"
req = botocore.awsrequest.AWSRequest(method="PUT", url="http://127.0.0.1:9000/bucket/data/ab/key%20with%20space",
                                     data=body, headers={"Content-Type": "application/octet-stream"})
creds = botocore.credentials.Credentials("AKIDEXAMPLE", "secret/with+chars", "session-token-value")
botocore.auth.S3SigV4Auth(creds, "s3", "eu-west-3").add_auth(req)
print(req.headers["Authorization"])
)PY");
  auto theirs = shell("/usr/bin/python3 " + d / "sign.py" + " 2>&1");
  while (!theirs.empty() && theirs.back() == '\n') theirs.pop_back();
  CHECK(ours.authorization == theirs);
}

TEST_CASE("publish to S3 over HTTPS, restore from it, and awscli sees exactly those objects") {
  s3_env s;
  make_tree(s.d / "src", {{'d', "dir"}, {'f', "dir/a", "alpha"}, {'f', "b", std::string(300000, 'b')}, {'f', "c", "alpha"},
                          {'l', "link", "", "dir/a"}, {'f', "with space & amp", "x"}});
  auto pub = run_stratum(s.args({"publish", "--new", s.d / "st", s.d / "src", "s3://bucket/repo", "--json"}), with_keys());
  INFO(pub.err);
  REQUIRE(pub.code == 0);
  auto res = run_stratum(s.args({"restore", "s3://bucket/repo", s.d / "dst"}), with_keys());
  REQUIRE_MESSAGE(res.code == 0, res.err);
  auto diffs = compare_trees(s.d / "src", s.d / "dst", ::geteuid() == 0);
  CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));
  auto chk = run_stratum(s.args({"check", "-i", "s3://bucket/repo"}), with_keys());
  CHECK_MESSAGE(chk.code == 0, chk.err);

  // awscli lists what stratum stored: every object plus the manifest.
  auto listing = shell("AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER /usr/bin/aws --endpoint-url " + s.server.endpoint() +
                       " --ca-bundle " + s.tls.cert + " s3 ls --recursive s3://bucket/repo/ 2>&1");
  std::set<std::string> keys;
  std::istringstream in(listing);
  for (std::string line; std::getline(in, line);) {
    auto k = line.rfind(' ');
    if (k != std::string::npos) keys.insert(line.substr(k + 1));
  }
  INFO(listing);
  CHECK(keys.size() == std::stoull(json_field(pub.out, "objects_stored")) + 1);
  CHECK(keys.count("repo/.stratumpublished") == 1);
  for (auto& k : keys) CHECK_MESSAGE((k == "repo/.stratumpublished" || k.rfind("repo/data/", 0) == 0), k);

  // The next revision reads only what changed.
  write_file(s.d / "src/c", "changed");
  auto next = run_stratum(s.args({"publish", s.d / "st", s.d / "src", "s3://bucket/repo", "--json"}), with_keys());
  REQUIRE_MESSAGE(next.code == 0, next.err);
  CHECK(json_field(next.out, "files_read") == "1");
  CHECK(run_stratum(s.args({"cat", "s3://bucket/repo", "c"}), with_keys()).out == "changed");
}

TEST_CASE("a wrong CA and a plain-HTTP endpoint posing as HTTPS are refused") {
  s3_env s;
  make_tree(s.d / "src", {{'f', "a", "1"}});
  auto other = make_certificate(s.d / "other-ca");
  auto wrong = run_stratum({"publish", "--new", s.d / "st", s.d / "src", "s3://bucket/r", "--endpoint", s.server.endpoint(),
                            "--ca-file", other.cert},
                           with_keys());
  CHECK(wrong.code == 3);
  CHECK(wrong.err.find("does not verify") != std::string::npos);
  CHECK(wrong.err.find("--ca-file") != std::string::npos);
  // No CA given: the system's store does not know a self-signed certificate.
  auto system_ca = run_stratum({"ls", "s3://bucket/r", "--endpoint", s.server.endpoint()}, with_keys());
  CHECK(system_ca.code == 3);

  s3rver plain(s.d / "plain", "bucket", {});
  std::string posing = "https://127.0.0.1:" + std::to_string(plain.port());
  auto p = run_stratum({"publish", "--new", s.d / "st2", s.d / "src", "s3://bucket/r", "--endpoint", posing, "--ca-file", s.tls.cert},
                       with_keys());
  CHECK(p.code == 3);
  CHECK(p.err.find("does not speak TLS") != std::string::npos);
}

TEST_CASE("new connections resume the TLS session instead of verifying the certificate again") {
  // A full handshake costs the client ~5M instructions (decoding and
  // verifying the chain), a resumed one ~1.3M: a publish opens a connection
  // per request in flight, so this is most of what TLS costs a short run.
  s3_env s;
  asio::io_context io;
  http_options o;
  o.ca_file = s.tls.cert;
  auto client = make_http_client(io, parse_endpoint(s.server.endpoint()), o);
  auto one = [&]() -> awaitable<void> {
    http_request r;
    r.method = "GET";
    r.target = "/bucket?list-type=2";
    auto resp = co_await client->request(r);
    CHECK(resp.status != 0);
  };
  // The first connection receives the server's ticket with its answer; of
  // five requests at once, one takes it and four open connections of their
  // own, each resuming the session.
  run_io(io, one);
  run_io(io, [&]() -> awaitable<void> {
    std::vector<awaitable<void>> five;
    for (int i = 0; i < 5; ++i) five.push_back(one());
    co_await run_all(std::move(five));
  });
  auto c = client->connections();
  CHECK(c.opened == 5);
  CHECK(c.open == 5);
  CHECK(c.resumed == 4);
}

TEST_CASE("no credential appears in output, errors or the journal") {
  s3_env s;
  const std::string secret = "Sup3rSecretValue/ThatMustNeverLeak+42";
  make_tree(s.d / "src", {{'f', "a", "1"}, {'f', "b", "2"}});
  // s3rver accepts any secret key: the publish works and signs with it.
  auto ok = run_stratum(s.args({"publish", "--new", s.d / "st", s.d / "src", "s3://bucket/repo", "--json"}), with_keys(secret));
  REQUIRE_MESSAGE(ok.code == 0, ok.err);
  // A failing one: a bucket that does not exist.
  auto bad = run_stratum(s.args({"publish", "--new", s.d / "st2", s.d / "src", "s3://no-such-bucket/repo"}), with_keys(secret));
  CHECK(bad.code == 3);
  CHECK(bad.err.find("no-such-bucket") != std::string::npos);
  // Missing credentials are named, not shown.
  run_options none;
  none.env = {"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="};
  auto missing = run_stratum(s.args({"ls", "s3://bucket/repo"}), none);
  CHECK(missing.code == 2);
  CHECK(missing.err.find("AWS_SECRET_ACCESS_KEY") != std::string::npos);

  const std::string everything = ok.out + ok.err + bad.out + bad.err + missing.err + all_files(s.d / "st") + all_files(s.d / "st2");
  CHECK(everything.find(secret) == std::string::npos);
  CHECK(everything.find("Signature=") == std::string::npos);
  CHECK(everything.find("Authorization") == std::string::npos);
}

namespace {

// s3rver behind the fault proxy, plain HTTP (the proxy has to read requests).
struct faulty_s3 {
  temp_dir d;
  s3rver server{d / "s3", "bucket", {}};
  std::vector<std::string> args(const std::string& endpoint, std::vector<std::string> a) const {
    a.insert(a.end(), {"--endpoint", endpoint, "--request-timeout", "1", "--json"});
    return a;
  }
};

}  // namespace

TEST_CASE("every request of a publish may fail once: 503, reset mid-body, no answer, and the repository is intact") {
  faulty_s3 s;
  make_tree(s.d / "src", {{'d', "d"}, {'f', "d/a", "first file"}, {'f', "b", std::string(200000, 'b')}, {'f', "c", "third"}});
  // A clean publish counts the requests a publish makes.
  int requests = 0;
  {
    fault_proxy counter(s.server.port(), [](int, const std::string&) { return fault_plan{}; });
    auto r = run_stratum(s.args(counter.endpoint(), {"publish", "--new", s.d / "st0", s.d / "src", "s3://bucket/clean"}), with_keys());
    REQUIRE_MESSAGE(r.code == 0, r.err);
    requests = counter.requests();
    REQUIRE(requests >= 8);
  }
  const fault kinds[] = {fault::status, fault::reset_mid_body, fault::no_answer};
  const char* names[] = {"503 SlowDown", "reset mid-body", "no answer"};
  for (int k = 0; k < 3; ++k) {
    const std::string kind = names[k];
    for (int n = 1; n <= requests; ++n) {
      CAPTURE(kind);
      CAPTURE(n);
      fault_proxy proxy(s.server.port(), [&](int i, const std::string&) {
        fault_plan p;
        if (i == n) p.kind = kinds[k];
        return p;
      });
      const std::string repo = "s3://bucket/r" + std::to_string(k) + "-" + std::to_string(n);
      const std::string st = s.d / ("st" + std::to_string(k) + "-" + std::to_string(n));
      auto r = run_stratum(s.args(proxy.endpoint(), {"publish", "--new", st, s.d / "src", repo}), with_keys());
      INFO(r.err);
      REQUIRE(r.code == 0);
      CHECK(proxy.requests() > n);  // the fault happened, and more came after it
      // A reset on a kept-alive connection looks like the server closing it
      // while idle: the HTTP client sends once more at once, unseen by the
      // retry layer. Every other fault is one retry.
      if (kinds[k] == fault::reset_mid_body) CHECK(std::stoi(json_field(r.out, "requests_retried")) <= 1);
      else CHECK(json_field(r.out, "requests_retried") == "1");
      if (kinds[k] == fault::status) CHECK(json_field(r.out, "throttled") == "1");
      auto chk = run_stratum({"check", "-i", repo, "--endpoint", s.server.endpoint()}, with_keys());
      CHECK_MESSAGE(chk.code == 0, chk.err);
    }
  }
}

TEST_CASE("every request stratum sends is signed as botocore signs it") {
  // s3rver does not check signatures, so the requests of a publish, a
  // listing and a read are taken off the wire and botocore signs each again
  // at the moment its x-amz-date names: the same Authorization, and an
  // x-amz-content-sha256 that is the SHA-256 of the body sent. Object PUTs
  // are hashed on a worker thread (prepare_body) and signed at send time on
  // the I/O thread, with everything else.
  faulty_s3 s;
  make_tree(s.d / "src", {{'d', "d"}, {'f', "d/a", "first file"}, {'f', "d/key with space+plus", "second"},
                          {'f', "b", std::string(200000, 'b')}, {'f', "c", "third"}});
  fault_proxy proxy(s.server.port(), [](int, const std::string&) { return fault_plan{}; });
  run_options keys = with_keys("a/secret+key");
  keys.env.push_back("AWS_SESSION_TOKEN=a-session-token");
  auto pub = run_stratum(s.args(proxy.endpoint(), {"publish", "--new", s.d / "st", s.d / "src", "s3://bucket/signed/repo", "--region", "eu-west-3"}), keys);
  REQUIRE_MESSAGE(pub.code == 0, pub.err);
  // The window as sustained (two or more in flight) lies between the
  // whole run's mean and the peak.
  const double peak = std::stod(json_field(pub.out, "requests_in_flight_peak"));
  const double sustained = std::stod(json_field(pub.out, "requests_in_flight_sustained"));
  CHECK(sustained <= peak);
  CHECK(sustained >= std::stod(json_field(pub.out, "requests_in_flight_mean")));
  CHECK(sustained >= 2);
  auto ls = run_stratum({"ls", "s3://bucket/signed/repo", "d", "--endpoint", proxy.endpoint(), "--region", "eu-west-3"}, keys);
  REQUIRE_MESSAGE(ls.code == 0, ls.err);
  auto seen = proxy.seen();
  REQUIRE(seen.size() >= 8);
  std::set<std::string> methods;
  fs::create_directories(s.d / "wire");
  for (std::size_t i = 0; i < seen.size(); ++i) {
    write_file(s.d / ("wire/" + std::to_string(1000 + i)), seen[i]);
    methods.insert(seen[i].substr(0, seen[i].find(' ')));
  }
  CHECK(methods.count("PUT") == 1);
  CHECK(methods.count("GET") == 1);
  write_file(s.d / "verify.py", R"PY(
import datetime, glob, hashlib, sys
import botocore.auth, botocore.awsrequest, botocore.credentials
checked, wrong = 0, []
for name in sorted(glob.glob(sys.argv[1] + "/*")):
    head, _, body = open(name, "rb").read().partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, target, _ = lines[0].split(" ")
    h = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        h[k.strip().lower()] = v.strip()
    auth = h["authorization"]
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    moment = datetime.datetime.strptime(h["x-amz-date"], "%Y%m%dT%H%M%SZ")
    class Fixed(datetime.datetime):
        @classmethod
        def utcnow(cls): return moment
    botocore.auth.datetime.datetime = Fixed
    own = {k: h[k] for k in signed if k not in ("host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token")}
    req = botocore.awsrequest.AWSRequest(method=method, url="http://" + h["host"] + target, data=body, headers=own)
    creds = botocore.credentials.Credentials(sys.argv[2], sys.argv[3], h.get("x-amz-security-token"))
    botocore.auth.S3SigV4Auth(creds, "s3", "eu-west-3").add_auth(req)
    if req.headers["Authorization"] != auth or h["x-amz-content-sha256"] != hashlib.sha256(body).hexdigest():
        wrong.append(method + " " + target)
    checked += 1
print("checked", checked, "wrong", len(wrong), " ".join(wrong[:5]))
)PY");
  auto out = shell("/usr/bin/python3 " + s.d / "verify.py" + " " + s.d / "wire" + " S3RVER 'a/secret+key' 2>&1");
  CHECK(out == "checked " + std::to_string(seen.size()) + " wrong 0 \n");
}

TEST_CASE("a permanent S3 error stops the publish with a clear message, and the same command resumes") {
  faulty_s3 s;
  make_tree(s.d / "src", {{'f', "a", "1"}, {'f', "b", "2"}, {'f', "c", "3"}});
  {
    fault_proxy proxy(s.server.port(), [](int i, const std::string& method) {
      fault_plan p;
      if (i == 5 && method == "PUT") {
        p.kind = fault::status;
        p.status = 403;
        p.code = "AccessDenied";
      }
      return p;
    });
    auto r = run_stratum(s.args(proxy.endpoint(), {"publish", "--new", s.d / "st", s.d / "src", "s3://bucket/repo"}), with_keys());
    CHECK(r.code == 3);
    CHECK(r.err.find("HTTP 403 AccessDenied") != std::string::npos);
    CHECK(r.err.find("s3://bucket/repo") != std::string::npos);
    CHECK(r.err.find("run the same command again") != std::string::npos);
  }
  auto resumed = run_stratum(s.args(s.server.endpoint(), {"publish", s.d / "st", s.d / "src", "s3://bucket/repo"}), with_keys());
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(json_field(resumed.out, "resumed") == "true");
  CHECK(run_stratum({"check", "-i", "s3://bucket/repo", "--endpoint", s.server.endpoint()}, with_keys()).code == 0);
}

TEST_CASE("a CernVM-FS repository on S3: killed, resumed, the next revision, read back") {
  s3_env s;
  make_tree(s.d / "src", small_cvmfs_tree(50));
  const std::string store = "s3://bucket/cvmfs";
  run_options crash = with_keys();
  crash.env.push_back("STRATUM_CRASH_AT=upload:20");
  auto first = run_stratum(
      s.args({"publish", "--new", s.d / "st", s.d / "src", store, "--format", "cvmfs", "--name", "sw.example.org", "--json"}), crash);
  REQUIRE_MESSAGE(first.code == 128 + 9, first.err);
  auto again = run_stratum(s.args({"publish", s.d / "st", s.d / "src", store, "--json"}), with_keys());
  REQUIRE_MESSAGE(again.code == 0, again.err);
  CHECK(json_field(again.out, "resumed") == "true");
  // What the first run confirmed is not sent again.
  CHECK(std::stoull(json_field(again.out, "objects_resent")) <= std::stoull(json_field(again.out, "in_flight_at_stop")));
  CHECK(std::stoull(json_field(again.out, "objects_stored")) < 50);

  write_file(s.d / "src/f1", "revision two");
  auto next = run_stratum(s.args({"publish", s.d / "st", s.d / "src", store, "--json"}), with_keys());
  REQUIRE_MESSAGE(next.code == 0, next.err);
  CHECK(json_field(next.out, "revision") == "2");
  CHECK(json_field(next.out, "files_read") == "1");
  auto res = run_stratum(s.args({"restore", store, s.d / "dst", "--pubkey", s.d / "st"}), with_keys());
  REQUIRE_MESSAGE(res.code == 0, res.err);
  auto diffs = compare_trees(s.d / "src", s.d / "dst", ::geteuid() == 0);
  CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));
  auto chk = run_stratum(s.args({"check", "-i", store}), with_keys());
  CHECK_MESSAGE(chk.code == 0, chk.err);
  // The CernVM-FS layout, as awscli lists it.
  auto listing = shell("AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER /usr/bin/aws --endpoint-url " + s.server.endpoint() +
                       " --ca-bundle " + s.tls.cert + " s3 ls --recursive s3://bucket/cvmfs/ 2>&1");
  CAPTURE(listing);
  for (const char* f : {" cvmfs/.cvmfspublished\n", " cvmfs/.cvmfswhitelist\n", " cvmfs/.cvmfsreflog\n", " cvmfs/.cvmfs_master_replica\n",
                        " cvmfs/data/"})
    CHECK(listing.find(f) != std::string::npos);
}
