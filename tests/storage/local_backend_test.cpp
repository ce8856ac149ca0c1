// The local-directory store (storage/local_backend.cpp) facing a directory
// that others can write to: what is not a regular file is not an object.
// A FIFO where an object should be blocked a reader in open(2) for ever, so
// each case runs under an alarm: a regression fails (SIGALRM) instead of
// hanging the test run.
#include "storage/backend.hpp"
#include "support.hpp"

#include <csignal>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace stratum;
using namespace stratum::test;

namespace {

// Ends the process with SIGALRM if a case takes longer than this.
struct hang_guard {
  explicit hang_guard(unsigned seconds) { ::alarm(seconds); }
  ~hang_guard() { ::alarm(0); }
};

struct local_store {
  temp_dir d;
  asio::io_context io;
  asio::thread_pool blocking{2};
  std::string root = d / "store";
  std::unique_ptr<backend> store = make_local_backend(root, true, blocking);
  ~local_store() { blocking.join(); }

  std::optional<bytes> get(const std::string& key, std::uint64_t offset = 0, std::uint64_t length = 0) {
    return run_io(io, [&] { return store->get(key, offset, length); });
  }
  std::optional<object_info> stat(const std::string& key) {
    return run_io(io, [&] { return store->stat(key); });
  }
  void put(const std::string& key, const std::string& content) {
    run_io(io, [&] { return store->put(key, std::make_shared<const bytes>(content.begin(), content.end())); });
  }
  std::vector<std::string> list(const std::string& prefix) {
    std::vector<std::string> keys;
    for (auto& o : run_io(io, [&] { return store->list(prefix, SIZE_MAX); })) keys.push_back(o.key);
    return keys;
  }
};

const std::string object = "data/ab/ab01C";

}  // namespace

TEST_CASE("a FIFO, a socket, a directory or a symbolic link at an object's path is refused by get and stat, without blocking") {
  hang_guard guard(20);
  local_store s;
  s.put(object, "placeholder");  // makes data/ab
  write_file(s.d / "outside", "a file outside the store");
  struct planted {
    const char* kind;
    std::function<void(const std::string&)> make;
  };
  const std::vector<planted> cases = {
      {"a FIFO", [](const std::string& p) { REQUIRE(::mkfifo(p.c_str(), 0644) == 0); }},
      {"a directory", [](const std::string& p) { REQUIRE(::mkdir(p.c_str(), 0755) == 0); }},
      {"a symbolic link", [&](const std::string& p) { REQUIRE(::symlink((s.d / "outside").c_str(), p.c_str()) == 0); }},
      {"a socket",
       [](const std::string& p) {
         int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
         REQUIRE(fd >= 0);
         sockaddr_un a{};
         a.sun_family = AF_UNIX;
         REQUIRE(p.size() < sizeof a.sun_path);
         std::strcpy(a.sun_path, p.c_str());
         REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
         ::close(fd);
       }},
  };
  for (const auto& c : cases) {
    CAPTURE(c.kind);
    const std::string path = s.root + "/" + object;
    ::unlink(path.c_str());
    c.make(path);
    const std::string says = object + " is not a regular file (" + c.kind + "); remove it or restore the object";
    expect_failure([&] { s.get(object); }, errc::corrupt, s.root + ": ", says);
    expect_failure([&] { s.get(object, 0, 100); }, errc::corrupt, s.root + ": ", says);
    // check (which only stats objects) lists it as a problem.
    expect_failure([&] { s.stat(object); }, errc::corrupt, s.root + ": ", says);
    // A listing leaves it out: it is not an object.
    CHECK(s.list("data/").empty());
    ::rmdir(path.c_str());
  }
  // A publish replaces it with the object (a put renames over a FIFO).
  ::unlink((s.root + "/" + object).c_str());
  REQUIRE(::mkfifo((s.root + "/" + object).c_str(), 0644) == 0);
  s.put(object, "the object");
  CHECK(to_string(*s.get(object)) == "the object");
}

