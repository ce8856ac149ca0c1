// The journal end to end: publishes killed with SIGKILL at every step resume
// to a repository identical to the source; next revisions read only what
// changed; STATE, SOURCE and STORE must belong together; one stratum per
// STATE; files that keep changing are never published torn.
#include "support.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

constexpr int killed = 128 + SIGKILL;

// About 400 small files in 20 directories, a nested catalog, a chunked file.
std::vector<fixture> crash_tree() {
  std::vector<fixture> t;
  for (int d = 0; d < 20; ++d) {
    std::string dir = "d" + std::to_string(d);
    t.push_back({'d', dir});
    for (int f = 0; f < 20; ++f)
      t.push_back({'f', dir + "/f" + std::to_string(f), pattern(100 + 37 * f + d, d * 100 + f)});
  }
  t.push_back({'f', "d3/same-as-d3-f0", pattern(100 + 3, 300)});  // duplicate content
  t.push_back({'d', "nested"});
  t.push_back({'f', "nested/.stratumcatalog", ""});
  t.push_back({'d', "nested/inner"});
  t.push_back({'f', "nested/inner/file", "inside the nested catalog"});
  t.push_back({'l', "link", "", "d1/f1"});
  t.push_back({'f', "large", pattern(40 << 20, 7)});  // 3+ chunks
  return t;
}

std::size_t rewritten(const std::map<std::string, ino_t>& before, const std::map<std::string, ino_t>& after) {
  std::size_t n = 0;
  for (auto& [k, ino] : before)
    if (auto it = after.find(k); it != after.end() && it->second != ino) ++n;
  return n;
}

void expect_identical(const std::string& store, const std::string& src, const std::string& dst) {
  auto res = run_stratum({"restore", store, dst, "--quiet"});
  REQUIRE_MESSAGE(res.code == 0, res.err);
  auto diffs = compare_trees(src, dst, ::geteuid() == 0);
  CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));
  auto chk = run_stratum({"check", "-i", store});
  CHECK_MESSAGE(chk.code == 0, chk.err);
}

constexpr int max_files = 8;

}  // namespace

TEST_CASE("a publish killed at any step resumes to a repository identical to the source") {
  // NAME:N kills at the N-th pass through that step (async/crash_point.hpp).
  const std::vector<std::string> points = {"scan:1",    "scan:12",     "upload:1",         "upload:120",
                                           "upload:400", "file:250",   "catalog:1",        "before-manifest:1",
                                           "after-manifest:1"};
  temp_dir d;
  make_tree(d / "src", crash_tree());
  for (const auto& point : points) {
    CAPTURE(point);
    const std::string st = d / ("st-" + point), store = d / ("store-" + point);
    const std::vector<std::string> common = {"--max-files", std::to_string(max_files), "--json"};
    auto args = std::vector<std::string>{"publish", "--new", st, d / "src", store};
    args.insert(args.end(), common.begin(), common.end());
    run_options crash;
    crash.env = {"STRATUM_CRASH_AT=" + point};
    auto first = run_stratum(args, crash);
    REQUIRE_MESSAGE(first.code == killed, first.err);

    // --new again is refused: the interrupted publish is resumed without it.
    auto again = run_stratum(args);
    CHECK(again.code == 2);
    CHECK(again.err.find("without --new to resume") != std::string::npos);

    auto before = object_inodes(store);
    auto resume_args = std::vector<std::string>{"publish", st, d / "src", store};
    resume_args.insert(resume_args.end(), common.begin(), common.end());
    auto second = run_stratum(resume_args);
    INFO(second.err);
    REQUIRE(second.code == 0);
    CHECK(json_field(second.out, "resumed") == "true");
    CHECK(json_field(second.out, "revision") == "1");
    // Nothing confirmed is sent again; what was in flight may be.
    auto resent = std::stoull(json_field(second.out, "objects_resent"));
    auto in_flight = std::stoull(json_field(second.out, "in_flight_at_stop"));
    CHECK(resent <= in_flight);
    CHECK(in_flight <= static_cast<unsigned long long>(max_files));
    // Killed right after storing an object, before its confirmation: the
    // resumed run finds that object in the store and stores it again.
    if (point.rfind("upload:", 0) == 0) {
      CHECK(in_flight >= 1);
      CHECK(resent >= 1);
    }
    CHECK(rewritten(before, object_inodes(store)) <= resent);
    if (point == "after-manifest:1") CHECK(json_field(second.out, "objects_stored") == "0");
    expect_identical(store, d / "src", d / ("dst-" + point));
  }
}

