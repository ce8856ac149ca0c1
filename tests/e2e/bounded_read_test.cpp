// The read commands (ls, cat, restore, check, check -i, info) against a local
// store that someone else wrote to (issue 16): a catalog that inflates to
// 1.5 GiB from 1.5 MB, FIFOs and symbolic links where objects should be.
// Each must end on its own, with a non-zero exit and a message naming the
// object, in bounded memory (peak RSS of every child under 256 MiB, checked
// in builds without AddressSanitizer, whose shadow memory counts too). A
// child that runs past its deadline is killed and the case fails, so a
// regression cannot hang the test run. Thread: the test's.
#include "catalog/format/catalog.hpp"
#include "catalog/format/history.hpp"
#include "catalog/format/manifest.hpp"
#include "io/compress.hpp"
#include "support.hpp"

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <zlib.h>

using namespace stratum;
using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

struct bounded_run {
  int code = -1;
  std::string err;
  long peak_rss_kib = 0;
  bool timed_out = false;
};

// Runs the stratum binary with its output in files (a child that writes a lot
// cannot block on a pipe), kills it after `deadline`, and reads its peak RSS
// from wait4(). That peak also counts the pages of this process that the
// child had mapped between fork and exec (~20-40 MiB here): an upper bound.
bounded_run run_bounded(const std::vector<std::string>& args, const std::string& scratch,
                        const std::vector<std::string>& env = {}, std::chrono::seconds deadline = std::chrono::seconds(60)) {
  const std::string out = scratch + "/out", err = scratch + "/err";
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    for (auto& v : env) ::putenv(const_cast<char*>(v.c_str()));
    std::vector<char*> argv{const_cast<char*>(STRATUM_BIN)};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(STRATUM_BIN, argv.data());
    _exit(127);
  }
  bounded_run r;
  const auto until = std::chrono::steady_clock::now() + deadline;
  int status = 0;
  rusage ru{};
  for (;;) {
    pid_t done = ::wait4(pid, &status, WNOHANG, &ru);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > until) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, &ru);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = read_file(err);
  r.peak_rss_kib = ru.ru_maxrss;
  return r;
}

// A zlib stream of `n` zero bytes (a multiple of 16 MiB) made without
// deflating them all: one 16 MiB piece compressed at level 9 and flushed in
// full (so it refers to nothing before it) is repeated, then the final block
// and the Adler-32 of n zeros (a = 1, b = n mod 65521). ~1 KB per MiB.
bytes zero_bomb(std::uint64_t n) {
  constexpr std::size_t piece = std::size_t(16) << 20;
  REQUIRE(n % piece == 0);
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  bytes zeros(piece, 0), block(piece), tail(64);
  z.next_in = zeros.data();
  z.avail_in = static_cast<uInt>(piece);
  z.next_out = block.data();
  z.avail_out = static_cast<uInt>(block.size());
  REQUIRE(deflate(&z, Z_FULL_FLUSH) == Z_OK);
  block.resize(block.size() - z.avail_out);
  z.next_out = tail.data();
  z.avail_out = static_cast<uInt>(tail.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  tail.resize(tail.size() - z.avail_out);
  deflateEnd(&z);
  bytes out = {0x78, 0xda};
  for (std::uint64_t i = 0; i < n / piece; ++i) out.insert(out.end(), block.begin(), block.end());
  out.insert(out.end(), tail.begin(), tail.end());
  const std::uint32_t adler = static_cast<std::uint32_t>((n % 65521) << 16 | 1);
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<std::uint8_t>(adler >> shift));
  return out;
}

struct published_store {
  temp_dir d;
  std::string src = d / "src", state = d / "state", store = d / "store";
  manifest m;
  published_store() {
    make_tree(src, {{'f', "a.txt", "alpha"},
                    {'d', "sub"},
                    {'f', "sub/.stratumcatalog", ""},
                    {'f', "sub/b.txt", "in the nested catalog"},
                    {'f', "big.txt", big_text(100000)}});
    auto r = run_stratum({"publish", "--new", state, src, store});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    m = parse_manifest(as_bytes(read_file(store + "/.stratumpublished")), "store").m;
  }
  std::string path_of(const std::string& key) const { return store + "/" + key; }
  // Signs `n` with the publisher's key into the store, as an older version
  // (or anyone holding the key) would have written it.
  void write_manifest(const manifest& n) {
    auto key = signing_key::load(state + "/keys/stratum.key");
    auto text = encode_manifest(n, key);
    write_file(path_of(".stratumpublished"), to_string(text));
  }
  // The history with the root sizes left out (0: not recorded), as a
  // version-1 history reads; stored, and its name returned.
  hash256 unsized_history() {
    const std::string key = object_key(m.history, object_kind::history);
    const auto stored = read_file(path_of(key));
    auto h = decode_history(inflate_object(as_bytes(stored), *m.history_size, "history"), "history");
    for (auto& t : h.tags) t.root_size = 0;
    for (auto& r : h.revisions) r.root_size = 0;
    const auto content = encode_history(h);
    const auto name = sha256(content);
    fs::create_directories(fs::path(path_of(object_key(name, object_kind::history))).parent_path());
    write_file(path_of(object_key(name, object_kind::history)), to_string(deflate_object(content, {1})));
    return name;
  }
  void replace(const std::string& key, const bytes& content) {
    REQUIRE(::unlink(path_of(key).c_str()) == 0);
    write_file(path_of(key), to_string(content));
  }
};

