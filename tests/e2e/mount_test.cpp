// End-to-end: `stratum mount` through the kernel with real FUSE, from a
// local store, in both formats. The mounted tree is walked with plain system
// calls (lstat, readlink, getxattr, reading every file: support's
// compare_trees, and Python's os.walk in tests/tools/tree_compare.py) and
// compared with the source; tags and older revisions; a corrupted object
// (EIO and a log line, never its bytes); the on-disk cache (shared by a
// later mount, damage re-fetched, bounded); 64 concurrent readers; --follow;
// SIGTERM; bad input.
#include "mounts.hpp"

#include <atomic>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <thread>
#include <unistd.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Every kind of entry, a nested catalog (marker `marker`), a chunked file
// (20 MiB of noise: chunks are at most 16 MiB) and files of many sizes. The
// hardlink is at `hard` (CernVM-FS keeps a group within one directory).
std::vector<fixture> mount_fixture(const std::string& marker, const std::string& hard) {
  return {{'f', "hello.txt", "hello\n"},
          {'x', "hello.txt", "blue", "user.color"},
          {'d', "etc", "", "", 0755},
          {'f', "etc/secret", "s3cr3t", "", 0600},
          {'f', "etc/setuid", "x", "", 04755},
          {'d', "tmp", "", "", 01777},
          {'l', "etc/link", "", "../hello.txt"},
          {'l', "dangling", "", "/nowhere/at/all"},
          {'h', hard, "", "hello.txt"},
          {'p', "fifo"},
          {'c', "null", "", "", 0666},
          {'f', "empty", ""},
          {'z', "sparse", "tail", "", 0644, 3 << 20},
          {'d', "pkg"},
          {'f', "pkg/" + marker, ""},
          {'f', "pkg/mid.bin", noise(300000, 7)},
          {'d', "pkg/deep"},
          {'f', "pkg/deep/" + marker, ""},
          {'f', "pkg/deep/text", big_text(200000)},
          {'x', "pkg/deep", "on a directory", "user.note"},
          {'f', "big.bin", noise(20 << 20, 3)},
          {'f', "pattern.txt", pattern(1 << 20, 5)}};
}

std::vector<std::string> publish(const temp_dir& d, const std::string& name, bool cvmfs, const std::vector<fixture>& tree) {
  const std::string src = d / ("src-" + name);
  make_tree(src, tree);
  std::vector<std::string> a = {"publish", "--new", "-q", d / ("st-" + name), src, d / ("store-" + name)};
  if (cvmfs) a.insert(a.end(), {"--format", "cvmfs", "--name", name + ".example.org"});
  auto r = run_stratum(a);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  return {src, d / ("store-" + name), d / ("st-" + name)};
}

// d/src with one file "a" ("x"), published to d/store from d/st.
void publish_one_file(const temp_dir& d) {
  make_tree(d / "src", {{'f', "a", "x"}});
  REQUIRE(run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "store"}).code == 0);
}

std::string xattr_of(const std::string& path, const std::string& name) {
  char buf[256];
  const ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), buf, sizeof buf);
  return n < 0 ? "errno " + std::to_string(errno) : std::string(buf, static_cast<std::size_t>(n));
}

// Reads `path` whole; the errno of the first failing call, or 0.
int read_errno(const std::string& path, std::string* out = nullptr) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return errno;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    if (out) out->append(buf, static_cast<std::size_t>(n));
  const int e = n < 0 ? errno : 0;
  ::close(fd);
  return e;
}

std::string python_compare(const std::string& a, const std::string& b) {
  return shell("python3 " + std::string(STRATUM_SOURCE_DIR) + "/tests/tools/tree_compare.py compare '" + a + "' '" + b +
               "' 2>&1; echo exit=$?");
}