TEST_CASE("a publish killed again and again, at random moments, still finishes intact") {
  temp_dir d;
  make_tree(d / "src", crash_tree());
  // A first revision, then a changed tree whose publish is killed repeatedly.
  REQUIRE(run_stratum({"publish", "--new", d / "st", d / "src", d / "store", "--quiet"}).code == 0);
  for (int i = 0; i < 40; ++i) write_file(d / ("src/d" + std::to_string(i % 20) + "/new" + std::to_string(i)), pattern(5000, 1000 + i));
  write_file(d / "src/large", pattern(30 << 20, 8));
  fs::remove_all(d / "src/d19");
  int kills = 0;
  bool done = false;
  for (int delay = 5; delay < 5000 && !done; delay = delay * 3 / 2 + 5) {
    run_options o;
    o.kill_after_ms = delay;
    auto r = run_stratum({"publish", d / "st", d / "src", d / "store", "--json", "--max-files", std::to_string(max_files)}, o);
    if (r.code == killed) {
      ++kills;
      continue;
    }
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(std::stoull(json_field(r.out, "objects_resent")) <= std::stoull(json_field(r.out, "in_flight_at_stop")));
    done = true;
  }
  REQUIRE(done);
  CHECK(kills >= 2);
  MESSAGE("killed " << kills << " times before the publish finished");
  CHECK(run_stratum({"info", d / "store", "--json"}).out.find("\"revision\":2") != std::string::npos);
  expect_identical(d / "store", d / "src", d / "dst");
}

TEST_CASE("the next revision reads only what changed, and an unchanged tree publishes nothing") {
  temp_dir d;
  make_tree(d / "src", {{'d', "a"}, {'f', "a/one", "first"}, {'f', "a/two", "second"}, {'f', "three", "third"},
                        {'d', "gone"}, {'f', "gone/x", "x"}, {'f', "mode", "mode bits change"}});
  auto first = run_stratum({"publish", "--new", d / "st", d / "src", d / "store", "--json"});
  REQUIRE_MESSAGE(first.code == 0, first.err);
  auto manifest = read_file(d / "store/.stratumpublished");

  auto same = run_stratum({"publish", d / "st", d / "src", d / "store", "--json"});
  REQUIRE_MESSAGE(same.code == 0, same.err);
  CHECK(json_field(same.out, "unchanged") == "true");
  CHECK(json_field(same.out, "files_read") == "0");
  CHECK(json_field(same.out, "objects_stored") == "0");
  CHECK(json_field(same.out, "revision") == "1");
  CHECK(read_file(d / "store/.stratumpublished") == manifest);
  auto said = run_stratum({"publish", d / "st", d / "src", d / "store"});
  CHECK(said.err.find("nothing changed since revision 1") != std::string::npos);

  // A tag publishes a revision even when nothing changed: the same root.
  auto tagged = run_stratum({"publish", d / "st", d / "src", d / "store", "--json", "--tag", "v1"});
  REQUIRE_MESSAGE(tagged.code == 0, tagged.err);
  CHECK(json_field(tagged.out, "revision") == "2");
  CHECK(json_field(tagged.out, "root_catalog") == json_field(first.out, "root_catalog"));
  CHECK(json_field(tagged.out, "files_read") == "0");

  write_file(d / "src/a/one", "FIRST");  // same size, new content
  write_file(d / "src/added", "new file");
  fs::remove_all(d / "src/gone");
  fs::permissions(d / "src/mode", fs::perms::owner_read);
  auto next = run_stratum({"publish", d / "st", d / "src", d / "store", "--json"});
  REQUIRE_MESSAGE(next.code == 0, next.err);
  CHECK(json_field(next.out, "revision") == "3");
  CHECK(json_field(next.out, "files_read") == "3");      // one, added, mode (its ctime moved)
  CHECK(json_field(next.out, "files_unchanged") == "2");  // two, three
  CHECK(json_field(next.out, "objects_stored") == "4");  // two contents, the catalog, the history
  expect_identical(d / "store", d / "src", d / "dst");
  CHECK(run_stratum({"cat", d / "store", "a/one", "--tag", "v1"}).out == "first");
}