TEST_CASE("a symbolic link or a FIFO where a directory of the store should be is not followed") {
  hang_guard guard(20);
  local_store s;
  // Elsewhere on the machine: a directory holding a file of an object's name.
  const std::string elsewhere = s.d / "elsewhere";
  REQUIRE(::mkdir(elsewhere.c_str(), 0755) == 0);
  write_file(elsewhere + "/ab01C", "not the store's");
  REQUIRE(::mkdir((s.root + "/data").c_str(), 0755) == 0);
  REQUIRE(::symlink(elsewhere.c_str(), (s.root + "/data/ab").c_str()) == 0);
  const std::string says = "data/ab is not a directory (a symbolic link), so " + object + " cannot be there; remove it";
  expect_failure([&] { s.get(object); }, errc::corrupt, s.root + ": ", says);
  expect_failure([&] { s.stat(object); }, errc::corrupt, s.root + ": ", says);
  CHECK(s.list("").empty());
  CHECK(s.list("data/ab/").empty());
  // A put does not write through it either.
  expect_failure([&] { s.put("data/ab/ab02C", "new"); }, errc::corrupt, s.root + ": ", "data/ab is not a directory");
  CHECK(::access((elsewhere + "/ab02C").c_str(), F_OK) != 0);
  expect_failure([&] { run_io(s.io, [&] { return s.store->remove(object); }); }, errc::corrupt, s.root + ": ", says);
  CHECK(::access((elsewhere + "/ab01C").c_str(), F_OK) == 0);

  // A FIFO there: refused the same way, without blocking.
  REQUIRE(::unlink((s.root + "/data/ab").c_str()) == 0);
  REQUIRE(::mkfifo((s.root + "/data/ab").c_str(), 0644) == 0);
  expect_failure([&] { s.get(object); }, errc::corrupt, s.root + ": ", "data/ab is not a directory (a FIFO)");
  expect_failure([&] { s.put(object, "x"); }, errc::corrupt, s.root + ": ", "data/ab is not a directory (a FIFO)");

  // The store's own directory of temporary files as a symbolic link: the
  // first write is refused (readers never look at it).
  temp_dir other;
  REQUIRE(::mkdir((other / "store").c_str(), 0755) == 0);
  REQUIRE(::symlink(elsewhere.c_str(), (other / "store/.stratum-tmp").c_str()) == 0);
  auto linked = make_local_backend(other / "store", false, s.blocking);
  expect_failure([&] { run_io(s.io, [&] { return linked->put("data/ab/ab03C", std::make_shared<const bytes>(bytes{1})); }); },
                 errc::corrupt, "store '" + other / "store" + "': ", ".stratum-tmp is not a directory (a symbolic link); remove it");
  CHECK(::access((elsewhere + "/ab03C").c_str(), F_OK) != 0);
}

TEST_CASE("reading a local store writes nothing to it: no directory of temporary files until the first put") {
  local_store s;
  temp_dir other;
  const std::string root = other / "store";
  REQUIRE(::mkdir(root.c_str(), 0755) == 0);
  REQUIRE(::mkdir((root + "/data").c_str(), 0755) == 0);
  REQUIRE(::mkdir((root + "/data/ab").c_str(), 0755) == 0);
  write_file(root + "/" + object, "the object");
  auto reader = make_local_backend(root, false, s.blocking);
  CHECK(run_io(s.io, [&] { return reader->get(object); }));
  CHECK(run_io(s.io, [&] { return reader->list(""); }).size() == 1);
  CHECK(::access((root + "/.stratum-tmp").c_str(), F_OK) != 0);
  run_io(s.io, [&] { return reader->put("data/ab/ab04C", std::make_shared<const bytes>(bytes{1})); });
  CHECK(::access((root + "/.stratum-tmp").c_str(), F_OK) == 0);
}

TEST_CASE("the local store lists regular files only, and reads ranges past the end") {
  local_store s;
  s.put("data/ab/x", "replaced");
  s.put("data/cd/y", "1");
  s.put(".stratumpublished", "m");
  REQUIRE(::symlink((s.root + "/data/ab/x").c_str(), (s.root + "/data/ab/link").c_str()) == 0);
  REQUIRE(::mkfifo((s.root + "/data/cd/fifo").c_str(), 0644) == 0);
  CHECK(s.list("") == std::vector<std::string>{".stratumpublished", "data/ab/x", "data/cd/y"});
  CHECK(s.list("data/c") == std::vector<std::string>{"data/cd/y"});
  CHECK(s.list("data/ab/x") == std::vector<std::string>{"data/ab/x"});
  CHECK(to_string(*s.get("data/ab/x", 0, 1000)) == "replaced");
  CHECK(to_string(*s.get("data/ab/x", 6, UINT64_MAX)) == "ed");
  CHECK(s.get("data/ab/x", 100, 5)->empty());
  CHECK_FALSE(s.get("data/zz/none"));
  CHECK_FALSE(s.stat("data/zz/none"));
  CHECK_FALSE(s.stat("data/ab/none"));
}
