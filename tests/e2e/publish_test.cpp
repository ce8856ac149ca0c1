// End-to-end: the stratum binary publishes declared fixture trees to a local
// store; restore must reproduce them exactly; bad input gets clear messages.
#include "io/sha256.hpp"
#include "support.hpp"

#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <sys/stat.h>
#include <sys/xattr.h>
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

namespace {

// Builds DEPTH directories of NAME_LEN-byte names under `root` with a file and
// a symlink at the bottom, relative to open directories (the full path is
// beyond what any path-taking call accepts). Returns the deepest file's path.
std::string make_deep_tree(const std::string& root, int depth, std::size_t name_len) {
  fs::create_directories(root);
  int dir = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(dir >= 0);
  std::string path;
  for (int i = 0; i < depth; ++i) {
    std::string name(name_len - 2, static_cast<char>('a' + i % 26));
    name += std::to_string(10 + i % 90);
    REQUIRE(::mkdirat(dir, name.c_str(), 0750) == 0);
    int sub = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(sub >= 0);
    if (i % 10 == 0) {  // a file on the way down too
      int fd = ::openat(dir, "side", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
      REQUIRE(::write(fd, name.data(), 20) == 20);
      ::close(fd);
    }
    ::close(dir);
    dir = sub;
    path += (path.empty() ? "" : "/") + name;
  }
  int fd = ::openat(dir, "bottom", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  const std::string content = big_text(100000);
  REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  REQUIRE(::fsetxattr(fd, "user.deep", "yes", 3, 0) == 0);
  ::close(fd);
  REQUIRE(::symlinkat("bottom", dir, "link") == 0);
  ::close(dir);
  return path + "/bottom";
}

// Every entry under the directory open at `dir`: type, mode, mtime, size,
// content and user.deep, by path — read relative to open directories.
void list_at(int dir, const std::string& rel, std::map<std::string, std::string>& out) {
  std::vector<std::string> names;
  {
    int dup = ::dup(dir);
    DIR* d = ::fdopendir(dup);
    REQUIRE(d);
    while (auto* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  for (auto& n : names) {
    const std::string p = rel.empty() ? n : rel + "/" + n;
    struct stat st;
    REQUIRE(::fstatat(dir, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0);
    std::string desc = std::to_string(st.st_mode) + " " + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode)) {
      int fd = ::openat(dir, n.c_str(), O_RDONLY | O_CLOEXEC);
      REQUIRE(fd >= 0);
      std::string content(st.st_size, '\0');
      REQUIRE(::read(fd, content.data(), content.size()) == st.st_size);
      char x[16];
      auto xn = ::fgetxattr(fd, "user.deep", x, sizeof x);
      desc += " " + std::to_string(std::hash<std::string>{}(content)) + " " + (xn > 0 ? std::string(x, xn) : "-");
      ::close(fd);
    } else if (S_ISLNK(st.st_mode)) {
      char t[256];
      auto tn = ::readlinkat(dir, n.c_str(), t, sizeof t);
      desc += " -> " + std::string(t, tn > 0 ? tn : 0);
    }
    out[p] = desc;
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(dir, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      REQUIRE(sub >= 0);
      list_at(sub, p, out);
      ::close(sub);
    }
  }
}

std::map<std::string, std::string> list_tree(const std::string& root) {
  std::map<std::string, std::string> out;
  int dir = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(dir >= 0);
  list_at(dir, "", out);
  ::close(dir);
  return out;
}

}  // namespace

TEST_CASE("a tree whose paths are longer than PATH_MAX is published and restored whole") {
  temp_dir d;
  // 30 levels of 200-byte names: the deepest path is ~6,000 bytes.
  const std::string deepest = make_deep_tree(d / "src", 30, 200);
  REQUIRE(deepest.size() > 6000);
  auto pub = run_stratum({"publish", "--new", d / "st", d / "src", d / "store"});
  INFO(pub.err);
  CHECK(pub.code == 0);  // had left the files below 4096 bytes of path out, exit 1
  auto res = run_stratum({"restore", d / "store", d / "dst"});
  INFO(res.err);
  CHECK(res.code == 0);
  auto src = list_tree(d / "src"), dst = list_tree(d / "dst");
  CHECK(src.size() == 30 + 3 + 2);  // directories, side files, bottom and link
  CHECK(src == dst);
  CHECK(run_stratum({"check", "-i", d / "store"}).code == 0);
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
  // A symlink of the user's where a file goes is neither followed nor
  // removed (it had been deleted): reported, with what to do.
  fs::remove(d / "dst/a");
  fs::create_symlink(d / "src/a", d / "dst/a");
  auto kept = run_stratum({"restore", d / "store", d / "dst", "--force"});
  CHECK(kept.code == 1);
  CHECK(kept.err.find("a: 'a' already exists in the destination as a symlink") != std::string::npos);
  CHECK(fs::read_symlink(d / "dst/a") == d / "src/a");
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