TEST_CASE("STATE, SOURCE and STORE must belong together") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a", "1"}});
  make_tree(d / "other", {{'f', "b", "2"}});
  REQUIRE(run_stratum({"publish", "--new", d / "st", d / "src", d / "store"}).code == 0);
  auto manifest = read_file(d / "store/.stratumpublished");

  auto wrong_source = run_stratum({"publish", d / "st", d / "other", d / "store"});
  CHECK(wrong_source.code == 2);
  CHECK(wrong_source.err.find("belongs to the publish of '" + d / "src'") != std::string::npos);
  fs::create_directories(d / "store2");
  auto wrong_store = run_stratum({"publish", d / "st", d / "src", d / "store2"});
  CHECK(wrong_store.code == 2);
  CHECK(wrong_store.err.find("belongs to the publish of") != std::string::npos);
  // The same source named another way is the same source.
  CHECK(run_stratum({"publish", d / "st", d / "src/", d / "store"}).code == 0);

  // Another STATE with the repository's key publishes revision 2: it reads
  // everything once and finds the existing objects in the store.
  write_file(d / "src/c", "3");
  auto adopt = run_stratum({"publish", d / "st2", d / "src", d / "store", "--key", d / "st/keys/stratum.key", "--json"});
  REQUIRE_MESSAGE(adopt.code == 0, adopt.err);
  CHECK(json_field(adopt.out, "revision") == "2");
  CHECK(json_field(adopt.out, "objects_stored") == "3");  // c, the catalog, the history; a was found
  CHECK(adopt.err.find("no journal of this store") != std::string::npos);

  // The first STATE now lags behind the store: refused, nothing changed.
  manifest = read_file(d / "store/.stratumpublished");
  auto lagging = run_stratum({"publish", d / "st", d / "src", d / "store"});
  CHECK(lagging.code == 2);
  CHECK(lagging.err.find("holds revision 2") != std::string::npos);
  CHECK(lagging.err.find("expects revision 1") != std::string::npos);
  CHECK(read_file(d / "store/.stratumpublished") == manifest);
}

TEST_CASE("a second stratum on the same STATE is refused") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a", "1"}});
  REQUIRE(run_stratum({"publish", "--new", d / "st", d / "src", d / "store"}).code == 0);
  // Hold the lock as a running stratum would.
  int fd = ::open((d / "st/lock").c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  std::string pid = std::to_string(::getpid()) + "\n";
  REQUIRE(::ftruncate(fd, 0) == 0);
  REQUIRE(::pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size()));
  auto busy = run_stratum({"publish", d / "st", d / "src", d / "store"});
  CHECK(busy.code == 2);
  CHECK(busy.err.find("in use by pid " + std::to_string(::getpid())) != std::string::npos);
  ::close(fd);
  CHECK(run_stratum({"publish", d / "st", d / "src", d / "store"}).code == 0);
}

