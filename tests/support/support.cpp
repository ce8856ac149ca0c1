#include "support.hpp"

#include <chrono>
#include <csignal>
#include <thread>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <linux/capability.h>
#include <map>
#include <sstream>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "io/walker.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace stratum::test {
namespace fs = std::filesystem;

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/stratum-test-XXXXXX";
  path = ::mkdtemp(tmpl);
}
temp_dir::~temp_dir() {
  std::error_code ec;
  // Unreadable fixtures must be removable.
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (!it->is_symlink()) ::chmod(it->path().c_str(), 0700);
  fs::remove_all(path, ec);
  // libstdc++ 12 names every file by its full path: a tree deeper than
  // PATH_MAX (the long-path tests) is left to rm, which works relative to
  // open directories.
  if (ec || fs::exists(path)) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execlp("rm", "rm", "-rf", "--", path.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  }
}

std::string shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p);
  char buf[65536];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::string json_field(const std::string& json, const std::string& name) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  REQUIRE_MESSAGE(!ec, "not valid JSON (" << ec.message() << "): " << json);
  REQUIRE_MESSAGE(v.is_object(), "not a JSON object: " << json);
  auto* field = v.as_object().if_contains(name);
  REQUIRE_MESSAGE(field, "no field '" << name << "' in " << json);
  if (field->is_string()) return std::string(field->as_string());
  return boost::json::serialize(*field);
}

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
void write_file(const std::string& p, const std::string& c) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << c;
}

static std::string slurp(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  return out;
}

run_result run_stratum(const std::vector<std::string>& args, bool drop_dac) {
  run_options o;
  o.drop_dac = drop_dac;
  return run_stratum(args, o);
}

run_result run_stratum(const std::vector<std::string>& args, const run_options& o) {
  const bool drop_dac = o.drop_dac;
  int out[2], err[2];
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::pipe(err) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::close(out[0]);
    ::close(err[0]);
    if (drop_dac) {
      ::prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0);
      ::prctl(PR_CAPBSET_DROP, CAP_DAC_READ_SEARCH, 0, 0, 0);
    }
    for (auto& e : o.env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv{const_cast<char*>(STRATUM_BIN)};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(STRATUM_BIN, argv.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  // The child stays a zombie until waitpid below, so its pid cannot be reused
  // before the killer fires.
  std::thread killer;
  if (o.kill_after_ms >= 0)
    killer = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(o.kill_after_ms));
      ::kill(pid, SIGKILL);
    });
  run_result r;
  // stderr is drained in a second pass; keep outputs small in tests.
  r.out = slurp(out[0]);
  r.err = slurp(err[0]);
  ::close(out[0]);
  ::close(err[0]);
  if (killer.joinable()) killer.join();
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

