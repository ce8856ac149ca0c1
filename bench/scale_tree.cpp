// Generates the tree bench/scale.sh publishes: N small files in a deep shape
// and two flat ones, deterministic (same N, same names, sizes and bytes).
// A standalone program (no stratum code), single-threaded; C++ because
// Python made ~40k files/s here and 10M files must generate in minutes.
//
//   g++ -O2 -std=c++20 -o scale_tree bench/scale_tree.cpp
//   scale_tree ROOT N
//
// Shape (N = 1M: 100,000 + 100,000 + 800,000 files):
//   flat_files/f0000000 ...        one directory of min(100,000, N/4) files
//   flat_dirs/d0000000/f ...       one directory of min(100,000, N/4)
//                                  subdirectories, one file each
//   deep/a0/b0/c0/d0/e0/f0/f00 ... the rest, 20 files in each directory 6
//                                  levels down, fan-out the smallest that fits
// Contents: 0..4 KiB (1 in 8 empty), drawn from a pool of 65,536 distinct
// contents by a hash of the file's number, so the store holds at most 65,536
// objects (few inodes, little disk) and most files share content with others.
// Bytes are lower-case letters from a per-content PRNG: compressible about 2x,
// like text.
// No nested-catalog markers: `publish --autocatalogs` decides the catalogs
// (the flat directories' 100,000 entries stay in one catalog each: no
// layout can split one directory).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

constexpr std::uint64_t pool = 65536;
constexpr std::uint64_t per_leaf = 20;

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "scale_tree: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

std::uint64_t written = 0;

void write_file(int dirfd, const std::string& name, std::uint64_t number) {
  std::uint64_t content = mix(number) % pool;
  std::uint64_t h = mix(content ^ 0x5ca1e);
  std::size_t size = (h & 7) == 0 ? 0 : (h >> 8) % 4097;
  static char buf[4096];
  std::uint64_t s = h;
  for (std::size_t i = 0; i < size; ++i) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    buf[i] = static_cast<char>('a' + (s % 16));  // 4 bits of entropy a byte
  }
  int fd = ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("create " + name);
  if (size && ::write(fd, buf, size) != static_cast<ssize_t>(size)) die("write " + name);
  ::close(fd);
  ++written;
}

int make_dir(int parent, const std::string& name) {
  if (::mkdirat(parent, name.c_str(), 0755) != 0 && errno != EEXIST) die("mkdir " + name);
  int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("open " + name);
  return fd;
}

char digits[] = "abcdefghijklmnopqrstuvwxyz";

// Writes files [next, end) into the subtree at `dirfd`, `levels` directory
// levels above its leaves. Returns the entries written below it.
std::uint64_t deep(int dirfd, int levels, std::uint64_t fanout, std::uint64_t& next, std::uint64_t end) {
  std::uint64_t entries = 0;
  if (levels == 0) {
    for (std::uint64_t i = 0; i < per_leaf && next < end; ++i, ++entries) {
      char name[16];
      std::snprintf(name, sizeof name, "f%02llu", static_cast<unsigned long long>(i));
      write_file(dirfd, name, next++);
    }
    return entries;
  }
  for (std::uint64_t k = 0; k < fanout && next < end; ++k) {
    std::string name = std::string(1, digits[6 - levels]) + std::to_string(k);
    int sub = make_dir(dirfd, name);
    std::uint64_t below = deep(sub, levels - 1, fanout, next, end);
    ::close(sub);
    entries += 1 + below;
  }
  return entries;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: scale_tree ROOT N\n");
    return 2;
  }
  std::string root = argv[1];
  std::uint64_t n = std::strtoull(argv[2], nullptr, 10);
  if (::mkdir(root.c_str(), 0755) != 0 && errno != EEXIST) die("mkdir " + root);
  int rfd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) die("open " + root);

  const std::uint64_t flat = std::min<std::uint64_t>(100000, n / 4);
  std::uint64_t number = 0;
  {
    int d = make_dir(rfd, "flat_files");
    for (std::uint64_t i = 0; i < flat; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "f%07llu", static_cast<unsigned long long>(i));
      write_file(d, name, number++);
    }
    ::close(d);
  }
  {
    int d = make_dir(rfd, "flat_dirs");
    for (std::uint64_t i = 0; i < flat; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "d%07llu", static_cast<unsigned long long>(i));
      int sub = make_dir(d, name);
      write_file(sub, "f", number++);
      ::close(sub);
    }
    ::close(d);
  }
  {
    // The smallest fan-out whose 6 levels hold the rest at 20 files a leaf.
    const std::uint64_t rest = n > 2 * flat ? n - 2 * flat : 0;
    const std::uint64_t leaves = (rest + per_leaf - 1) / per_leaf;
    std::uint64_t fanout = 1;
    while (std::pow(double(fanout), 6) < double(leaves)) ++fanout;
    int d = make_dir(rfd, "deep");
    std::uint64_t end = number + rest;
    deep(d, 6, fanout, number, end);
    ::close(d);
  }
  ::close(rfd);
  std::printf("%llu files written under %s\n", static_cast<unsigned long long>(written), root.c_str());
  return 0;
}
