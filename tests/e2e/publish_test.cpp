// End-to-end: the stratum binary publishes declared fixture trees to a local
// store; restore must reproduce them exactly; bad input gets clear messages.
#include "io/sha256.hpp"
#include "support.hpp"

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

// Every case of the fidelity list in one tree.
std::vector<fixture> full_tree() {
  std::vector<fixture> t = {
      {'d', "dir", "", "", 0755},
      {'f', "dir/plain.txt", "hello\n"},
      {'f', "dir/copy.txt", "hello\n"},  // identical content: stored once
      {'f', "empty", ""},
      {'d', "empty-dir", "", "", 0700},
      {'f', "setuid", "x", "", 04755},
      {'f', "setgid", "y", "", 02711},
      {'d', "sticky", "", "", 01777},
      {'f', "readonly", "r", "", 0400},
      {'l', "link", "", "dir/plain.txt"},
      {'l', "dangling", "", "no/such/target"},
      {'l', "loop", "", "loop"},
      {'h', "dir/hard", "", "dir/plain.txt"},
      {'d', "other", "", "", 0750},
      {'h', "other/hard-across", "", "dir/plain.txt"},
      {'p', "fifo", "", "", 0640},
      {'f', "with space", "s"},
      {'f', "new\nline", "n"},
      {'f', "tab\there", "t"},
      {'f', "back\\slash", "b"},
      {'f', "not-utf8-\xff\xfe", "u"},
      {'x', "dir/plain.txt", "value", "user.note"},
      {'x', "dir", "d", "user.dir"},
      {'z', "sparse", "tail", "", 0644, 8 << 20},
      {'f', "big-text", big_text(21 << 20)},   // chunked, compressible
      {'f', "big-noise", noise(18 << 20, 1)},  // chunked, stored raw
      {'d', "sub", "", "", 0755},
      {'f', "sub/.stratumcatalog", ""},  // nested catalog
      {'d', "sub/deeper", "", "", 0755},
      {'f', "sub/deeper/file", "in nested catalog"},
      {'h', "sub/deeper/hard-in-nested", "", "sub/deeper/file"},
  };
  if (::geteuid() == 0) t.push_back({'c', "null-device", "", "", 0666});
  return t;
}

}  // namespace

TEST_CASE("publish then restore reproduces every kind of entry exactly") {
  temp_dir d;
  make_tree(d / "src", full_tree());
  auto pub = run_stratum({"publish", "--new", d / "state", d / "src", d / "store", "--json"});
  INFO(pub.err);
  REQUIRE(pub.code == 0);
  CHECK(json_field(pub.out, "revision") == "1");
  CHECK(json_field(pub.out, "problems") == "0");
  CHECK(read_file(d / "state/problems.txt").empty());

  auto res = run_stratum({"restore", d / "store", d / "dst"});
  INFO(res.err);
  REQUIRE(res.code == 0);
  auto diffs = compare_trees(d / "src", d / "dst", ::geteuid() == 0);
  CHECK_MESSAGE(diffs.empty(), (diffs.empty() ? std::string() : diffs.front()));
  // The sparse file stays sparse.
  struct stat st;
  REQUIRE(::stat((d / "dst/sparse").c_str(), &st) == 0);
  CHECK(st.st_blocks * 512 < (1 << 20));

  auto chk = run_stratum({"check", "-i", d / "store"});
  CHECK_MESSAGE(chk.code == 0, chk.err);
  auto info = run_stratum({"info", d / "store", "--json"});
  CHECK(json_field(info.out, "nested_catalogs") == "1");
  CHECK(json_field(info.out, "chunked_files") == "2");

  // ls escapes names; cat reads through chunks and nested catalogs.
  auto ls = run_stratum({"ls", d / "store"});
  CHECK(ls.out.find("new\\nline\n") != std::string::npos);
  CHECK(ls.out.find("not-utf8-\\xff\\xfe\n") != std::string::npos);
  CHECK(run_stratum({"cat", d / "store", "sub/deeper/file"}).out == "in nested catalog");
  CHECK(run_stratum({"cat", d / "store", "big-text"}).out == read_file(d / "src/big-text"));
  CHECK(run_stratum({"ls", d / "store", "sub/deeper"}).out == "file\nhard-in-nested\n");
  CHECK(run_stratum({"ls", d / "store", "nope"}).code == 2);
}

