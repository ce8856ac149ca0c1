// End-to-end: repositories read over HTTP and HTTPS (storage/http_store/),
// served by Python's http.server as a CernVM-FS Stratum 1 serves them —
// ls, cat, restore and check of a CernVM-FS repository and of a native one,
// a missing object found by check, HTTPS with --ca-file, and publish and
// resign refused before anything is sent or written.
#include "http_server.hpp"
#include "servers.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string differences(const std::string& a, const std::string& b) {
  std::string out;
  for (auto& diff : compare_trees(a, b)) out += diff + "\n";
  return out;
}

// CernVM-FS catalogs keep mtimes in whole seconds: the source is made so,
// and a restore is then equal to it.
void whole_second_mtimes(const std::string& root) {
  std::vector<std::string> paths{root};
  for (auto& e : fs::recursive_directory_iterator(root)) paths.push_back(e.path().string());
  for (auto& p : paths) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    const timespec times[2] = {{0, UTIME_OMIT}, {st.st_mtim.tv_sec, 0}};
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
  }
}

const std::vector<fixture> tree = {{'d', "sub"},
                                   {'f', "a.txt", "hello over http"},
                                   {'f', "sub/b.bin", noise(300000, 3)},
                                   {'f', "sub/c.txt", big_text(50000)},
                                   {'f', "empty", ""},
                                   {'l', "link", "", "a.txt"},
                                   {'d', "pkg"},
                                   {'f', "pkg/.cvmfscatalog", ""},
                                   {'f', "pkg/p.txt", "nested catalog file", "", 0755}};

// A CernVM-FS repository published to d/"www" by STATE d/"st".
void publish_cvmfs(const temp_dir& d) {
  make_tree(d / "src", tree);
  whole_second_mtimes(d / "src");
  auto r = run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "www", "--format", "cvmfs", "--name", "test.example.org"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
}

