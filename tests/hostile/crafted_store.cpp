// The genuine base repository, the bomb, and the mutations of a crafted store
// (crafted_store.hpp). Thread: the test's main thread.
#include "crafted_store.hpp"

#include "catalog/format/native_format.hpp"
#include "io/compress.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stratum::test::hostile {
namespace fs = std::filesystem;

namespace {

manifest parse_file(const std::string& path) {
  auto text = read_file(path);
  return parse_manifest(as_bytes(text), path).m;
}

const format_writer& writer() {
  static auto w = make_native_writer(compression{});
  return *w;
}

// Unlinks whatever is at `path` (a file, FIFO, symlink or directory).
void clear(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  fs::create_directories(fs::path(path).parent_path(), ec);
}

// A genuine object of `store`, inflated (the store was just published).
bytes inflate_base(const std::string& store, const std::string& key) {
  return inflate_bounded(as_bytes(read_file(store + "/" + key)), std::size_t(64) << 20, key);
}

base_repository publish_base(const std::string& dir) {
  base_repository b;
  const std::string src = dir + "/src";
  b.store = dir + "/store";
  b.state = dir + "/state";
  make_tree(src, {
                     {'f', "hello.txt", "hello, hostile world\n"},
                     {'f', "data.bin", noise(64 << 10, 1)},
                     {'l', "link", "", "hello.txt"},
                     {'f', "hl1", "one inode, two names\n"},
                     {'h', "hl2", "", "hl1"},
                     {'d', "dir", "", "", 0755},
                     {'f', "dir/f.txt", "in a plain directory\n"},
                     {'d', "sub", "", "", 0755},
                     {'f', "sub/.stratumcatalog", ""},
                     {'f', "sub/inner.txt", "in the nested catalog\n"},
                     {'d', "sub2", "", "", 0755},
                     {'f', "sub2/.stratumcatalog", ""},
                     {'f', "sub2/other.txt", "in the second nested catalog\n"},
                 });
  auto first = run_stratum({"publish", "--new", "-q", b.state, src, b.store});
  INFO(first.err);
  REQUIRE(first.code == 0);
  b.old_manifest = read_file(b.store + "/" + manifest_key);
  write_file(src + "/new.txt", "only in revision 2\n");
  auto second = run_stratum({"publish", "-q", b.state, src, b.store});
  INFO(second.err);
  REQUIRE(second.code == 0);

  b.head = parse_file(b.store + "/" + manifest_key);
  REQUIRE(b.head.revision == 2);
  b.root_key = object_key(b.head.root, object_kind::catalog);
  b.history_key = object_key(b.head.history, object_kind::history);
  b.public_key_key = object_key(b.head.public_key, object_kind::public_key);
  auto root = decode_catalog(inflate_base(b.store, b.root_key), b.root_key);
  for (const auto& e : root.entries)
    if (e.path == b.file_path) b.file_key = object_key(*e.object, object_kind::file);
  REQUIRE(root.nested.size() == 2);
  REQUIRE(root.nested[0].path == "sub");
  REQUIRE(root.nested[1].path == "sub2");
  b.nested_key = object_key(root.nested[0].hash, object_kind::catalog);
  b.nested2_key = object_key(root.nested[1].hash, object_kind::catalog);
  auto sub = decode_catalog(inflate_base(b.store, b.nested_key), b.nested_key);
  for (const auto& e : sub.entries)
    if (e.path == b.nested_file_path) b.nested_file_key = object_key(*e.object, object_kind::file);
  REQUIRE(!b.file_key.empty());
  REQUIRE(!b.nested_file_key.empty());
  return b;
}

// Deflate's longest match (258 bytes) at distance 1 costs about two bits
// with dynamic Huffman codes, so zeros compress ~1030:1. Each segment is a
// separate raw deflate stream ended by a sync flush (byte-aligned, no final
// block, no back-reference into the segment before), so copies of one
// segment concatenate into one valid stream.
std::string build_bomb() {
  constexpr std::size_t segment_in = std::size_t(16) << 20;
  std::vector<unsigned char> zeros(segment_in, 0);
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string segment(deflateBound(&z, segment_in) + 64, '\0');
  z.next_in = zeros.data();
  z.avail_in = static_cast<uInt>(zeros.size());
  z.next_out = reinterpret_cast<Bytef*>(segment.data());
  z.avail_out = static_cast<uInt>(segment.size());
  REQUIRE(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
  REQUIRE(z.avail_in == 0);
  segment.resize(segment.size() - z.avail_out);
  deflateEnd(&z);

  std::string out = "\x78\x01";  // zlib header: deflate, 32 KiB window, no dictionary
  for (std::uint64_t n = 0; n < bomb_inflated_size / segment_in; ++n) out += segment;
  out += std::string("\x01\x00\x00\xff\xff", 5);  // final empty stored block
  // Adler-32 of n zeros: s1 stays 1, s2 adds 1 per byte.
  const std::uint32_t adler = static_cast<std::uint32_t>((bomb_inflated_size % 65521) << 16 | 1);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(adler >> shift));
  return out;
}

}  // namespace

