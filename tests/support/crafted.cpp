// The crafted repository helper (crafted.hpp). Thread: the test's thread.
#include "crafted.hpp"

#include "catalog/format/manifest.hpp"
#include "io/compress.hpp"
#include "support.hpp"

namespace stratum::test {

crafted_store::crafted_store(asio::io_context& io, backend& store) : io_(io), store_(store), key_(signing_key::generate()) {}

hash256 crafted_store::object(std::string_view content, object_kind k) {
  const hash256 h = sha256(as_bytes(content));
  auto body = std::make_shared<const bytes>(deflate_object(as_bytes(content), {1}));
  run_io(io_, [&] { return store_.put(object_key(h, k), body); });
  return h;
}

hash256 crafted_store::put(const catalog& c) {
  auto b = encode_catalog(c);
  return object(to_string(b), object_kind::catalog);
}

void crafted_store::publish(const hash256& root, std::vector<tag> tags, std::optional<std::string> history_bytes) {
  history h;
  h.set({"trunk", root, 1, 1700000000, "current revision"});
  for (auto& t : tags) h.set(t);
  h.revisions.push_back({1, root, 1700000000});
  const hash256 hist = object(history_bytes ? *history_bytes : to_string(encode_history(h)), object_kind::history);
  const hash256 key = object(to_string(key_.public_raw()), object_kind::public_key);
  manifest m{1, 1700000000, root, hist, key};
  auto text = std::make_shared<const bytes>(encode_manifest(m, key_));
  run_io(io_, [&] { return store_.put(manifest_key, text); });
}

entry dir_entry(std::string path, std::uint32_t mode) {
  return {.path = std::move(path), .type = entry_type::directory, .mode = mode, .mtime_sec = 1600000000};
}

entry file_entry(std::string path, const std::string& content, std::uint32_t mode) {
  entry e{.path = std::move(path), .type = entry_type::regular, .mode = mode, .size = content.size(), .mtime_sec = 1600000000};
  if (!content.empty()) e.object = sha256(as_bytes(content));
  return e;
}

entry symlink_entry(std::string path, std::string target) {
  entry e{.path = std::move(path), .type = entry_type::symlink, .mode = 0777, .mtime_sec = 1600000000};
  e.size = target.size();
  e.link_target = std::move(target);
  return e;
}

catalog make_catalog(std::string root_path, std::vector<entry> entries, std::vector<nested_ref> nested) {
  catalog c;
  c.root_path = std::move(root_path);
  c.entries = std::move(entries);
  c.nested = std::move(nested);
  return c;
}

bytes raw_catalog(const raw_fields& f) {
  encoder e;
  // Byte by byte: g++ 12 at -O3 warns (stringop-overflow, a false positive)
  // about inserting the magic into the empty buffer at once.
  for (char ch : std::string_view("STRATUM-CATALOG\n")) e.u8(static_cast<std::uint8_t>(ch));
  e.varint(1);  // version
  e.str("");    // root path
  e.varint(2);  // entries
  auto put = [&](std::string_view path, const raw_fields& v) {
    e.str(path);
    e.u8(v.type);
    e.u8(v.flags);
    for (auto x : {v.mode, v.uid, v.gid}) e.varint(x);
    e.varint(0);   // size
    e.svarint(0);  // mtime seconds
    e.varint(v.nsec);
    e.varint(v.hardlink);
    e.varint(0);  // xattrs
  };
  put("", raw_fields{.mode = 0755, .type = 2});
  put("p", f);
  e.varint(0);  // nested catalogs
  for (int i = 0; i < 8; ++i) e.varint(0);  // statistics
  return e.take();
}

}  // namespace stratum::test
