// The publish records kept in the journal (catalog/publish/record.hpp).
#include "catalog/publish/record.hpp"
#include "support.hpp"

#include <algorithm>

using namespace stratum;
using namespace stratum::test;

TEST_CASE("path keys sort in catalog pre-order and children form one range") {
  std::vector<std::string> paths = {"", "a", "a/b", "a/b/c", "a.b", "a b", "ab", "b", "a/\x01", "a/\xff", "\xff", "a/b.c"};
  auto by_key = paths;
  std::sort(by_key.begin(), by_key.end(), [](auto& x, auto& y) { return pj::entry_key(x) < pj::entry_key(y); });
  auto by_order = paths;
  std::sort(by_order.begin(), by_order.end(), [](auto& x, auto& y) { return path_before(x, y); });
  CHECK(by_key == by_order);
  for (auto& p : paths) CHECK(pj::key_path(pj::path_key(p)) == p);
  // Everything below "a" and nothing else lies in its children range.
  for (auto& p : paths) {
    auto k = pj::entry_key(p);
    bool inside = k >= pj::children_begin("a") && k < pj::children_end("a");
    CHECK_MESSAGE(inside == (p.size() > 2 && p.rfind("a/", 0) == 0), p);
    bool below_root = k >= pj::children_begin("") && k < pj::children_end("");
    CHECK(below_root == !p.empty());
  }
}

TEST_CASE("entry and catalog records round-trip and detect damage") {
  pj::entry_record r;
  r.st.dev = 2049;
  r.st.ino = 123456789;
  r.st.size = 40 << 20;
  r.st.mode = 0100644;
  r.st.uid = 1000;
  r.st.gid = 100;
  r.st.nlink = 2;
  r.st.mtime_sec = -5;  // before the epoch
  r.st.mtime_nsec = 999999999;
  r.st.ctime_sec = 1700000000;
  r.st.ctime_nsec = 1;
  r.xattrs = {{"user.a", std::string("\0v", 2)}};
  r.state = pj::file_state::done;
  r.chunks = {{16 << 20, sha256(as_bytes("x"))}, {24 << 20, sha256(as_bytes("y"))}};
  r.listed_run = 7;
  auto v = pj::encode_entry(r);
  auto back = pj::decode_entry(v, "ek");
  CHECK(back.same_source(r));
  CHECK(back.state == r.state);
  CHECK(back.chunks == r.chunks);
  CHECK(back.listed_run == 7);
  CHECK(!back.object);
  auto touched = r;
  touched.st.ctime_nsec = 2;
  CHECK(!touched.same_source(r));
  auto xattr = r;
  xattr.xattrs[0].second = "w";
  CHECK(!xattr.same_source(r));
  CHECK_THROWS(pj::decode_entry(v.substr(0, v.size() - 1), "ek"));
  CHECK_THROWS(pj::decode_entry(v + "x", "ek"));

  pj::catalog_record c{3, sha256(as_bytes("catalog")), {}};
  c.stats.regular = 5;
  c.stats.nested = 1;
  auto cb = pj::decode_catalog_record(pj::encode_catalog_record(c), "ck");
  CHECK(cb.run == 3);
  CHECK(cb.hash == c.hash);
  CHECK(cb.stats == c.stats);
  CHECK(cb.size == 0);  // as an older version wrote it: no size
  c.size = 1234;
  auto encoded = pj::encode_catalog_record(c);
  CHECK(pj::decode_catalog_record(encoded, "ck").size == 1234);
  CHECK_THROWS(pj::decode_catalog_record(encoded + "x", "ck"));
  CHECK(pj::decode_catalog_record(encoded, "ck").note.empty());
  // A format's note for the parent catalog (CernVM-FS: the nested summary).
  c.note = std::string("\x01\x00note", 6);
  encoded = pj::encode_catalog_record(c);
  CHECK(pj::decode_catalog_record(encoded, "ck").note == c.note);
  CHECK(pj::decode_catalog_record(encoded, "ck").size == 1234);
  CHECK_THROWS(pj::decode_catalog_record(encoded + "x", "ck"));
}