void faithful(bool cvmfs) {
  temp_dir d;
  const std::string marker = cvmfs ? ".cvmfscatalog" : ".stratumcatalog";
  const std::string hard = cvmfs ? "hard" : "etc/hard";
  auto [src, store, st] = [&] {
    auto v = publish(d, cvmfs ? "cv" : "nat", cvmfs, mount_fixture(marker, hard));
    return std::tuple{v[0], v[1], v[2]};
  }();
  fs::create_directory(d / "mnt");
  const std::string mnt = d / "mnt";
  mount_run m(store, mnt, {"--pubkey", st, "--cache", d / "cache"});
  CHECK(compare_trees(src, mnt).empty());
  for (const auto& diff : compare_trees(src, mnt)) MESSAGE(diff);
  const std::string py = python_compare(src, mnt);
  CHECK_MESSAGE(has(py, "exit=0"), py);
  // Hardlinks: one inode, two links.
  struct stat a{}, b{};
  REQUIRE(::lstat((mnt + "/hello.txt").c_str(), &a) == 0);
  REQUIRE(::lstat((mnt + "/" + hard).c_str(), &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  CHECK(a.st_nlink == 2);
  // The informational attributes: readable by name, not listed.
  CHECK(xattr_of(mnt + "/hello.txt", "user.stratum.revision") == "1");
  CHECK(std::atoi(xattr_of(mnt + "/big.bin", "user.stratum.chunks").c_str()) >= 2);
  CHECK(xattr_of(mnt + "/hello.txt", "user.stratum.hash").size() >= 40);
  CHECK(xattr_of(mnt + "/pkg/deep", "user.stratum.catalog") != xattr_of(mnt + "/hello.txt", "user.stratum.catalog"));
  char names[1024];
  const ssize_t n = ::llistxattr((mnt + "/hello.txt").c_str(), names, sizeof names);
  CHECK(std::string(names, static_cast<std::size_t>(std::max<ssize_t>(n, 0))) == std::string("user.color\0", 11));
  CHECK(xattr_of(mnt + "/hello.txt", "user.nothing") == "errno " + std::to_string(ENODATA));
  // Read-only, and statfs counts the revision.
  CHECK(::open((mnt + "/hello.txt").c_str(), O_WRONLY) < 0);
  CHECK(errno == EROFS);
  CHECK(::mkdir((mnt + "/new").c_str(), 0755) != 0);
  struct statvfs sv{};
  REQUIRE(::statvfs(mnt.c_str(), &sv) == 0);
  CHECK((sv.f_flag & ST_RDONLY) != 0);
  CHECK(sv.f_files >= 20);
  CHECK(sv.f_blocks * sv.f_frsize >= (20u << 20));
  CHECK(m.unmount());
  CHECK(fs::is_empty(mnt));
  CHECK(has(read_file(d / "cache/mount.log"), "unmounted"));
}

}  // namespace

TEST_CASE("mount: the tree read through the kernel equals its source (stratum's format)") { faithful(false); }

TEST_CASE("mount: the tree read through the kernel equals its source (CernVM-FS format)") { faithful(true); }

TEST_CASE("mount: a tag and an older revision show their own trees, the current one its own") {
  temp_dir d;
  make_tree(d / "v1", {{'f', "a", "first"}, {'d', "dir"}, {'f', "dir/gone", "soon gone"}});
  make_tree(d / "v2", {{'f', "a", "second, longer"}, {'d', "dir"}, {'f', "dir/new", "new"}});
  // One source, published as v1, then changed into v2.
  REQUIRE(std::system(("cp -a '" + d / "v1" + "' '" + d / "src" + "'").c_str()) == 0);
  REQUIRE(run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "store"}).code == 0);
  REQUIRE(run_stratum({"tag", d / "st", d / "store", "-a", "first"}).code == 0);
  fs::remove_all(d / "src");
  REQUIRE(std::system(("cp -a '" + d / "v2" + "' '" + d / "src" + "'").c_str()) == 0);
  REQUIRE(run_stratum({"publish", "-q", d / "st", d / "src", d / "store"}).code == 0);
  for (auto [args, tree] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--tag", "first"}, "v1"}, {{"--revision", "1"}, "v1"}, {{}, "v2"}}) {
    CAPTURE(tree);
    fs::create_directories(d / "mnt");
    args.insert(args.end(), {"--cache", d / "cache"});
    mount_run m(d / "store", d / "mnt", args);
    CHECK(compare_trees(d / tree, d / "mnt").empty());
    CHECK(xattr_of(d / "mnt/a", "user.stratum.revision") == (tree == "v1" ? "1" : "2"));
    CHECK(m.unmount());
  }
}

