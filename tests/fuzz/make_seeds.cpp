// Writes the seed inputs of every fuzz target (tests/fuzz/README.md) with the
// project's own encoders: valid objects of each kind, a few edge cases (empty,
// truncated, one byte too many), into OUT/<target>/seed-<name>. Built with
// STRATUM_FUZZ=ON (build-fuzz/fuzz_seeds); run by scripts/fuzz.sh when a
// corpus is missing. Manifests are signed with a new key each run, so their
// seeds differ from run to run; the rest are the same bytes every time.
// One thread.
#include "catalog/format/catalog.hpp"
#include "catalog/format/history.hpp"
#include "catalog/format/manifest.hpp"
#include "catalog/publish/record.hpp"
#include "io/compress.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

using namespace stratum;
namespace fs = std::filesystem;

namespace {

fs::path out_dir;

void write(const std::string& target, const std::string& name, byte_view b) {
  auto dir = out_dir / target;
  fs::create_directories(dir);
  std::ofstream f(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!f) throw std::runtime_error("cannot write " + (dir / name).string());
}

// A valid object, and the edge cases a parser meets first.
void write_with_edges(const std::string& target, const std::string& name, const bytes& b) {
  write(target, name, b);
  write(target, name + "-truncated", byte_view(b).first(b.size() / 2));
  auto longer = b;
  longer.push_back(0);
  write(target, name + "-trailing", longer);
}

bytes to_bytes(std::string_view s) { return bytes(s.begin(), s.end()); }

hash256 h(std::string_view s) { return sha256(as_bytes(s)); }

entry dir(std::string path) {
  entry e;
  e.path = std::move(path);
  e.type = entry_type::directory;
  e.mode = 0755;
  e.mtime_sec = 1700000000;
  return e;
}

void catalogs() {
  catalog c;
  c.entries.push_back(dir(""));
  write_with_edges("decode_catalog", "root-only", encode_catalog(c));

  entry f;
  f.path = "a.txt";
  f.mode = 0644;
  f.uid = 1000;
  f.gid = 100;
  f.size = 5;
  f.mtime_sec = -1;  // before the epoch
  f.mtime_nsec = 999999999;
  f.object = h("hello");
  f.xattrs = {{"user.a", std::string("\0b", 2)}, {"user.c", ""}};
  c.entries.push_back(f);
  entry big = f;
  big.path = "big";
  big.size = 40 << 20;
  big.object.reset();
  big.chunks = {{16 << 20, h("1")}, {24 << 20, h("2")}};
  big.hardlink_group = 1;
  big.xattrs.clear();
  c.entries.push_back(big);
  c.entries.push_back(dir("d"));
  entry empty;
  empty.path = "d/empty";
  empty.mode = 0600;
  c.entries.push_back(empty);
  entry link;
  link.path = "d/link";
  link.type = entry_type::symlink;
  link.mode = 0777;
  link.link_target = "../a.txt";
  link.size = link.link_target.size();
  c.entries.push_back(link);
  entry dev;
  dev.path = "d/null";
  dev.type = entry_type::char_device;
  dev.rdev = 0x103;
  c.entries.push_back(dev);
  entry fifo;
  fifo.path = "d/pipe";
  fifo.type = entry_type::fifo;
  fifo.mode = 04755;
  c.entries.push_back(fifo);
  auto mount = dir("n");
  mount.nested_root = true;
  c.entries.push_back(mount);
  c.nested.push_back({"n", h("nested")});
  c.stats = {2, 3, 1, 2, 40 << 20, 1, 2, 1};
  write_with_edges("decode_catalog", "tree", encode_catalog(c));

  catalog sub;  // a nested catalog, rooted below the repository's root
  sub.root_path = "n";
  sub.entries.push_back(dir("n"));
  auto file = f;
  file.path = "n/x";
  sub.entries.push_back(file);
  auto blk = dev;
  blk.path = "n/y";
  blk.type = entry_type::block_device;
  sub.entries.push_back(blk);
  write_with_edges("decode_catalog", "nested", encode_catalog(sub));
}

void histories() {
  history hist;
  write_with_edges("decode_history", "empty", encode_history(hist));
  hist.set({"trunk", h("r2"), 2, 1700000100, ""});
  hist.set({"trunk-previous", h("r1"), 1, 1700000000, ""});
  hist.set({"v1.0_rc-1", h("r1"), 1, -3, "release candidate\nwith two lines"});
  hist.revisions = {{1, h("r1"), 1700000000}, {2, h("r2"), 1700000100}};
  write_with_edges("decode_history", "tags", encode_history(hist));
}

void manifests() {
  auto key = signing_key::generate();
  auto pub = key.public_raw();
  auto with_key = [&](std::string_view text) {
    bytes b = pub;
    b.insert(b.end(), text.begin(), text.end());
    return b;
  };
  manifest m{7, 1700000000, h("root"), h("history"), key.fingerprint()};
  auto text = encode_manifest(m, key);
  std::string s(text.begin(), text.end());
  write("parse_manifest", "signed", with_key(s));
  write("parse_manifest", "signed-no-final-newline", with_key(s.substr(0, s.size() - 1)));
  write("parse_manifest", "truncated", with_key(s.substr(0, s.size() / 2)));
  auto tampered = s;
  tampered[tampered.find("revision 7") + 9] = '8';  // still parses, does not verify
  write("parse_manifest", "tampered", with_key(tampered));
  write("parse_manifest", "short-signature", with_key(s.substr(0, s.rfind("signature ") + 10) + "00\n"));
  manifest negative{0, -1, {}, {}, {}};
  auto t2 = encode_manifest(negative, key);
  write("parse_manifest", "zero-hashes", with_key(std::string(t2.begin(), t2.end())));
  write("parse_manifest", "key-only", byte_view(pub));
}

void journal_records() {
  pj::entry_record r;
  write_with_edges("decode_entry", "none", to_bytes(pj::encode_entry(r)));
  r.st = {2049, 123456789, 40 << 20, 0, 0100644, 1000, 100, 2, -5, 1700000000, 999999999, 1};
  r.xattrs = {{"user.a", std::string("\0v", 2)}};
  r.state = pj::file_state::done;
  r.chunks = {{16 << 20, h("x")}, {24 << 20, h("y")}};
  r.listed_run = 7;
  write_with_edges("decode_entry", "chunked", to_bytes(pj::encode_entry(r)));
  r.chunks.clear();
  r.object = h("o");
  r.st.size = 5;
  write("decode_entry", "object", to_bytes(pj::encode_entry(r)));
  pj::entry_record l;
  l.st.mode = 0120777;
  l.link_target = "target";
  l.state = pj::file_state::excluded;
  write("decode_entry", "symlink", to_bytes(pj::encode_entry(l)));

  pj::catalog_record c;
  write_with_edges("decode_catalog_record", "zero", to_bytes(pj::encode_catalog_record(c)));
  c.run = 3;
  c.hash = h("catalog");
  c.stats = {10, 2, 1, 0, 12345, 1, 3, 1};
  write_with_edges("decode_catalog_record", "stats", to_bytes(pj::encode_catalog_record(c)));
}

void streams() {
  // Control byte: bit 0 sized, bits 1.. the round trip's level (inflate_fuzz.cpp).
  auto sized = [](int level, std::size_t n, const bytes& z) {
    bytes b = {static_cast<std::uint8_t>(1 | level << 1), static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8),
               static_cast<std::uint8_t>(n >> 16)};
    b.insert(b.end(), z.begin(), z.end());
    return b;
  };
  auto unsized = [](int level, const bytes& z) {
    bytes b = {static_cast<std::uint8_t>(level << 1)};
    b.insert(b.end(), z.begin(), z.end());
    return b;
  };
  std::string text;
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i * i) + " of a small text file\n";
  const bytes plain(text.begin(), text.end());
  bytes noise(5000);
  std::uint32_t x = 1;
  for (auto& b : noise) b = static_cast<std::uint8_t>((x = x * 1103515245 + 12345) >> 24);
  for (int level : {0, 1, 2, 6, 12}) {
    auto z = deflate_object(plain, {level});
    write("inflate", "text-level" + std::to_string(level) + "-sized", sized(level, plain.size(), z));
    write("inflate", "text-level" + std::to_string(level) + "-unsized", unsized(level, z));
  }
  write("inflate", "noise-stored", sized(1, noise.size(), deflate_object(noise, {1})));
  write("inflate", "empty", unsized(1, deflate_object(byte_view(), {1})));
  auto z = deflate_object(plain, {6});
  write("inflate", "wrong-size", sized(6, plain.size() - 1, z));
  write("inflate", "truncated", unsized(6, bytes(z.begin(), z.begin() + z.size() / 2)));
  // Inflates past the 1 MiB bound of the target: must be refused.
  write("inflate", "bomb", unsized(0, deflate_object(bytes(4 << 20, 0), {12})));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR  (writes OUT_DIR/<target>/seed-*)\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  catalogs();
  histories();
  manifests();
  journal_records();
  streams();
  return 0;
}