// Every read command once, in a fresh destination.
struct command_case {
  std::string name;
  std::vector<std::string> args;
  int code;
};
std::vector<command_case> every_read(const published_store& s, int restore_code, int check_code, int other_code) {
  return {{"ls", {"ls", s.store}, other_code},
          {"ls sub", {"ls", s.store, "sub"}, other_code},
          {"cat", {"cat", s.store, "sub/b.txt"}, other_code},
          {"restore", {"restore", s.store, s.d / "dest"}, restore_code},
          {"check", {"check", s.store}, check_code},
          {"check -i", {"check", "-i", s.store}, check_code},
          {"info", {"info", s.store}, other_code}};
}

void expect_bounded(const published_store& s, const std::vector<command_case>& cases, const std::string& names) {
  for (const auto& c : cases) {
    CAPTURE(c.name);
    fs::remove_all(s.d / "dest");
    auto r = run_bounded(c.args, s.d.path);
    CAPTURE(r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.code == c.code);
    CHECK(r.err.find(names) != std::string::npos);
#ifndef __SANITIZE_ADDRESS__
    CHECK(r.peak_rss_kib < 256 * 1024);
    MESSAGE(c.name << ": peak RSS " << r.peak_rss_kib / 1024 << " MiB");
#endif
  }
}

}  // namespace

TEST_CASE("a root catalog that inflates to 1.5 GiB stops every read command at the limit, in bounded memory") {
  published_store s;
  const std::string key = object_key(s.m.root, object_kind::catalog);
  const auto bomb = zero_bomb(std::uint64_t(1536) << 20);
  CHECK(bomb.size() < (std::size_t(2) << 20));
  s.replace(key, bomb);

  SUBCASE("without recorded sizes, as an older version wrote the repository: inflated up to 64 MiB") {
    manifest old = s.m;
    old.root_size.reset();
    old.history_size.reset();
    old.history = s.unsized_history();
    s.write_manifest(old);
    // restore and check go on past a damaged catalog only below the root.
    expect_bounded(s, every_read(s, 3, 1, 3), "object " + key + ": inflates to more than 67108864 bytes");
    // The limit is the user's: a 128 MiB one passes 100 MiB, and inflates
    // whole under 256 MiB, where the name check refuses it.
    s.replace(key, zero_bomb(std::uint64_t(128) << 20));
    auto r = run_bounded({"ls", s.store, "--max-catalog-size", "100"}, s.d.path);
    CHECK(r.code == 3);
    CHECK(r.err.find("object " + key + ": inflates to more than 104857600 bytes") != std::string::npos);
    r = run_bounded({"ls", s.store, "--max-catalog-size", "256"}, s.d.path);
    CHECK(r.code == 3);
    CHECK(r.err.find("object " + key + ": content does not match its hash") != std::string::npos);
    CHECK(run_bounded({"ls", s.store, "--max-catalog-size", "0"}, s.d.path).code == 2);
  }
  SUBCASE("with the size the publisher recorded: no more is fetched than a stream of that size takes") {
    expect_bounded(s, every_read(s, 3, 1, 3),
                   "object " + key + " is larger than any zlib stream of its " + std::to_string(*s.m.root_size) + "-byte content");
  }
}

TEST_CASE("a nested catalog bomb is stopped at the size its parent recorded") {
  published_store s;
  // The nested catalog is the one mounted at sub: find it by listing the
  // catalogs and leaving out the root.
  std::string nested;
  for (auto& e : fs::recursive_directory_iterator(s.store + "/data")) {
    auto name = e.path().filename().string();
    if (name.back() == 'C' && name != s.m.root.hex() + "C") nested = e.path().lexically_relative(s.store).string();
  }
  REQUIRE(!nested.empty());
  s.replace(nested, zero_bomb(std::uint64_t(1536) << 20));
  // ls of the root and info read only the root catalog; restore lists the
  // nested catalog it cannot read as a problem and restores the rest
  // (catalog/read/restorer.cpp).
  std::vector<command_case> cases = {{"ls sub", {"ls", s.store, "sub"}, 3},
                                     {"cat", {"cat", s.store, "sub/b.txt"}, 3},
                                     {"restore", {"restore", s.store, s.d / "dest"}, 1},
                                     {"check", {"check", s.store}, 1},
                                     {"check -i", {"check", "-i", s.store}, 1}};
  expect_bounded(s, cases, "object " + nested + " is larger than any zlib stream of its");

  // A stream within the bound that inflates to more than the recorded size
  // stops there.
  bytes zeros(std::size_t(1) << 20, 0);
  s.replace(nested, deflate_object(zeros, {1}));
  auto r = run_bounded({"ls", s.store, "sub"}, s.d.path);
  CHECK(r.code == 3);
  CHECK(r.err.find("object " + nested + ": stored data does not inflate to the recorded") != std::string::npos);
}