TEST_CASE("mount: a corrupted object gives EIO and a log line, never its bytes, and the other files still read") {
  temp_dir d;
  make_tree(d / "src", {{'f', "good", pattern(5000, 1)}, {'f', "bad", pattern(7000, 2)}});
  REQUIRE(run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "store"}).code == 0);
  fs::create_directory(d / "mnt");
  mount_run m(d / "store", d / "mnt", {"--cache", d / "cache"});
  // The object's name, from the attribute (which fetches nothing).
  const std::string hash = xattr_of(d / "mnt/bad", "user.stratum.hash");
  REQUIRE(hash.size() == 64);
  const std::string object = d / ("store/data/" + hash.substr(0, 2) + "/" + hash);
  REQUIRE(fs::exists(object));
  std::string bytes = read_file(object);
  bytes[bytes.size() / 2] ^= 0x20;
  fs::permissions(object, fs::perms::owner_write, fs::perm_options::add);
  write_file(object, bytes);
  std::string got;
  CHECK(read_errno(d / "mnt/bad", &got) == EIO);
  CHECK(got.empty());
  CHECK(read_errno(d / "mnt/bad") == EIO);  // still, not a cached wrong copy
  std::string good;
  CHECK(read_errno(d / "mnt/good", &good) == 0);
  CHECK(good == pattern(5000, 1));
  CHECK(m.unmount());
  const std::string log = read_file(d / "cache/mount.log");
  CHECK(has(log, "read /bad"));
  CHECK(has(log, hash));
}

// Publishes `tree` from d/src to d/store (state d/st) and makes d/mnt.
void publish_tree(const temp_dir& d, const std::vector<fixture>& tree) {
  make_tree(d / "src", tree);
  REQUIRE(run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "store"}).code == 0);
  fs::create_directories(d / "mnt");
}

// Mounts d/store at d/mnt with its cache at d/CACHE (and `more`), checks
// the tree against d/src, and unmounts.
void mount_and_compare(const temp_dir& d, const std::string& cache, std::vector<std::string> more = {}) {
  more.insert(more.begin(), {"--cache", d / cache});
  mount_run m(d / "store", d / "mnt", more);
  CHECK(compare_trees(d / "src", d / "mnt").empty());
  CHECK(m.unmount());
}

TEST_CASE("mount: the cache serves a later mount, a damaged cache file is fetched again, and --cache-size bounds it") {
  temp_dir d;
  std::vector<fixture> tree;
  for (int i = 0; i < 12; ++i) tree.push_back({'f', "f" + std::to_string(i), noise(1 << 20, static_cast<unsigned>(i))});
  publish_tree(d, tree);
  mount_and_compare(d, "cache");
  CHECK(has(read_file(d / "cache/mount.log"), "12 objects fetched"));
  // Damage one cached copy: the next mount re-hashes it on first use.
  std::string victim;
  for (const auto& e : fs::recursive_directory_iterator(d / "cache"))
    if (e.is_regular_file() && e.path().filename().string().size() == 64) victim = e.path();
  REQUIRE(!victim.empty());
  std::string bytes = read_file(victim);
  bytes[100] ^= 1;
  write_file(victim, bytes);
  fs::remove(d / "cache/mount.log");
  mount_and_compare(d, "cache");
  const std::string log = read_file(d / "cache/mount.log");
  CHECK_MESSAGE(has(log, "1 objects fetched"), log);
  CHECK_MESSAGE(has(log, "11 read from the cache"), log);
  // A 4 MiB cache holds at most 4 of the 1 MiB objects, after reading all 12.
  fs::remove_all(d / "small");
  mount_and_compare(d, "small", {"--cache-size", "4M"});
  std::uintmax_t kept = 0;
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(d / "small"))
    if (e.is_regular_file() && e.path().filename() != "mount.log") kept += e.file_size(), ++files;
  CHECK(files <= 4);
  CHECK(kept <= (4u << 20) + 4 * 32);
}

// Bytes of the cache's pack files (the small objects it holds, with their
// 48-byte record headers).
std::uintmax_t pack_bytes(const std::string& cache) {
  std::uintmax_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cache + "/packs", ec))
    if (e.path().extension() == ".pack") n += e.file_size();
  return n;
}

// The number before `what` in the mount's log ("57 reads answered"), or -1.
long logged(const std::string& log, const std::string& what) {
  const auto at = log.rfind(what);
  if (at == std::string::npos || at < 2) return -1;
  auto from = log.find_last_not_of("0123456789", at - 2);
  return std::stol(log.substr(from + 1, at - 1 - (from + 1)));
}

