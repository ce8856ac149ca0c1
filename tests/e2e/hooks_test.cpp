// End-to-end: the hooks of STATE/hooks with the real binary on a local
// store. A failing publish-before hook ends the run with exit 3 before
// anything is written (the manifest's bytes and every journal file are
// compared); publish-after sees the new revision, its arguments and
// environment, and runs with STATE unlocked; a failing after-hook leaves the
// publish standing with exit 1; hook output goes to stderr, never into the
// --json on stdout; a hook that is not executable is named.
#include "support.hpp"

#include <filesystem>
#include <map>
#include <sys/stat.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Every file under dir, by relative path, with its bytes.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_file(e.path().string());
  return out;
}

void install_hook(const std::string& state, const std::string& name, const std::string& script, unsigned mode = 0755) {
  fs::create_directories(state + "/hooks");
  write_file(state + "/hooks/" + name, "#!/bin/sh\n" + script);
  ::chmod((state + "/hooks/" + name).c_str(), mode);
}

struct repo {
  temp_dir t;
  std::string st = t / "state", src = t / "src", store = t / "store";
  repo() { make_tree(src, {{'f', "a", "one"}, {'d', "d"}, {'f', "d/b", "two"}}); }
  run_result publish(bool fresh = false) const {
    std::vector<std::string> a = {"publish"};
    if (fresh) a.push_back("--new");
    a.insert(a.end(), {st, src, store, "--json"});
    return run_stratum(a);
  }
  std::string manifest() const { return read_file(store + "/.stratumpublished"); }
};

}  // namespace

TEST_CASE("hooks: a failing publish-before stops the publish with exit 3 and changes nothing") {
  repo r;
  auto first = r.publish(true);
  REQUIRE_MESSAGE(first.code == 0, first.err);
  write_file(r.src + "/a", "changed");
  install_hook(r.st, "publish-before", "echo before-out\necho before-err >&2\nexit 7\n");
  install_hook(r.st, "publish-after", "touch \"$STRATUM_STATE/after-ran\"\n");
  const std::string manifest = r.manifest();
  const auto journal = snapshot(r.st + "/journal");
  const auto objects = count_objects(r.store);
  REQUIRE_FALSE(journal.empty());

  auto res = r.publish();
  CHECK(res.code == 3);
  CHECK(res.out.empty());  // no JSON, and the hook's stdout is not stratum's
  CHECK(has(res.err, "stratum: publish-before: before-out\n"));
  CHECK(has(res.err, "stratum: publish-before: before-err\n"));
  CHECK(has(res.err, "hooks/publish-before' exited with status 7; nothing was changed"));
  CHECK(r.manifest() == manifest);
  CHECK(snapshot(r.st + "/journal") == journal);
  CHECK(count_objects(r.store) == objects);
  CHECK_FALSE(fs::exists(r.st + "/after-ran"));  // no after-hook for a run that did not publish

  // Fixed, the same command publishes the change.
  install_hook(r.st, "publish-before", "exit 0\n");
  auto again = r.publish();
  REQUIRE_MESSAGE(again.code == 0, again.err);
  CHECK(json_field(again.out, "revision") == "2");
  CHECK(r.manifest() != manifest);
  CHECK(fs::exists(r.st + "/after-ran"));
}

TEST_CASE("hooks: a failing publish-before on --new leaves no key, journal or store") {
  repo r;
  install_hook(r.st, "publish-before", "exit 1\n");
  auto res = r.publish(true);
  CHECK(res.code == 3);
  CHECK(has(res.err, "exited with status 1; nothing was changed"));
  CHECK_FALSE(fs::exists(r.store));
  CHECK_FALSE(fs::exists(r.st + "/keys"));
  CHECK_FALSE(fs::exists(r.st + "/journal"));
  CHECK_FALSE(fs::exists(r.st + "/settings"));
}