void make_tree(const std::string& root, const std::vector<fixture>& tree) {
  fs::create_directories(root);
  std::int64_t t = 1600000000;
  std::vector<std::pair<std::string, timespec>> times;
  for (const auto& f : tree) {
    std::string p = root + "/" + f.path;
    switch (f.kind) {
      case 'd': REQUIRE_MESSAGE(::mkdir(p.c_str(), f.mode) == 0, p); ::chmod(p.c_str(), f.mode); break;
      case 'f': write_file(p, f.content); ::chmod(p.c_str(), f.mode); break;
      case 'l': REQUIRE(::symlink(f.target.c_str(), p.c_str()) == 0); break;
      case 'h': REQUIRE(::link((root + "/" + f.target).c_str(), p.c_str()) == 0); break;
      case 'p': REQUIRE(::mkfifo(p.c_str(), f.mode) == 0); break;
      case 'c': REQUIRE(::mknod(p.c_str(), S_IFCHR | f.mode, makedev(1, 3)) == 0); break;
      case 'z': {
        int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, f.mode);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, static_cast<off_t>(f.size)) == 0);
        REQUIRE(::pwrite(fd, f.content.data(), f.content.size(), static_cast<off_t>(f.size - f.content.size())) == (ssize_t)f.content.size());
        ::close(fd);
        break;
      }
      case 'x': REQUIRE(::lsetxattr(p.c_str(), f.target.c_str(), f.content.data(), f.content.size(), 0) == 0); continue;
      default: FAIL("unknown fixture kind");
    }
    if (f.kind != 'h') times.push_back({p, {t++, 123456789 + static_cast<long>(times.size())}});
  }
  // Directories last and deepest first, so creating children does not move them.
  for (auto it = times.rbegin(); it != times.rend(); ++it) {
    timespec ts[2] = {it->second, it->second};
    REQUIRE(::utimensat(AT_FDCWD, it->first.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
  }
  timespec ts[2] = {{t, 42}, {t, 42}};
  ::utimensat(AT_FDCWD, root.c_str(), ts, 0);
}

std::vector<std::string> compare_trees(const std::string& a, const std::string& b, bool owners) {
  std::vector<std::string> diffs;
  std::map<std::pair<dev_t, ino_t>, std::string> links_a;
  std::map<std::string, std::pair<dev_t, ino_t>> inode_b;
  std::function<void(const std::string&)> walk = [&](const std::string& rel) {
    std::string pa = rel.empty() ? a : a + "/" + rel, pb = rel.empty() ? b : b + "/" + rel;
    struct stat sa, sb;
    if (::lstat(pa.c_str(), &sa) != 0) { diffs.push_back("missing in source: " + rel); return; }
    if (::lstat(pb.c_str(), &sb) != 0) { diffs.push_back("missing: " + rel); return; }
    auto d = [&](const std::string& what) { diffs.push_back((rel.empty() ? "." : rel) + ": " + what); };
    if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) { d("type"); return; }
    if (!S_ISLNK(sa.st_mode) && (sa.st_mode & 07777) != (sb.st_mode & 07777)) d("mode");
    if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec) d("mtime");
    if (owners && (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)) d("owner");
    if (S_ISREG(sa.st_mode) && read_file(pa) != read_file(pb)) d("content");
    if (S_ISLNK(sa.st_mode)) {
      char x[4096], y[4096];
      auto nx = ::readlink(pa.c_str(), x, sizeof x), ny = ::readlink(pb.c_str(), y, sizeof y);
      if (std::string(x, nx) != std::string(y, ny)) d("symlink target");
    }
    if ((S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode)) && sa.st_rdev != sb.st_rdev) d("rdev");
    if (S_ISREG(sa.st_mode) || S_ISDIR(sa.st_mode)) {
      xattr_list xa, xb;
      read_user_xattrs(pa, xa);
      read_user_xattrs(pb, xb);
      if (xa != xb) d("xattrs");
    }
    if (!S_ISDIR(sa.st_mode) && sa.st_nlink > 1) {
      auto [it, fresh] = links_a.emplace(std::pair{sa.st_dev, sa.st_ino}, rel);
      if (!fresh && inode_b[it->second] != std::pair{sb.st_dev, sb.st_ino}) d("not hard-linked to " + it->second);
      inode_b[rel] = {sb.st_dev, sb.st_ino};
    }
    if (S_ISDIR(sa.st_mode)) {
      std::vector<std::string> na, nb;
      for (auto& e : fs::directory_iterator(pa)) na.push_back(e.path().filename().string());
      for (auto& e : fs::directory_iterator(pb)) nb.push_back(e.path().filename().string());
      std::sort(na.begin(), na.end());
      std::sort(nb.begin(), nb.end());
      if (na != nb) d("different entries");
      for (auto& n : na) walk(rel.empty() ? n : rel + "/" + n);
    }
  };
  walk("");
  return diffs;
}

std::string noise(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (auto& c : s) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

bytes random_bytes(std::size_t n, unsigned seed) {
  auto s = noise(n, seed);
  return bytes(s.begin(), s.end());
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (auto& c : s) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    c = static_cast<char>('a' + x % 16);
  }
  return s;
}

std::string big_text(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i * 7919 % 100003) + " of a compressible file\n";
  s.resize(n);
  return s;
}

std::size_t count_objects(const std::string& store) {
  std::size_t n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(store + "/data"))
    if (e.is_regular_file()) ++n;
  return n;
}

std::map<std::string, ino_t> object_inodes(const std::string& store) {
  std::map<std::string, ino_t> out;
  if (!std::filesystem::exists(store + "/data")) return out;
  for (auto& e : std::filesystem::recursive_directory_iterator(store + "/data")) {
    struct stat st;
    if (e.is_regular_file() && ::stat(e.path().c_str(), &st) == 0) out[e.path().string()] = st.st_ino;
  }
  return out;
}

std::vector<fixture> small_cvmfs_tree(int files) {
  std::vector<fixture> tree;
  for (int i = 0; i < files; ++i) tree.push_back({'f', "f" + std::to_string(i), pattern(300 + 17 * i, static_cast<unsigned>(i))});
  tree.push_back({'d', "pkg"});
  tree.push_back({'f', "pkg/.cvmfscatalog", ""});
  tree.push_back({'f', "pkg/p", "nested"});
  return tree;
}

}  // namespace stratum::test