TEST_CASE("mount: small objects are packed, served to a later mount, and a damaged record or a lost index costs a fetch, not a wrong byte") {
  temp_dir d;
  std::vector<fixture> tree;
  for (int i = 0; i < 60; ++i) tree.push_back({'f', "f" + std::to_string(i), noise(1000 + 997 * i, static_cast<unsigned>(i))});
  publish_tree(d, tree);
  mount_and_compare(d, "cache");
  std::string log = read_file(d / "cache/mount.log");
  CHECK_MESSAGE(has(log, "60 objects fetched"), log);
  // No file per object: packs and their indexes only.
  int own = 0, packs = 0, indexes = 0;
  for (const auto& e : fs::recursive_directory_iterator(d / "cache")) {
    if (!e.is_regular_file()) continue;
    const auto ext = e.path().extension();
    own += e.path().filename().string().size() == 64;
    packs += ext == ".pack";
    indexes += ext == ".idx";
  }
  CHECK(own == 0);
  CHECK(packs >= 1);
  CHECK(indexes == packs);  // written at unmount
  // Damage one record's content (f30's: found by its bytes) and drop the
  // indexes, as a killed mount leaves them: the packs are scanned, the
  // damaged record fetched again, the other 59 served.
  const std::string f30 = read_file(d / "src/f30");
  for (const auto& e : fs::directory_iterator(d / "cache/packs")) {
    if (e.path().extension() == ".idx") {
      fs::remove(e.path());
      continue;
    }
    std::string bytes = read_file(e.path());
    if (auto at = bytes.find(f30); at != std::string::npos) {
      bytes[at + 10] ^= 1;
      write_file(e.path(), bytes);
    }
  }
  fs::remove(d / "cache/mount.log");
  mount_and_compare(d, "cache");
  log = read_file(d / "cache/mount.log");
  CHECK_MESSAGE(has(log, "1 objects fetched"), log);
  CHECK_MESSAGE(has(log, "59 read from the cache"), log);
}

TEST_CASE("mount: small files fetched ahead go into the kernel's page cache when their directory is listed, and read from there") {
  temp_dir d;
  std::vector<fixture> tree = {{'d', "top"}, {'d', "top/sub"}};
  std::uintmax_t expect = 0;
  for (int i = 0; i < 40; ++i) {
    tree.push_back({'f', "top/sub/f" + std::to_string(i), noise(1 + 3001 * i, static_cast<unsigned>(100 + i))});
    expect += 48 + 1 + 3001 * i;
  }
  publish_tree(d, tree);
  {
    mount_run m(d / "store", d / "mnt", {"--cache", d / "cache"});
    // Listing top fetches the files below it; they are not top's names, so
    // they wait in the cache until sub is listed.
    int in_top = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(d / "mnt/top")) ++in_top;
    CHECK(in_top == 1);
    for (int i = 0; i < 200 && pack_bytes(d / "cache") < expect; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(pack_bytes(d / "cache") >= expect);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    int listed = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(d / "mnt/top/sub")) ++listed;
    CHECK(listed == 40);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    CHECK(compare_trees(d / "src", d / "mnt").empty());
    CHECK(m.unmount());
  }
  const std::string log = read_file(d / "cache/mount.log");
  CHECK_MESSAGE(logged(log, "small files put into the kernel's page cache") >= 40, log);
  // Every one of the 40 came from the page cache: no read reached the mount.
  CHECK_MESSAGE(logged(log, "reads answered") == 0, log);
}

TEST_CASE("mount: 64 concurrent readers of random files and ranges get the right bytes") {
  temp_dir d;
  std::vector<fixture> tree;
  std::vector<std::string> contents;
  for (int i = 0; i < 40; ++i) {
    const std::size_t size = i == 0 ? (34u << 20) : static_cast<std::size_t>(1) << (8 + i % 13);
    contents.push_back(i % 2 ? noise(size, static_cast<unsigned>(i)) : pattern(size, static_cast<unsigned>(i)));
    tree.push_back({'f', "d" + std::to_string(i % 5) + "/f" + std::to_string(i), contents.back()});
  }
  for (int i = 0; i < 5; ++i) tree.insert(tree.begin(), {'d', "d" + std::to_string(i)});
  publish_tree(d, tree);
  mount_run m(d / "store", d / "mnt", {"--cache", d / "cache"});
  std::atomic<int> wrong{0}, failed{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 64; ++t)
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<unsigned>(t));
      for (int k = 0; k < 40; ++k) {
        const std::size_t i = rng() % contents.size();
        const std::string& want = contents[i];
        const std::string path = d / ("mnt/d" + std::to_string(i % 5) + "/f" + std::to_string(i));
        const std::size_t off = rng() % (want.size() + 100);  // past the end too
        const std::size_t len = (rng() % 4 == 0) ? want.size() : rng() % (3u << 20);
        std::string buf(len, '\0');
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0) {
          ++failed;
          continue;
        }
        std::size_t got = 0;
        ssize_t n = 0;
        while (got < len && (n = ::pread(fd, buf.data() + got, len - got, static_cast<off_t>(off + got))) > 0) got += static_cast<std::size_t>(n);
        ::close(fd);
        if (n < 0) ++failed;
        const std::string expect = off < want.size() ? want.substr(off, len) : "";
        if (buf.substr(0, got) != expect) ++wrong;
        ++reads;
      }
    });
  for (auto& r : readers) r.join();
  CHECK(reads == 64 * 40);
  CHECK(failed == 0);
  CHECK(wrong == 0);
  CHECK(m.unmount());
}