TEST_CASE("a FIFO or a symbolic link where an object should be makes no read command wait") {
  const std::string file_key = object_key(sha256(as_bytes("in the nested catalog")), object_kind::file);
  for (char kind : {'p', 'l'}) {
    CAPTURE(kind);
    const std::string what = kind == 'p' ? "(a FIFO)" : "(a symbolic link)";
    auto plant = [&](published_store& s, const std::string& key) {
      REQUIRE(::unlink(s.path_of(key).c_str()) == 0);
      write_file(s.d / "elsewhere", "not an object");
      if (kind == 'p') REQUIRE(::mkfifo(s.path_of(key).c_str(), 0644) == 0);
      else REQUIRE(::symlink((s.d / "elsewhere").c_str(), s.path_of(key).c_str()) == 0);
    };
    {  // a file's object: ls and info read none; the others name it
      published_store s;
      plant(s, file_key);
      std::vector<command_case> cases = {{"cat", {"cat", s.store, "sub/b.txt"}, 3},
                                         {"restore", {"restore", s.store, s.d / "dest"}, 1},
                                         {"check", {"check", s.store}, 1},
                                         {"check -i", {"check", "-i", s.store}, 1}};
      expect_bounded(s, cases, file_key + " is not a regular file " + what + "; remove it or restore the object");
      CHECK(run_bounded({"ls", s.store, "sub"}, s.d.path).code == 0);
    }
    {  // the root catalog
      published_store s;
      const std::string root_key = object_key(s.m.root, object_kind::catalog);
      plant(s, root_key);
      expect_bounded(s, every_read(s, 3, 1, 3), root_key + " is not a regular file " + what);
    }
    {  // the manifest
      published_store s;
      plant(s, ".stratumpublished");
      expect_bounded(s, every_read(s, 3, 3, 3), ".stratumpublished is not a regular file " + what);
    }
  }
}

TEST_CASE("a publish that finds a FIFO where an object goes stores the object over it") {
  published_store s;
  const std::string file_key = object_key(sha256(as_bytes("in the nested catalog")), object_kind::file);
  REQUIRE(::unlink(s.path_of(file_key).c_str()) == 0);
  REQUIRE(::mkfifo(s.path_of(file_key).c_str(), 0644) == 0);
  // A new STATE with the same key has no journal of the store: it looks each
  // object up in the store (verify mode), where the FIFO is not an object.
  auto r = run_bounded({"publish", s.d / "state2", s.src, s.store, "--key", s.state + "/keys/stratum.key"}, s.d.path);
  CHECK_FALSE(r.timed_out);
  CHECK_MESSAGE(r.code == 0, r.err);
  struct stat st;
  REQUIRE(::lstat(s.path_of(file_key).c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  auto c = run_bounded({"check", "-i", s.store}, s.d.path);
  CHECK_MESSAGE(c.code == 0, c.err);
}

TEST_CASE("after a machine restart, a FIFO found where a confirmed object was is stored over") {
  temp_dir d;
  std::vector<fixture> tree;
  for (int i = 0; i < 400; ++i) tree.push_back({'f', "f" + std::to_string(i), pattern(100 + i, i)});
  make_tree(d / "src", tree);
  run_options crash;
  crash.env = {"STRATUM_CRASH_AT=upload:300", "STRATUM_BOOT_ID=first-boot"};
  REQUIRE(run_stratum({"publish", "--new", d / "st", d / "src", d / "store"}, crash).code == 128 + SIGKILL);
  std::vector<std::string> objects;
  for (auto& e : fs::recursive_directory_iterator(d / "store/data"))
    if (e.is_regular_file()) objects.push_back(e.path().string());
  std::sort(objects.begin(), objects.end());
  REQUIRE(objects.size() > 250);
  for (std::size_t i = 0; i < 3; ++i) {
    REQUIRE(::unlink(objects[i * 50].c_str()) == 0);
    REQUIRE(::mkfifo(objects[i * 50].c_str(), 0644) == 0);
  }
  // The restarted run looks up each object it confirmed: a FIFO is not one.
  auto r = run_bounded({"publish", d / "st", d / "src", d / "store"}, d.path, {"STRATUM_BOOT_ID=second-boot"});
  CHECK_FALSE(r.timed_out);
  CHECK_MESSAGE(r.code == 0, r.err);
  for (std::size_t i = 0; i < 3; ++i) {
    struct stat st;
    REQUIRE(::lstat(objects[i * 50].c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
  }
  auto c = run_bounded({"check", "-i", d / "store"}, d.path);
  CHECK_MESSAGE(c.code == 0, c.err);
}