const base_repository& base() {
  static temp_dir dir;
  static const base_repository b = publish_base(dir.path);
  return b;
}

const std::string& bomb() {
  static const std::string b = build_bomb();
  return b;
}

bytes inflate_base_object(const std::string& key) { return inflate_base(base().store, key); }

catalog decode_base_catalog(const std::string& key) { return decode_catalog(inflate_base_object(key), key); }

crafted_store::crafted_store(const std::string& n) : name(n), b(base()) {
  store = dir / "store";
  outside = dir / "outside";
  canary = dir / "canary";
  xdg = dir / "xdg";
  home = dir / "home";
  fs::copy(b.store, store, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  for (auto* d : {&outside, &canary, &xdg, &home}) fs::create_directories(*d);
  fs::create_directories(canary + "/deeper");
  write_file(canary + "/canary.txt", "restore must never write here\n");
  write_file(canary + "/deeper/x", "nor here\n");
}

void crafted_store::put(const std::string& key, const std::string& content) {
  clear(path_of(key));
  write_file(path_of(key), content);
}

void crafted_store::truncate(const std::string& key) {
  auto content = read_file(path_of(key));
  REQUIRE(content.size() > 1);
  put(key, content.substr(0, content.size() / 2));
}

void crafted_store::copy(const std::string& from_key, const std::string& to_key) {
  put(to_key, read_file(path_of(from_key)));
}

void crafted_store::fifo(const std::string& key) {
  clear(path_of(key));
  REQUIRE(::mkfifo(path_of(key).c_str(), 0644) == 0);
}

void crafted_store::symlink(const std::string& key, const std::string& target) {
  clear(path_of(key));
  REQUIRE(::symlink(target.c_str(), path_of(key).c_str()) == 0);
}

void crafted_store::symlink_outside(const std::string& key) {
  std::string copy_path = outside + "/" + fs::path(key).filename().string();
  write_file(copy_path, read_file(path_of(key)));
  symlink(key, copy_path);
}

void crafted_store::directory(const std::string& key) {
  clear(path_of(key));
  fs::create_directories(path_of(key));
}

void crafted_store::sparse_manifest(std::uint64_t size) {
  int fd = ::open(manifest_path().c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
  ::close(fd);
}

manifest crafted_store::current_manifest() const { return parse_file(manifest_path()); }

signing_key crafted_store::own_key() const { return signing_key::load(b.state + "/keys/stratum.key"); }

std::string crafted_store::store_object(byte_view content, object_kind k) {
  auto key = object_key(sha256(content), k);
  put(key, to_string(writer().compress(content)));
  return key;
}

void crafted_store::write_manifest(const manifest& m, const signing_key& key) {
  auto raw = key.public_raw();
  if (key.fingerprint() != b.head.public_key) REQUIRE(store_object(raw, object_kind::public_key) == object_key(key.fingerprint(), object_kind::public_key));
  auto text = encode_manifest(m, key);
  clear(manifest_path());
  write_file(manifest_path(), to_string(text));
}

std::string crafted_store::resign_catalog(const std::string& mount, const std::function<void(catalog&)>& edit,
                                          const std::function<void(bytes&)>& patch) {
  catalog root = decode_base_catalog(b.root_key);
  std::string crafted_key;
  auto encode = [&](catalog& c, bool crafted) {
    if (crafted) edit(c);
    bytes content = writer().encode_catalog(c, catalog_context{});
    if (crafted && patch) {
      const auto size = content.size();
      patch(content);
      REQUIRE(content.size() == size);
    }
    auto key = store_object(content, object_kind::catalog);
    if (crafted) crafted_key = key;
    return std::pair{sha256(content), content.size()};
  };
  if (!mount.empty()) {
    auto ref = std::find_if(root.nested.begin(), root.nested.end(), [&](auto& r) { return r.path == mount; });
    REQUIRE(ref != root.nested.end());
    catalog nested = decode_base_catalog(object_key(ref->hash, object_kind::catalog));
    auto [h, size] = encode(nested, true);
    ref->hash = h;
    ref->size = size;  // catalog format 2 records it beside the hash
  }
  auto [root_hash, root_size] = encode(root, mount.empty());
  manifest m = b.head;
  m.root = root_hash;
  m.root_size = root_size;
  // A new revision, as a publisher holding the key would sign it: the trust
  // record's highest revision (2) is no reason to refuse it.
  m.revision = b.head.revision + 1;
  write_manifest(m, own_key());
  return crafted_key;
}

void replace_once(bytes& b, const bytes& from, const bytes& to) {
  REQUIRE(from.size() == to.size());
  auto at = std::search(b.begin(), b.end(), from.begin(), from.end());
  REQUIRE_MESSAGE(at != b.end(), "the marker is not in the catalog");
  REQUIRE_MESSAGE(std::search(at + 1, b.end(), from.begin(), from.end()) == b.end(), "the marker is in the catalog twice");
  std::copy(to.begin(), to.end(), at);
}

}  // namespace stratum::test::hostile
