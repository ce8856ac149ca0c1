// Both file readers against the same files: contents, errors, stat.
#include "async/group.hpp"
#include "io/reader.hpp"
#include "io/walker.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

using namespace stratum;
using namespace stratum::test;

namespace {
awaitable<void> read_and_check(file_reader& r, const std::string& path, const std::string& expect) {
  auto w = co_await r.read_small(AT_FDCWD, path, expect.size());
  CHECK(w.error == 0);
  CHECK(to_string(w.data) == expect);
}
}  // namespace

TEST_CASE("file readers read small and large files and report errors as values") {
  temp_dir dir;
  std::string small = "small content", large(3 << 20, 'L');
  for (std::size_t i = 0; i < large.size(); i += 4096) large[i] = static_cast<char>(i / 4096);
  write_file(dir / "s", small);
  write_file(dir / "l", large);
  ::symlink("s", (dir / "link").c_str());
  asio::io_context io;
  asio::thread_pool pool(4);
  for (auto kind : {reader_kind::uring, reader_kind::threads}) {
    std::unique_ptr<file_reader> r;
    if (kind == reader_kind::uring) r = make_uring_reader(io, 16);
    else r = make_thread_reader(pool);
    CAPTURE(r->name());
    run_io(io, [&]() -> awaitable<void> {
      // Many small reads at once, more than the uring reader's 16 slots.
      const std::string path = dir / "s";
      std::vector<awaitable<void>> reads;
      for (int i = 0; i < 100; ++i) reads.push_back(read_and_check(*r, path, small));
      co_await run_all(std::move(reads));
      auto missing = co_await r->read_small(AT_FDCWD, dir / "nope", 10);
      CHECK(missing.error == -ENOENT);
      auto link = co_await r->read_small(AT_FDCWD, dir / "link", 10);
      CHECK(link.error == -ELOOP);  // symlinks are never followed
      int fd = co_await r->open(AT_FDCWD, dir / "l");
      REQUIRE(fd >= 0);
      std::string back;
      bytes buf(1 << 20);
      for (std::uint64_t off = 0;;) {
        long n = co_await r->read_at(fd, off, buf);
        REQUIRE(n >= 0);
        if (n == 0) break;
        back.append(reinterpret_cast<char*>(buf.data()), n);
        off += n;
      }
      co_await r->close(fd);
      CHECK(back == large);
      file_stat st;
      CHECK(co_await r->stat(AT_FDCWD, dir / "l", st) == 0);
      CHECK(st.size == large.size());
      CHECK(co_await r->stat(AT_FDCWD, dir / "nope", st) == -ENOENT);
      // Relative to an open directory, as a path beyond PATH_MAX is read.
      int d = ::open(dir.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      REQUIRE(d >= 0);
      auto rel = co_await r->read_small(d, "s", small.size());
      CHECK(to_string(rel.data) == small);
      CHECK((co_await r->read_small(d, "link", 10)).error == -ELOOP);
      int lfd = co_await r->open(d, "l");
      CHECK(lfd >= 0);
      if (lfd >= 0) co_await r->close(lfd);
      file_stat rst;
      CHECK(co_await r->stat(d, "l", rst) == 0);
      CHECK(rst.size == large.size());
      ::close(d);
    });
  }
}

TEST_CASE("the walker lists every entry once, sorted, pre-order, without following symlinks") {
  temp_dir dir;
  make_tree(dir / "t", {{'d', "b"}, {'f', "b/z", "1"}, {'d', "a"}, {'f', "a/y", "2"}, {'l', "loop", "", "loop"},
                        {'l', "up", "", ".."}, {'f', "c", "3"}, {'x', "c", "v", "user.k"}});
  // More attribute names than the first 1 KiB list buffer holds.
  xattr_list many;
  for (int i = 0; i < 30; ++i) {
    std::string name = "user.attribute-" + std::to_string(100 + i) + "-with-a-long-name";
    REQUIRE(::lsetxattr((dir / "t/a/y").c_str(), name.c_str(), "w", 1, 0) == 0);
    many.emplace_back(name, "w");
  }
  std::vector<std::string> dirs, names;
  walk_tree(dir / "t", {[&](walk_dir&& d) {
                          dirs.push_back(d.path);
                          for (auto& e : d.entries) {
                            names.push_back(d.path + "/" + e.name);
                            if (e.name == "c") CHECK(e.xattrs == xattr_list{{"user.k", "v"}});
                            if (e.name == "y") CHECK(e.xattrs == many);
                            if (e.name == "z") CHECK(e.xattrs.empty());
                            if (e.name == "up") CHECK(e.link_target == "..");
                          }
                        },
                        [&](const std::string& p, const std::string& m) { FAIL(p << ": " << m); }});
  CHECK(dirs == std::vector<std::string>{"", "a", "b"});
  CHECK(names == std::vector<std::string>{"/a", "/b", "/c", "/loop", "/up", "a/y", "b/z"});
  CHECK_THROWS_WITH(walk_tree(dir / "t/c", {}), doctest::Contains("not a directory"));
  CHECK_THROWS_WITH(walk_tree(dir / "none", {}), doctest::Contains("does not exist"));
}
