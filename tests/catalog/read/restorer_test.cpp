// restore (catalog/read/restorer.cpp) into destinations that already hold
// things, onto file systems with narrower times, with paths beyond PATH_MAX,
// and the last check before an extended attribute is set.
#include "catalog/read/dest_tree.hpp"
#include "read_fixture.hpp"

#include <climits>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace stratum;
using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

const problem* problem_at(const std::vector<problem>& ps, const std::string& path) {
  for (auto& p : ps)
    if (p.path == path) return &p;
  return nullptr;
}

}  // namespace

TEST_CASE("restore --force never follows or removes what it did not create but a regular file or an empty directory") {
  read_fixture f;
  f.publish(make_catalog("", {dir_entry(""), file_entry("a-link", "new a"), dir_entry("d-link"), file_entry("d-link/x", "new x"),
                              file_entry("empty-dir", "new e"), file_entry("full-dir", "new f"), file_entry("linked", "new l"),
                              file_entry("plain", "new p")}),
            {"new a", "new x", "new e", "new f", "new l", "new p"});
  temp_dir outside;
  write_file(outside / "target", "the user's file");
  const std::string dst = f.d / "dst";
  fs::create_directories(dst + "/empty-dir");
  fs::create_directories(dst + "/full-dir");
  write_file(dst + "/full-dir/keep", "k");
  fs::create_symlink(outside / "target", dst + "/a-link");  // a user's symlink where a file goes
  fs::create_symlink(outside.path, dst + "/d-link");        // ... and where a directory goes
  REQUIRE(::link((outside / "target").c_str(), (dst + "/linked").c_str()) == 0);  // a hard link to a file outside
  write_file(dst + "/plain", "old");

  auto r = f.restore(dst, true);
  INFO(listed(r.problems));
  // The symlinks are the user's: reported, kept, never followed. restore had
  // unlinked the one where a file goes after failing to open through it.
  for (const char* p : {"a-link", "d-link", "full-dir"}) {
    CAPTURE(p);
    auto* pr = problem_at(r.problems, p);
    REQUIRE(pr);
    CHECK(pr->message.find("already exists in the destination as") != std::string::npos);
    CHECK(pr->message.find("move it away and restore again") != std::string::npos);
  }
  CHECK(r.problems.size() == 3);
  CHECK(fs::read_symlink(dst + "/a-link") == outside / "target");
  CHECK(fs::read_symlink(dst + "/d-link") == outside.path);
  CHECK(read_file(dst + "/full-dir/keep") == "k");
  CHECK_FALSE(fs::exists(outside / "x"));
  // A hard link to a file outside is replaced, not written through.
  CHECK(read_file(outside / "target") == "the user's file");
  CHECK(read_file(dst + "/linked") == "new l");
  CHECK(read_file(dst + "/plain") == "new p");
  CHECK(read_file(dst + "/empty-dir") == "new e");
}