TEST_CASE("hooks: publish-after sees the new revision with STATE unlocked and its output goes to stderr") {
  repo r;
  // The hook copies the manifest it sees and tags the revision through
  // STATE, which needs STATE's lock: the publish must have let go of it.
  install_hook(r.st, "publish-after",
               "echo after-out\n"
               "echo \"$# $1 $STRATUM_STORE $STRATUM_REVISION $STRATUM_PUBLISHED $STRATUM_HOOK $STRATUM_STATE\" > \"$STRATUM_STATE/seen\"\n"
               "cp \"$1/.stratumpublished\" \"$STRATUM_STATE/seen-manifest\"\n"
               "[ \"$STRATUM_PUBLISHED\" = 1 ] || exit 0\n"
               "exec " STRATUM_BIN " tag \"$STRATUM_STATE\" \"$1\" -a \"after-$STRATUM_REVISION\"\n");
  auto res = r.publish(true);
  REQUIRE_MESSAGE(res.code == 0, res.err);
  CHECK(json_field(res.out, "revision") == "1");  // stdout is still one JSON object
  CHECK_FALSE(has(res.out, "after-out"));
  CHECK(has(res.err, "stratum: publish-after: after-out\n"));
  CHECK(read_file(r.st + "/seen") == "1 " + r.store + " " + r.store + " 1 1 publish-after " + r.st + "\n");
  CHECK(has(read_file(r.st + "/seen-manifest"), "revision 1\n"));  // written before the hook ran
  auto tags = run_stratum({"tag", r.store, "--pubkey", r.st});
  REQUIRE_MESSAGE(tags.code == 0, tags.err);
  CHECK(has(tags.out, "after-1"));

  // Nothing changed (the tag kept revision 1): the after-hook still runs,
  // pairing with the before-hook, and is told so.
  auto same = r.publish();
  REQUIRE_MESSAGE(same.code == 0, same.err);
  CHECK(read_file(r.st + "/seen") == "1 " + r.store + " " + r.store + " 1 0 publish-after " + r.st + "\n");
}

TEST_CASE("hooks: a failing publish-after leaves the revision published and exits 1") {
  repo r;
  install_hook(r.st, "publish-after", "echo cannot-notify >&2\nexit 4\n");
  auto res = r.publish(true);
  CHECK(res.code == 1);
  CHECK(json_field(res.out, "revision") == "1");
  CHECK(has(res.err, "stratum: publish-after: cannot-notify\n"));
  CHECK(has(res.err, "hooks/publish-after' exited with status 4"));
  auto info = run_stratum({"check", "-i", r.store, "--pubkey", r.st});
  CHECK_MESSAGE(info.code == 0, info.err);
}

TEST_CASE("hooks: a hook that is not executable is named, and nothing changes") {
  repo r;
  install_hook(r.st, "publish-before", "exit 0\n", 0644);
  auto res = r.publish(true);
  CHECK(res.code == 3);
  CHECK(has(res.err, "hooks/publish-before' is not executable (chmod +x it, or remove it)"));
  CHECK_FALSE(fs::exists(r.store));

  // A script without #! cannot be started: said so.
  write_file(r.st + "/hooks/publish-before", "exit 0\n");
  ::chmod((r.st + "/hooks/publish-before").c_str(), 0755);
  auto nox = r.publish(true);
  CHECK(nox.code == 3);
  CHECK(has(nox.err, "could not be started"));
  CHECK_FALSE(fs::exists(r.store));
}

TEST_CASE("hooks: a CernVM-FS repository's name is $2") {
  repo r;
  install_hook(r.st, "publish-before", "echo \"$# $2 $STRATUM_NAME\" > \"$STRATUM_STATE/../before-seen\"\n");
  auto res = run_stratum({"publish", "--new", r.st, r.src, r.store, "--format", "cvmfs", "--name", "sw.example.org", "-q"});
  REQUIRE_MESSAGE(res.code == 0, res.err);
  CHECK(read_file(r.t / "before-seen") == "2 sw.example.org sw.example.org\n");
}