TEST_CASE("mount: --follow shows a new publish to new lookups, and an open file keeps reading its revision") {
  temp_dir d;
  make_tree(d / "v1", {{'f', "a", pattern(300000, 1)}, {'f', "only-in-1", "one"}});
  make_tree(d / "v2", {{'f', "a", pattern(300000, 2)}, {'f', "only-in-2", "two"}});
  REQUIRE(std::system(("cp -a '" + d / "v1" + "' '" + d / "src" + "'").c_str()) == 0);
  REQUIRE(run_stratum({"publish", "--new", "-q", d / "st", d / "src", d / "store"}).code == 0);
  fs::create_directory(d / "mnt");
  mount_run m(d / "store", d / "mnt", {"--cache", d / "cache", "--follow", "1"});
  CHECK(fs::exists(d / "mnt/only-in-1"));
  CHECK_FALSE(fs::exists(d / "mnt/only-in-2"));  // the kernel now holds a negative entry
  const int fd = ::open((d / "mnt/a").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  fs::remove_all(d / "src");
  REQUIRE(std::system(("cp -a '" + d / "v2" + "' '" + d / "src" + "'").c_str()) == 0);
  REQUIRE(run_stratum({"publish", "-q", d / "st", d / "src", d / "store"}).code == 0);
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    seen = fs::exists(d / "mnt/only-in-2");
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(seen);
  CHECK_FALSE(fs::exists(d / "mnt/only-in-1"));
  CHECK(compare_trees(d / "v2", d / "mnt").empty());
  // The file opened before the switch reads revision 1's bytes.
  std::string old(300000, '\0');
  CHECK(::pread(fd, old.data(), old.size(), 0) == 300000);
  CHECK(old == pattern(300000, 1));
  ::close(fd);
  CHECK(xattr_of(d / "mnt/a", "user.stratum.revision") == "2");
  CHECK(m.unmount());
  CHECK(has(read_file(d / "cache/mount.log"), "now showing revision 2"));
}

TEST_CASE("mount: SIGTERM unmounts and ends the process") {
  temp_dir d;
  publish_one_file(d);
  fs::create_directory(d / "mnt");
  mount_run m(d / "store", d / "mnt", {"--cache", d / "cache"});
  CHECK(read_file(d / "mnt/a") == "x");
  CHECK(m.terminate());
  CHECK_FALSE(is_mounted(d / "mnt"));
  CHECK(has(read_file(d / "cache/mount.log"), "unmounting on"));
}

TEST_CASE("mount: bad input is refused with a clear message, exit 2 or 3, and nothing mounted") {
  temp_dir d;
  publish_one_file(d);
  fs::create_directories(d / "full/thing");
  fs::create_directory(d / "mnt");
  fs::create_directory(d / "nothing");
  struct bad {
    std::vector<std::string> args;
    int code;
    std::string says;
  };
  for (const auto& b : std::vector<bad>{
           {{"mount", d / "store", d / "missing"}, 2, "create it first"},
           {{"mount", d / "store", d / "full"}, 2, "is not empty"},
           {{"mount", d / "store", d / "src/a"}, 2, "is not a directory"},
           {{"mount", d / "store", d / "mnt", "--tag", "nope"}, 2, "no tag 'nope'"},
           {{"mount", d / "store", d / "mnt", "--revision", "7"}, 2, "7"},
           {{"mount", d / "store", d / "mnt", "--cache-size", "lots"}, 2, "--cache-size"},
           {{"mount", d / "store", d / "mnt", "--follow", "10", "--tag", "x"}, 2, "--follow"},
           {{"mount", d / "nothing", d / "mnt"}, 3, "holds no repository"},
       }) {
    CAPTURE(b.args);
    auto r = run_stratum(b.args);
    CHECK(r.code == b.code);
    CHECK_MESSAGE(has(r.err, b.says), r.err);
    CHECK_FALSE(is_mounted(d / "mnt"));
  }
}