TEST_CASE("an mtime is restored exactly where the file system holds it, and reported where it does not") {
  read_fixture f;
  const std::int64_t t = -(std::int64_t(1) << 40);  // ext4 keeps nothing below -2^31
  auto file = file_entry("old", "x");
  file.mtime_sec = t;
  file.mtime_nsec = 5;
  auto dir = dir_entry("d");
  dir.mtime_sec = t;
  auto link = symlink_entry("l", "old");
  link.mtime_sec = t;
  f.publish(make_catalog("", {dir_entry(""), dir, link, file}), {"x"});
  // Where does the file system keep it? tmpfs holds any 64-bit time, ext4
  // clamps silently; /dev/shm is usually tmpfs, the temp directory often not.
  for (std::string base : {f.d.path, std::string("/dev/shm")}) {
    CAPTURE(base);
    if (!fs::is_directory(base)) continue;
    const std::string probe = base + "/stratum-mtime-probe-" + std::to_string(::getpid());
    write_file(probe, "");
    timespec ts[2] = {{t, 5}, {t, 5}};
    REQUIRE(::utimensat(AT_FDCWD, probe.c_str(), ts, 0) == 0);
    struct stat st;
    REQUIRE(::stat(probe.c_str(), &st) == 0);
    ::unlink(probe.c_str());
    const bool holds = st.st_mtim.tv_sec == t;
    CAPTURE(holds);

    const std::string dst = base + "/stratum-mtime-dst-" + std::to_string(::getpid());
    fs::remove_all(dst);
    auto r = f.restore(dst);
    INFO(listed(r.problems));
    for (const char* p : {"old", "d", "l"}) {
      CAPTURE(p);
      struct stat got;
      REQUIRE(::lstat((dst + "/" + p).c_str(), &got) == 0);
      auto* pr = problem_at(r.problems, p);
      if (holds) {
        CHECK(got.st_mtim.tv_sec == t);
        CHECK_FALSE(pr);
      } else {
        // Restored all the same, and said so: it had been clamped silently.
        REQUIRE(pr);
        CHECK(pr->message.find("cannot hold its mtime -1099511627776.") != std::string::npos);
        CHECK(pr->message.find("restored, but") == 0);
      }
    }
    CHECK(read_file(dst + "/old") == "x");
    fs::remove_all(dst);
  }
}

TEST_CASE("restore sets no extended attribute outside user.*, whatever checked the catalog before") {
  temp_dir d;
  const std::string path = d / "f";
  write_file(path, "x");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  // trusted.* takes any value from root (the tests run as root on CI), so
  // only restore's own check keeps it off.
  for (std::string name : {"trusted.x", "security.x", "user."}) {
    CAPTURE(name);
    try {
      set_xattrs(fd, {{"user.ok", "1"}, {name, "v"}}, "f");
      FAIL("set");
    } catch (const std::exception& e) {
      CHECK(is(e, errc::corrupt));
      CHECK(std::string(e.what()).find("'" + name + "' is outside the user.* namespace") != std::string::npos);
    }
    char buf[64];
    CHECK(::fgetxattr(fd, name.c_str(), buf, sizeof buf) < 0);
  }
  ::close(fd);
}

TEST_CASE("restore recreates paths longer than PATH_MAX, all beneath the destination") {
  read_fixture f;
  // 30 levels of 200-byte names: the deepest path is ~6,000 bytes.
  std::vector<entry> entries{dir_entry("")};
  std::string path;
  for (int i = 0; i < 30; ++i) {
    path += (path.empty() ? "" : "/") + std::string(199, static_cast<char>('a' + i % 26)) + std::to_string(i % 10);
    entries.push_back(dir_entry(path));
  }
  const std::string deep = path + "/file";
  entries.push_back(file_entry(deep, "at the bottom"));
  auto link = symlink_entry(path + "/link", "file");
  entries.push_back(link);
  REQUIRE(deep.size() > PATH_MAX);
  f.publish(make_catalog("", entries), {"at the bottom"});
  auto r = f.restore(f.d / "dst");
  INFO(listed(r.problems));
  CHECK(r.problems.empty());
  CHECK(r.directories == 31);
  CHECK(r.files == 1);
  // Read back a directory at a time, as any path-taking call fails here.
  int dir = ::open((f.d / "dst").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(dir >= 0);
  for (std::size_t pos = 0, next; (next = deep.find('/', pos)) != std::string::npos; pos = next + 1) {
    int sub = ::openat(dir, deep.substr(pos, next - pos).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(dir);
    REQUIRE(sub >= 0);
    dir = sub;
  }
  int fd = ::openat(dir, "file", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  char buf[64];
  auto n = ::read(fd, buf, sizeof buf);
  CHECK(std::string(buf, n > 0 ? n : 0) == "at the bottom");
  struct stat st;
  REQUIRE(::fstat(fd, &st) == 0);
  CHECK(st.st_mtim.tv_sec == 1600000000);
  ::close(fd);
  char target[16];
  auto tn = ::readlinkat(dir, "link", target, sizeof target);
  CHECK(std::string(target, tn > 0 ? tn : 0) == "file");
  ::close(dir);
}
