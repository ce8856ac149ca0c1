// The mount cache's pack files (catalog/read/cache_pack.hpp): records
// written at reserved offsets and checked; a scan stops at a torn tail or
// garbage and skips holes; an index reads back what was written and
// refuses damage. (object_cache's use of packs: mount_tree_test.cpp.)
#include "catalog/read/cache_pack.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

using namespace stratum;
using namespace stratum::test;
namespace fs = std::filesystem;

namespace {

struct open_file {
  int fd;
  explicit open_file(const std::string& p) : fd(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) { REQUIRE(fd >= 0); }
  ~open_file() { ::close(fd); }
};

hash256 named(const std::string& s) { return sha256(as_bytes(s)); }

bool put(int fd, std::uint64_t at, const std::string& s) {
  return write_pack_record(fd, at, named(s), reinterpret_cast<const std::uint8_t*>(s.data()), static_cast<std::uint32_t>(s.size()));
}

}  // namespace

TEST_CASE("cache packs: records written out of order read back, are checked, and a scan stops at a torn tail and skips holes") {
  temp_dir d;
  const std::string path = d / "1.pack";
  open_file f(path);
  const std::string a = "alpha", b(5000, 'b'), c = "";
  // Offsets reserved in order, written in another (as concurrent fetches do).
  const std::uint64_t at_a = 0, at_b = at_a + pack_header_size + a.size(), at_c = at_b + pack_header_size + b.size();
  REQUIRE(put(f.fd, at_c, c));
  REQUIRE(put(f.fd, at_a, a));
  REQUIRE(put(f.fd, at_b, b));
  const std::uint64_t end = at_c + pack_header_size;
  auto all = scan_pack(f.fd, end);
  REQUIRE(all.size() == 3);
  CHECK(all[0].h == named(a));
  CHECK(all[1].at == at_b + pack_header_size);
  CHECK(all[1].size == b.size());
  CHECK(all[2].size == 0);
  for (const auto& e : all) CHECK(check_pack_record(f.fd, e.at, e.h, e.size));
  // The wrong name or size is refused, and so is a changed byte.
  CHECK_FALSE(check_pack_record(f.fd, all[0].at, named("other"), all[0].size));
  CHECK_FALSE(check_pack_record(f.fd, all[1].at, all[1].h, all[1].size - 1));
  std::string bytes = read_file(path);
  bytes[at_b + pack_header_size + 7] ^= 1;
  write_file(path, bytes);
  CHECK_FALSE(check_pack_record(f.fd, all[1].at, all[1].h, all[1].size));
  // A torn tail: the last record's content is cut short.
  CHECK(scan_pack(f.fd, end - 1).size() == 2);
  CHECK(scan_pack(f.fd, at_b + 10).size() == 1);
  // Holes (reservations whose records were never written: a failed fetch,
  // a kill), short and sparse, are skipped; garbage ends the scan.
  open_file g(d / "2.pack");
  const std::uint64_t at2 = pack_header_size + a.size() + 100, at3 = at2 + pack_header_size + b.size() + (1 << 20);
  REQUIRE(put(g.fd, 0, a));
  REQUIRE(put(g.fd, at2, b));
  REQUIRE(put(g.fd, at3, a));
  const std::uint64_t end2 = at3 + pack_header_size + a.size();
  auto found = scan_pack(g.fd, end2);
  REQUIRE(found.size() == 3);
  CHECK(found[1].at == at2 + pack_header_size);
  CHECK(found[2].at == at3 + pack_header_size);
  CHECK(scan_pack(g.fd, end2 + 4096).size() == 3);  // a hole at the end
  REQUIRE(::pwrite(g.fd, "junk", 4, static_cast<off_t>(at2 - 50)) == 4);
  CHECK(scan_pack(g.fd, end2).size() == 1);
}

TEST_CASE("cache packs: an index reads back what was written, and a damaged, short or missing one is refused") {
  temp_dir d;
  std::vector<pack_entry> entries;
  for (int i = 0; i < 100; ++i) entries.push_back({named(std::to_string(i)), 48u + 1000u * static_cast<unsigned>(i), static_cast<std::uint32_t>(i)});
  const std::string path = d / "7.idx";
  REQUIRE(write_pack_index(path, entries));
  auto back = read_pack_index(path);
  REQUIRE(back);
  REQUIRE(back->size() == 100);
  CHECK((*back)[42].h == entries[42].h);
  CHECK((*back)[42].at == entries[42].at);
  CHECK((*back)[42].size == 42);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  std::string bytes = read_file(path);
  write_file(path, bytes.substr(0, bytes.size() - 1));
  CHECK_FALSE(read_pack_index(path));
  bytes[20] ^= 1;
  write_file(path, bytes);
  CHECK_FALSE(read_pack_index(path));
  CHECK_FALSE(read_pack_index(d / "missing.idx"));
  REQUIRE(write_pack_index(path, {}));
  CHECK(read_pack_index(path)->empty());
}