TEST_CASE("identical content is stored once and the same tree gives the same root hash") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a", "same bytes"}, {'f', "b", "same bytes"}, {'d', "d"}, {'f', "d/c", "same bytes"}, {'f', "e", "other"}});
  auto one = run_stratum({"publish", "--new", d / "s1", d / "src", d / "store1", "--json"});
  REQUIRE(one.code == 0);
  // 2 contents + root catalog + history + public key.
  CHECK(count_objects(d / "store1") == 5);
  CHECK(json_field(one.out, "objects_deduplicated") == "2");
  auto two = run_stratum({"publish", "--new", d / "s2", d / "src", d / "store2", "--json", "--reader", "threads", "--level", "9"});
  REQUIRE(two.code == 0);
  CHECK(json_field(one.out, "root_catalog") == json_field(two.out, "root_catalog"));
}

TEST_CASE("publishing again makes the next revision, with tags") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a", "v1"}, {'f', "b", "kept"}});
  REQUIRE(run_stratum({"publish", "--new", d / "st", d / "src", d / "store", "--tag", "first", "-m", "the first"}).code == 0);
  write_file(d / "src/a", "v2");
  fs::remove(d / "src/b");
  auto second = run_stratum({"publish", d / "st", d / "src", d / "store", "--json"});
  REQUIRE_MESSAGE(second.code == 0, second.err);
  CHECK(json_field(second.out, "revision") == "2");
  CHECK(run_stratum({"cat", d / "store", "a"}).out == "v2");
  CHECK(run_stratum({"cat", d / "store", "a", "--tag", "first"}).out == "v1");
  CHECK(run_stratum({"cat", d / "store", "b", "--tag", "trunk-previous"}).out == "kept");
  CHECK(run_stratum({"ls", d / "store"}).out == "a\n");
  auto bad = run_stratum({"ls", d / "store", "--tag", "nope"});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("no tag 'nope'") != std::string::npos);
  CHECK(run_stratum({"check", d / "store"}).code == 0);
  auto info = run_stratum({"info", d / "store"});
  CHECK(info.out.find("trunk-previous -> revision 1") != std::string::npos);
  CHECK(info.out.find("(previous revision)") == std::string::npos);
  CHECK(info.out.find(": previous revision\n") != std::string::npos);

  // A tag names one revision for good: reusing its name is refused, and
  // nothing is published.
  write_file(d / "src/a", "v3");
  auto reuse = run_stratum({"publish", d / "st", d / "src", d / "store", "--tag", "first", "-m", "moved"});
  CHECK(reuse.code == 2);
  CHECK(reuse.err.find("tag 'first' already names revision 1") != std::string::npos);
  CHECK(run_stratum({"cat", d / "store", "a", "--tag", "first"}).out == "v1");
  CHECK(run_stratum({"cat", d / "store", "a"}).out == "v2");
  CHECK(run_stratum({"info", d / "store"}).out.find("first -> revision 1") != std::string::npos);
}

TEST_CASE("bad sources and stores are refused with the path named") {
  temp_dir d;
  make_tree(d / "src", {{'f', "f", "x"}});
  auto missing = run_stratum({"publish", "--new", d / "st", d / "nope", d / "store"});
  CHECK(missing.code == 2);
  CHECK(missing.err.find(d / "nope") != std::string::npos);
  auto file = run_stratum({"publish", "--new", d / "st2", d / "src/f", d / "store2"});
  CHECK(file.code == 2);
  CHECK(file.err.find("not a directory") != std::string::npos);
  REQUIRE(run_stratum({"publish", "--new", d / "st3", d / "src", d / "store3"}).code == 0);
  auto again = run_stratum({"publish", "--new", d / "st4", d / "src", d / "store3"});
  CHECK(again.code == 2);
  CHECK(again.err.find("not empty") != std::string::npos);
  CHECK(run_stratum({"publish", d / "st5", d / "src", d / "store3"}).code == 2);  // no key for it
  CHECK(run_stratum({"ls", d / "empty-store"}).code != 0);
  CHECK(run_stratum({"publish"}).code == 2);
  CHECK(run_stratum({"publish", "--bogus", "a", "b", "c"}).code == 2);
  CHECK(run_stratum({"publish", "--help"}).code == 0);
}

TEST_CASE("unreadable files and directories are listed, the rest is published, exit 1") {
  if (::geteuid() != 0) {
    MESSAGE("runs as root only (drops CAP_DAC_OVERRIDE in the child to make files unreadable)");
    return;
  }
  temp_dir d;
  make_tree(d / "src", {{'f', "ok", "fine"}, {'f', "secret", "no", "", 0000}, {'d', "closed", "", "", 0000}, {'f', "zz", "fine too"}});
  auto pub = run_stratum({"publish", "--new", d / "st", d / "src", d / "store"}, true);
  CHECK(pub.code == 1);
  auto problems = read_file(d / "st/problems.txt");
  CHECK(problems.find("secret: cannot read") != std::string::npos);
  CHECK(problems.find("closed: cannot open directory") != std::string::npos);
  CHECK(pub.err.find("problems.txt") != std::string::npos);
  CHECK(run_stratum({"cat", d / "store", "zz"}).out == "fine too");
  CHECK(run_stratum({"ls", d / "store"}).out == "closed/\nok\nzz\n");
}

