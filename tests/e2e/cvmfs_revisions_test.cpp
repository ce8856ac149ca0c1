// End-to-end: CernVM-FS repositories over several revisions — what changes
// and what is kept, tags, reading back with stratum's own commands, and a
// publish killed with SIGKILL at each step. The store is judged by
// tests/e2e/cvmfs_tool.py (Python's sqlite3, zlib, hashlib and the openssl
// command line), not by stratum's reader.
#include "support.hpp"

#include <csignal>
#include <filesystem>
#include <unistd.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* fqrn = "sw.example.org";

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// cvmfs_tool.py inspect: the repository as JSON (see the script).
std::string inspect(const std::string& store, const std::string& state) {
  return shell("MASTER_PUB=" + state + "/keys/" + fqrn + ".pub /usr/bin/python3 " STRATUM_SOURCE_DIR "/tests/e2e/cvmfs_tool.py inspect " +
               store + " 2>&1");
}

// A field of a JSON object, compactly serialised: "\"key\":value".
std::string field(const std::string& json, const std::string& name) { return json_field(json, name); }

void expect_sound(const std::string& view) {
  CAPTURE(view);
  CHECK(field(view, "bad_names") == "0");
  CHECK(field(view, "manifest_hash_ok") == "true");
  CHECK(field(view, "manifest_sig_ok") == "true");
  CHECK(field(view, "whitelist_sig_ok") == "true");
  CHECK(field(view, "whitelist_lists_cert") == "true");
  CHECK(field(view, "root_size_ok") == "true");
  CHECK(field(view, "reflog_hash_ok") == "true");
  CHECK(field(view, "zlib_bytes_ok") == "true");
}

std::vector<std::string> publish_args(const std::string& st, const std::string& src, const std::string& store, bool fresh) {
  std::vector<std::string> a = {"publish"};
  if (fresh) a.push_back("--new");
  a.insert(a.end(), {st, src, store, "--json"});
  if (fresh) a.insert(a.end(), {"--format", "cvmfs", "--name", fqrn});
  return a;
}

void expect_restores(const std::string& store, const std::string& st, const std::string& src, const std::string& dst) {
  auto res = run_stratum({"restore", store, dst, "--quiet", "--pubkey", st});
  REQUIRE_MESSAGE(res.code == 0, res.err);
  auto diffs = compare_trees(src, dst, ::geteuid() == 0);
  CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));
  auto chk = run_stratum({"check", "-i", store, "--pubkey", st});
  CHECK_MESSAGE(chk.code == 0, chk.err);
}

}  // namespace

