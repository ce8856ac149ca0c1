// check (catalog/read/checker.cpp) on crafted repositories: the subtree it is
// asked about must exist, and a damaged history is damage it lists, while the
// current revision stays readable.
#include "read_fixture.hpp"

#include <filesystem>

using namespace stratum;
using namespace stratum::test;

TEST_CASE("check of a subtree that no revision holds is a usage error naming the path") {
  read_fixture f;
  f.publish(make_catalog("", {dir_entry(""), dir_entry("dir"), file_entry("dir/a", "alpha")}), {"alpha"});
  CHECK(f.check("dir").problems.empty());
  CHECK(f.check("/dir/").problems.empty());
  CHECK(f.check("dir/a").problems.empty());
  // It had checked nothing and reported no problem.
  expect_failure([&] { f.check("nosuch"); }, errc::usage, "no 'nosuch' in the current or tagged revisions of ", "stratum ls");
  expect_failure([&] { f.check("dir/b"); }, errc::usage, "no 'dir/b'", "give a path that exists");
}

TEST_CASE("a subtree only a tagged revision holds is checked") {
  read_fixture f;
  f.craft.object("old");
  const hash256 old_root = f.craft.put(make_catalog("", {dir_entry(""), file_entry("gone", "old")}));
  const hash256 root = f.craft.put(make_catalog("", {dir_entry("")}));
  f.craft.publish(root, {{"v1", old_root, 1, 1700000000, "before"}});
  auto r = f.check("gone");
  CHECK(r.problems.empty());
  CHECK(r.objects == 1);
}

TEST_CASE("a history that does not decode is listed by check, and the current revision is still read") {
  read_fixture f;
  f.craft.object("alpha");
  const hash256 root = f.craft.put(make_catalog("", {dir_entry(""), file_entry("a", "alpha")}));
  f.craft.publish(root, {}, std::string("STRATUM-HISTORY\nnot a history"));
  auto repo = f.open();  // had failed: exit 3, as for a forged manifest
  REQUIRE(repo->history_problem());
  auto r = f.check();
  INFO(listed(r.problems));
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].path == ".");
  CHECK(r.problems[0].message.find("H: ") != std::string::npos);  // names the history object
  CHECK(r.problems[0].message.find("tagged revisions are not checked") != std::string::npos);
  CHECK(r.objects == 1);  // the current revision was checked
  auto res = f.restore(f.d / "dst");
  CHECK(res.problems.empty());
  CHECK(read_file(f.d / "dst/a") == "alpha");
  // What needs the history still fails, with the reason.
  expect_failure([&] { repo->root_for("trunk"); }, errc::corrupt, "the history (tags, earlier revisions) is damaged: ", "H: ");
}

TEST_CASE("a missing history object is listed by check") {
  read_fixture f;
  f.publish(make_catalog("", {dir_entry("")}));
  auto repo = f.open();
  const std::string key = object_key(repo->head().history, object_kind::history);
  run_io(f.io, [&] { return f.store->remove(key); });
  auto r = f.check();
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message.find(key + " is missing") != std::string::npos);
}