TEST_CASE("a file that keeps changing while being read is reported, never published torn") {
  temp_dir d;
  make_tree(d / "src", {{'f', "quiet", "stays the same"}, {'f', "hot", std::string(4096, 'h')}});
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    int fd = ::open((d / "src/hot").c_str(), O_WRONLY);
    for (unsigned i = 0; !stop; ++i) {
      char c = static_cast<char>('a' + i % 26);
      (void)::pwrite(fd, &c, 1, i % 4096);
    }
    ::close(fd);
  });
  auto r = run_stratum({"publish", "--new", d / "st", d / "src", d / "store"});
  stop = true;
  writer.join();
  CHECK_MESSAGE(r.code == 1, r.err);
  auto problems = read_file(d / "st/problems.txt");
  CHECK(problems.find("hot: kept changing while being read") != std::string::npos);
  CHECK(run_stratum({"ls", d / "store"}).out == "quiet\n");
  // Quiet again: the next publish takes it.
  auto next = run_stratum({"publish", d / "st", d / "src", d / "store", "--json"});
  REQUIRE_MESSAGE(next.code == 0, next.err);
  CHECK(json_field(next.out, "files_read") == "1");
  CHECK(run_stratum({"cat", d / "store", "hot"}).out == read_file(d / "src/hot"));
}

TEST_CASE("a full STATE disk stops the publish cleanly and it resumes once there is room") {
  if (::geteuid() != 0) {
    MESSAGE("runs as root only (mounts a small tmpfs for STATE)");
    return;
  }
  temp_dir d;
  // Enough files that their journal records outgrow a 256 KiB disk.
  auto tree = crash_tree();
  for (int i = 0; i < 3000; ++i) tree.push_back({'f', "d" + std::to_string(i % 20) + "/more" + std::to_string(i), std::to_string(i)});
  make_tree(d / "src", tree);
  fs::create_directories(d / "small");
  REQUIRE(::system(("mount -t tmpfs -o size=256k tmpfs " + d / "small").c_str()) == 0);
  struct unmount {
    std::string at;
    ~unmount() { (void)::system(("umount " + at).c_str()); }
  } guard{d / "small"};
  auto full = run_stratum({"publish", "--new", d / "small/st", d / "src", d / "store", "--quiet"});
  // Its stderr when it ends otherwise (CI once saw an abort, 134, here under
  // the sanitizers and load; it did not come back in 57 runs).
  CHECK_MESSAGE(full.code == 3, full.err);
  CHECK(full.err.find("no space left on the disk holding STATE") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "store/.stratumpublished"));
  REQUIRE(::system(("mount -o remount,size=64m " + d / "small").c_str()) == 0);
  auto resumed = run_stratum({"publish", d / "small/st", d / "src", d / "store", "--json"});
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(json_field(resumed.out, "resumed") == "true");
  expect_identical(d / "store", d / "src", d / "dst");
}

TEST_CASE("after a machine restart, objects a power loss cut short are found and sent again") {
  temp_dir d;
  make_tree(d / "src", crash_tree());
  run_options crash;
  crash.env = {"STRATUM_CRASH_AT=upload:300", "STRATUM_BOOT_ID=first-boot"};
  REQUIRE(run_stratum({"publish", "--new", d / "st", d / "src", d / "store"}, crash).code == killed);
  // What a power loss leaves: renamed objects whose data never reached the disk.
  std::vector<std::string> objects;
  for (auto& e : fs::recursive_directory_iterator(d / "store/data"))
    if (e.is_regular_file()) objects.push_back(e.path().string());
  std::sort(objects.begin(), objects.end());
  REQUIRE(objects.size() > 250);
  for (std::size_t i = 0; i < 5; ++i) fs::resize_file(objects[i * 50], 0);

  run_options restarted;
  restarted.env = {"STRATUM_BOOT_ID=second-boot"};
  auto r = run_stratum({"publish", d / "st", d / "src", d / "store", "--json"}, restarted);
  INFO(r.err);
  REQUIRE(r.code == 0);
  // A cut object that was still in flight at the kill is sent again anyway
  // (its intent is there), without counting as lost.
  auto lost = std::stoull(json_field(r.out, "objects_lost_in_restart"));
  auto in_flight = std::stoull(json_field(r.out, "in_flight_at_stop"));
  CHECK(lost <= 5);
  CHECK(lost + in_flight >= 5);
  CHECK(lost >= 1);
  CHECK(r.err.find("the machine restarted") != std::string::npos);
  expect_identical(d / "store", d / "src", d / "dst");
}