TEST_CASE("cvmfs revisions: unchanged nested catalogs are kept, trunk moves, tags stay, and every revision reads back") {
  temp_dir d;
  const std::string src = d / "src", st = d / "st", store = d / "store";
  make_tree(src, {{'f', "top.txt", "first"},
                  {'d', "dir"},
                  {'f', "dir/a", "alpha"},
                  {'h', "dir/a-link", "", "dir/a"},
                  {'x', "dir/a", "value", "user.origin"},
                  {'l', "dir/sym", "", "a"},
                  {'p', "dir/fifo"},
                  {'f', "dir/with space", "s"},
                  {'f', "dir/new\nline", "n"},
                  {'f', "dir/latin1-\xe9", "e"},
                  {'f', "large", pattern(20 << 20, 3)},
                  {'d', "pkg"},
                  {'f', "pkg/.cvmfscatalog", ""},
                  {'d', "pkg/inner"},
                  {'f', "pkg/inner/x", "inside"}});
  auto first = run_stratum(publish_args(st, src, store, true));
  REQUIRE_MESSAGE(first.code == 0, first.err);
  const auto v1 = inspect(store, st);
  expect_sound(v1);
  const std::string root1 = json_field(json_field(v1, "manifest"), "C");
  const std::string nested1 = json_field(json_field(v1, "nested"), "/pkg");
  CHECK(json_field(json_field(v1, "root"), "revision") == "1");
  CHECK(has(json_field(v1, "meta"), fqrn));
  expect_restores(store, st, src, d / "dst1");

  // Revision 2 changes a file outside the nested catalog, with a tag.
  write_file(src + "/top.txt", "second");
  auto second = run_stratum([&] {
    auto a = publish_args(st, src, store, false);
    a.insert(a.end(), {"--tag", "v2", "-m", "the second"});
    return a;
  }());
  REQUIRE_MESSAGE(second.code == 0, second.err);
  CHECK(json_field(second.out, "revision") == "2");
  CHECK(json_field(second.out, "files_read") == "1");
  const auto v2 = inspect(store, st);
  expect_sound(v2);
  const std::string root2 = json_field(json_field(v2, "manifest"), "C");
  CHECK(root2 != root1);
  CHECK(json_field(json_field(v2, "root"), "revision") == "2");
  CHECK(json_field(json_field(v2, "root"), "previous_revision") == root1);
  // The nested catalog did not change: the same object, not a new one.
  CHECK(json_field(json_field(v2, "nested"), "/pkg") == nested1);
  const auto tags = json_field(v2, "tags");
  CHECK(json_field(tags, "trunk") == "[\"" + root2 + "\",2,\"current revision\"]");
  CHECK(json_field(tags, "trunk-previous") == "[\"" + root1 + "\",1,\"previous revision\"]");
  CHECK(json_field(tags, "v2") == "[\"" + root2 + "\",2,\"the second\"]");
  // The reflog names both root catalogs.
  const auto reflog = json_field(v2, "reflog");
  CHECK(has(reflog, "[\"" + root1 + "\",0]"));
  CHECK(has(reflog, "[\"" + root2 + "\",0]"));

  // Read back: the master key was kept at the first read (--pubkey), so
  // these need none; the previous revision by its tag.
  CHECK(run_stratum({"cat", store, "top.txt"}).out == "second");
  auto old = run_stratum({"cat", store, "top.txt", "--tag", "trunk-previous"});
  CHECK_MESSAGE(old.code == 0, old.err);
  CHECK(old.out == "first");
  auto info = run_stratum({"info", store});
  CHECK(has(info.out, "format:          cvmfs"));
  CHECK(has(info.out, "master key:"));

  // Revision 3 changes the nested catalog's subtree: a new nested catalog
  // that names the one it replaces.
  write_file(src + "/pkg/inner/x", "changed inside");
  auto third = run_stratum(publish_args(st, src, store, false));
  REQUIRE_MESSAGE(third.code == 0, third.err);
  const auto v3 = inspect(store, st);
  expect_sound(v3);
  CHECK(json_field(json_field(v3, "nested"), "/pkg") != nested1);
  expect_restores(store, st, src, d / "dst3");

  // Nothing changed: nothing is published.
  auto same = run_stratum(publish_args(st, src, store, false));
  REQUIRE_MESSAGE(same.code == 0, same.err);
  CHECK(json_field(same.out, "unchanged") == "true");
  CHECK(json_field(json_field(inspect(store, st), "manifest"), "S") == "3");
}

TEST_CASE("cvmfs revisions: a publish killed at any step resumes to a sound repository, sending nothing confirmed again") {
  const std::vector<std::string> points = {"upload:3", "catalog:1", "before-manifest:1", "after-manifest:1"};
  temp_dir d;
  auto tree = small_cvmfs_tree(40);
  tree.push_back({'f', "large", pattern(9 << 20, 5)});
  make_tree(d / "src", tree);
  for (const auto& point : points) {
    CAPTURE(point);
    const std::string st = d / ("st-" + point), store = d / ("store-" + point);
    run_options crash;
    crash.env = {"STRATUM_CRASH_AT=" + point};
    auto args = publish_args(st, d / "src", store, true);
    args.insert(args.end(), {"--max-files", "4"});
    REQUIRE(run_stratum(args, crash).code == 128 + SIGKILL);
    auto resumed = run_stratum(publish_args(st, d / "src", store, false));
    REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
    CHECK(json_field(resumed.out, "resumed") == "true");
    CHECK(std::stoull(json_field(resumed.out, "objects_resent")) <= std::stoull(json_field(resumed.out, "in_flight_at_stop")));
    if (point == "after-manifest:1") CHECK(json_field(resumed.out, "objects_stored") == "0");
    expect_sound(inspect(store, st));

    // The next revision, killed too, then resumed.
    write_file(d / "src/f0", "revision two of " + point);
    REQUIRE(run_stratum(publish_args(st, d / "src", store, false), crash).code == 128 + SIGKILL);
    auto next = run_stratum(publish_args(st, d / "src", store, false));
    REQUIRE_MESSAGE(next.code == 0, next.err);
    CHECK(json_field(next.out, "revision") == "2");
    const auto view = inspect(store, st);
    expect_sound(view);
    CHECK(json_field(json_field(view, "root"), "revision") == "2");
    expect_restores(store, st, d / "src", d / ("dst-" + point));
    write_file(d / "src/f0", pattern(300, 0));  // as small_cvmfs_tree made it
  }
}