TEST_CASE("corrupt and missing objects are found by check and refused by restore") {
  temp_dir d;
  const std::string good = "good content", bad = "this object will be damaged", gone = "deleted";
  make_tree(d / "src", {{'f', "good", good}, {'f', "bad", bad}, {'f', "gone", gone}});
  REQUIRE(run_stratum({"publish", "--new", d / "st", d / "src", d / "store"}).code == 0);
  // Object names are the SHA-256 of the content.
  auto object = [&](const std::string& content) {
    auto hex = stratum::sha256(stratum::as_bytes(content)).hex();
    return "data/" + hex.substr(0, 2) + "/" + hex;
  };
  auto damaged = read_file(d / "store" + "/" + object(bad));
  damaged[damaged.size() / 2] ^= 0x55;
  write_file(d / "store" + "/" + object(bad), damaged);
  fs::remove(d / "store" + "/" + object(gone));

  auto quick = run_stratum({"check", d / "store"});
  CHECK(quick.code == 1);
  CHECK(quick.err.find(object(gone) + " is missing") != std::string::npos);
  auto full = run_stratum({"check", "-i", d / "store"});
  CHECK(full.code == 1);
  CHECK(full.err.find(object(bad)) != std::string::npos);
  CHECK(full.err.find("bad: ") != std::string::npos);

  auto res = run_stratum({"restore", d / "store", d / "dst"});
  CHECK(res.code == 1);
  CHECK(res.err.find("bad: ") != std::string::npos);
  CHECK(res.err.find("gone: ") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "dst/bad"));
  CHECK_FALSE(fs::exists(d / "dst/gone"));
  CHECK(read_file(d / "dst/good") == good);

  // A truncated manifest or a forged one is refused.
  auto m = read_file(d / "store/.stratumpublished");
  auto pos = m.find("revision 1");
  write_file(d / "store/.stratumpublished", m.substr(0, pos) + "revision 9" + m.substr(pos + 10));
  auto forged = run_stratum({"ls", d / "store"});
  CHECK(forged.code == 3);
  CHECK(forged.err.find("signature does not verify") != std::string::npos);
}

TEST_CASE("restore refuses a non-empty destination unless forced") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a", "1"}});
  REQUIRE(run_stratum({"publish", "--new", d / "st", d / "src", d / "store"}).code == 0);
  make_tree(d / "dst", {{'f', "existing", "keep"}});
  auto r = run_stratum({"restore", d / "store", d / "dst"});
  CHECK(r.code == 2);
  CHECK(r.err.find("not empty") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "dst/a"));
  CHECK(run_stratum({"restore", d / "store", d / "dst", "--force"}).code == 0);
  CHECK(read_file(d / "dst/a") == "1");
  CHECK(read_file(d / "dst/existing") == "keep");
  // A subtree restore.
  make_tree(d / "src2", {{'d', "x"}, {'d', "x/y"}, {'f', "x/y/z", "deep"}});
  REQUIRE(run_stratum({"publish", "--new", d / "st2", d / "src2", d / "store2"}).code == 0);
  CHECK(run_stratum({"restore", d / "store2", d / "sub", "--path", "x/y"}).code == 0);
  CHECK(read_file(d / "sub/z") == "deep");
}

TEST_CASE("a pinned public key must match the repository's") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a", "1"}});
  REQUIRE(run_stratum({"keygen", d / "k1"}).code == 0);
  REQUIRE(run_stratum({"keygen", d / "k2"}).code == 0);
  CHECK(run_stratum({"keygen", d / "k1"}).code == 2);  // never overwrites a key
  REQUIRE(run_stratum({"publish", "--new", d / "st", d / "src", d / "store", "--key", d / "k1/stratum.key"}).code == 0);
  CHECK(run_stratum({"ls", d / "store", "--pubkey", d / "k1/stratum.pub"}).code == 0);
  auto wrong = run_stratum({"ls", d / "store", "--pubkey", d / "k2/stratum.pub"});
  CHECK(wrong.code == 3);
  CHECK(wrong.err.find("--pubkey") != std::string::npos);
}
