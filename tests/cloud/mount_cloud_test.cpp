// `stratum mount` from s3rver and Azurite over HTTPS (certificate checked):
// the tree read through the kernel equals its source; a store killed with
// SIGKILL while a file is being read gives EIO within the request timeout
// times the attempts (no hang), and the same mount reads again once the store
// is back on its port.
#include "mounts.hpp"
#include "servers.hpp"

#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <unistd.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

std::vector<fixture> cloud_fixture(const std::string& marker) {
  return {{'f', "hello.txt", "hello\n"},
          {'x', "hello.txt", "green", "user.color"},
          {'d', "bin"},
          {'f', "bin/tool", noise(70000, 1), "", 0755},
          {'l', "bin/link", "", "tool"},
          {'h', "bin/tool2", "", "bin/tool"},
          {'d', "pkg"},
          {'f', "pkg/" + marker, ""},
          {'f', "pkg/data", pattern(2 << 20, 2)},
          {'f', "big.bin", noise(20 << 20, 3)}};
}

void mounted_equals_source(const temp_dir& d, const cloud_store& s, const std::string& name, bool cvmfs) {
  CAPTURE(s.spec);
  const std::string src = d / ("src-" + name), st = d / ("st-" + name), mnt = d / ("mnt-" + name);
  make_tree(src, cloud_fixture(cvmfs ? ".cvmfscatalog" : ".stratumcatalog"));
  std::vector<std::string> a = {"publish", "--new", "-q", st, src, s.spec};
  if (cvmfs) a.insert(a.end(), {"--format", "cvmfs", "--name", name + ".example.org"});
  auto r = s.run(a);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  fs::create_directory(mnt);
  std::vector<std::string> args = {"--pubkey", st, "--cache", d / ("cache-" + name)};
  args.insert(args.end(), s.opts.begin(), s.opts.end());
  mount_run m(s.spec, mnt, args, s.env);
  const auto diffs = compare_trees(src, mnt);
  for (const auto& x : diffs) MESSAGE(x);
  CHECK(diffs.empty());
  CHECK(m.unmount());
}

// pread of `len` bytes at `off`: the bytes, or the errno; and how long it took.
struct read_result {
  std::string bytes;
  int error = 0;
  double seconds = 0;
};
read_result timed_read(int fd, std::size_t off, std::size_t len) {
  read_result r;
  r.bytes.resize(len);
  const auto t0 = std::chrono::steady_clock::now();
  const ssize_t n = ::pread(fd, r.bytes.data(), len, static_cast<off_t>(off));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (n < 0) r.error = errno, r.bytes.clear();
  else r.bytes.resize(static_cast<std::size_t>(n));
  return r;
}

}  // namespace

TEST_CASE("mount from s3rver over HTTPS equals the source, in both formats") {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  s3rver server(d / "s3", "bucket", tls);
  mounted_equals_source(d, s3_store(server, tls, "s3://bucket/native"), "nat", false);
  mounted_equals_source(d, s3_store(server, tls, "s3://bucket/cvmfs"), "cv", true);
}

TEST_CASE("mount from Azurite over HTTPS equals the source") {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  azurite server(d / "az", "repo", tls);
  mounted_equals_source(d, azure_store(server, tls, "az://devstoreaccount1/repo/native"), "nat", false);
}

TEST_CASE("mount: the store killed mid-read gives EIO without a hang, and the mount reads again once it is back") {
  temp_dir d;
  tls_files tls = make_certificate(d / "tls");
  std::optional<s3rver> server(std::in_place, d / "s3", "bucket", tls);
  const int port = server->port();
  const cloud_store s = s3_store(*server, tls, "s3://bucket/r");
  const std::string big = noise(20 << 20, 9), small = pattern(10000, 4);
  make_tree(d / "src", {{'f', "big.bin", big}, {'f', "small", small}});
  auto r = s.run({"publish", "--new", "-q", d / "st", d / "src", s.spec});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  fs::create_directory(d / "mnt");
  // Each request waits 2 s at most and is sent twice: a failed read must
  // come back in about 2 × 2 s plus one backoff; 60 s means it hung.
  std::vector<std::string> args = {"--pubkey", d / "st", "--cache", d / "cache", "--request-timeout", "2", "--retries", "1"};
  args.insert(args.end(), s.opts.begin(), s.opts.end());
  mount_run m(s.spec, d / "mnt", args, s.env);
  const int fd = ::open((d / "mnt/big.bin").c_str(), O_RDONLY | O_CLOEXEC);  // not into the restarted server
  REQUIRE(fd >= 0);
  auto first = timed_read(fd, 0, 1 << 20);
  REQUIRE(first.error == 0);
  CHECK(first.bytes == big.substr(0, 1 << 20));

  server->kill();
  const std::size_t tail = big.size() - (1 << 20);
  auto gone = timed_read(fd, tail, 1 << 20);
  CHECK(gone.error == EIO);
  CHECK(gone.seconds < 60);
  const int sfd = ::open((d / "mnt/small").c_str(), O_RDONLY | O_CLOEXEC);  // not into the restarted server
  REQUIRE(sfd >= 0);
  auto gone_small = timed_read(sfd, 0, 10000);
  CHECK(gone_small.error == EIO);
  CHECK(gone_small.seconds < 60);
  MESSAGE("EIO after " << gone.seconds << " s and " << gone_small.seconds << " s");

  // Back on the same port, with the same data: the next reads succeed.
  server.emplace(d / "s3", "bucket", tls, port);
  auto back = timed_read(fd, tail, 1 << 20);
  CHECK(back.error == 0);
  CHECK(back.bytes == big.substr(tail));
  auto back_small = timed_read(sfd, 0, 10000);
  CHECK(back_small.error == 0);
  CHECK(back_small.bytes == small);
  ::close(fd);
  ::close(sfd);
  const bool ended = m.unmount();
  const std::string log = read_file(d / "cache/mount.log");
  CHECK_MESSAGE(ended, log);
  CHECK(log.find("read /big.bin") != std::string::npos);
}