// Plain data objects of a CernVM-FS store: data/XX/<hex>, no type letter.
std::vector<std::string> data_objects(const std::string& store) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(store + "/data")) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.find_first_not_of("0123456789abcdef") == std::string::npos)
      out.push_back(fs::relative(e.path(), store).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("http store: a CernVM-FS repository served by python3 -m http.server reads as from its directory") {
  temp_dir d;
  publish_cvmfs(d);
  web_server srv(d / "www");
  const std::string url = srv.url();
  REQUIRE(url.rfind("http://", 0) == 0);

  auto ls = run_stratum({"ls", url, "--pubkey", d / "st"});
  REQUIRE_MESSAGE(ls.code == 0, ls.err);
  for (const char* name : {"a.txt", "sub", "empty", "link", "pkg"}) CHECK_MESSAGE(has(ls.out, name), name);
  auto nested = run_stratum({"ls", url + "/", "pkg", "--pubkey", d / "st", "-l"});
  CHECK_MESSAGE(nested.code == 0, nested.err);
  CHECK(has(nested.out, "p.txt"));
  auto cat = run_stratum({"cat", url, "sub/c.txt", "--pubkey", d / "st"});
  CHECK_MESSAGE(cat.code == 0, cat.err);
  CHECK(cat.out == big_text(50000));

  auto restore = run_stratum({"restore", url, d / "dest", "--pubkey", d / "st"});
  REQUIRE_MESSAGE(restore.code == 0, restore.err);
  CHECK(differences(d / "src", d / "dest") == "");

  auto check = run_stratum({"check", url, "--pubkey", d / "st"});
  CHECK_MESSAGE(check.code == 0, check.err);
  auto integrity = run_stratum({"check", "-i", url, "--pubkey", d / "st"});
  CHECK_MESSAGE(integrity.code == 0, integrity.err);

  // An object gone from the server is found by check (HEAD) and by -i (GET).
  auto objects = data_objects(d / "www");
  REQUIRE(!objects.empty());
  fs::remove(d / "www/" + objects.front());
  for (const char* mode : {"", "-i"}) {
    CAPTURE(mode);
    std::vector<std::string> args{"check", url, "--pubkey", d / "st"};
    if (*mode) args.push_back(mode);
    auto damaged = run_stratum(args);
    CAPTURE(damaged.err);
    CHECK(damaged.code == 1);
    CHECK(has(damaged.err, objects.front()));
  }
}

TEST_CASE("http store: https with --ca-file, and a server the CA does not vouch for is refused") {
  temp_dir d;
  publish_cvmfs(d);
  auto tls = make_certificate(d / "tls");
  auto other = make_certificate(d / "other");
  web_server srv(d / "www", {.tls = tls});
  const std::string url = srv.url() + "/";
  REQUIRE(url.rfind("https://", 0) == 0);

  auto ls = run_stratum({"ls", url, "--pubkey", d / "st", "--ca-file", tls.cert});
  CHECK_MESSAGE(ls.code == 0, ls.err);
  CHECK(has(ls.out, "a.txt"));
  auto restore = run_stratum({"restore", url, d / "dest", "--pubkey", d / "st", "--ca-file", tls.cert});
  REQUIRE_MESSAGE(restore.code == 0, restore.err);
  CHECK(differences(d / "src", d / "dest") == "");
  auto check = run_stratum({"check", "-i", url, "--pubkey", d / "st", "--ca-file", tls.cert});
  CHECK_MESSAGE(check.code == 0, check.err);

  for (const std::string& ca : {other.cert, std::string()}) {
    CAPTURE(ca);
    std::vector<std::string> args{"ls", url, "--pubkey", d / "st"};
    if (!ca.empty()) args.insert(args.end(), {"--ca-file", ca});
    auto untrusted = run_stratum(args);
    CAPTURE(untrusted.err);
    CHECK(untrusted.code == 3);
    CHECK(has(untrusted.err, srv.url()));
    CHECK(!has(untrusted.out, "a.txt"));
  }
}

TEST_CASE("http store: a native repository reads over http too") {
  temp_dir d;
  make_tree(d / "src", {{'d', "dir"}, {'f', "dir/x.txt", "native"}, {'f', "y.bin", noise(70000, 9)}});
  auto pub = run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "www"});
  REQUIRE_MESSAGE(pub.code == 0, pub.err);
  web_server srv(d / "www");
  auto ls = run_stratum({"ls", srv.url(), "dir", "--pubkey", d / "st"});
  CHECK_MESSAGE(ls.code == 0, ls.err);
  CHECK(has(ls.out, "x.txt"));
  auto restore = run_stratum({"restore", srv.url(), d / "dest", "--pubkey", d / "st"});
  REQUIRE_MESSAGE(restore.code == 0, restore.err);
  CHECK(differences(d / "src", d / "dest") == "");
  auto check = run_stratum({"check", srv.url(), "--pubkey", d / "st"});
  CHECK_MESSAGE(check.code == 0, check.err);
}

TEST_CASE("http store: publish and resign to an http(s) URL are refused before anything is sent or written") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a.txt", "never sent"}});
  http_server srv({});  // counts every connection
  for (const std::string& url : {srv.endpoint() + "/cvmfs/test.example.org", std::string("https://127.0.0.1:9/repo")}) {
    CAPTURE(url);
    for (std::vector<std::string> extra : {std::vector<std::string>{"--new"}, std::vector<std::string>{"--new", "--format", "cvmfs", "--name", "test.example.org"},
                                           std::vector<std::string>{}}) {
      std::vector<std::string> args{"publish", d / "st", d / "src", url};
      args.insert(args.end(), extra.begin(), extra.end());
      auto r = run_stratum(args);
      CAPTURE(r.err);
      CHECK(r.code == 2);
      CHECK(has(r.err, "is an http(s) store, which is read-only: publish to a directory, s3:// or az://, and serve that"));
      CHECK(!fs::exists(d / "st"));  // not even STATE was made
    }
  }
  // resign: a real STATE, a URL that is not a store it can write.
  REQUIRE(run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "local"}).code == 0);
  auto resign = run_stratum({"resign", d / "st", srv.endpoint()});
  CAPTURE(resign.err);
  CHECK(resign.code == 2);
  CHECK(has(resign.err, "read-only"));
  CHECK(srv.accepted() == 0);
}
