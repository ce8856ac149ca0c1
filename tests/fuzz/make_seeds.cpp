// Writes the seed inputs of every fuzz target (tests/fuzz/README.md) with the
// project's own encoders: valid objects of each kind, a few edge cases (empty,
// truncated, one byte too many), into OUT/<target>/seed-<name>. Built with
// STRATUM_FUZZ=ON (build-fuzz/fuzz_seeds); run by scripts/fuzz.sh when a
// corpus is missing. Manifests are signed with a new key each run, so their
// seeds differ from run to run; the rest are the same bytes every time.
// The storage targets' seeds are answers shaped as S3, Azure and their
// emulators write them (tests/storage/s3/listing_test.cpp and
// tests/storage/azure/listing_test.cpp; the two list pages are
// tests/support/store_answers.hpp), after the byte choosing the parser.
// One thread.
#include "../support/store_answers.hpp"
#include "catalog/format/catalog.hpp"
#include "catalog/format/cvmfs/catalog_sql.hpp"
#include "catalog/format/history.hpp"
#include "catalog/format/manifest.hpp"
#include "catalog/publish/record.hpp"
#include "io/compress.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

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
  c.nested.push_back({"n", h("nested"), std::nullopt});
  c.stats = {2, 3, 1, 2, 40 << 20, 1, 2, 1};
  // Version 1 (an older stratum's: no nested sizes), then version 2.
  write_with_edges("decode_catalog", "tree-v1", encode_catalog(c));
  c.nested[0].size = 321;
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
  m.root_size = 4321;
  m.history_size = 210;
  auto sized = encode_manifest(m, key);
  write("parse_manifest", "signed-sizes", with_key(std::string(sized.begin(), sized.end())));
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
  c.size = 4321;
  write_with_edges("decode_catalog_record", "sized", to_bytes(pj::encode_catalog_record(c)));
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

// `chooser` (the target's first byte, which picks the parser) then `text`.
void write_chosen(const std::string& target, const std::string& name, std::uint8_t chooser, std::string_view text) {
  bytes b{chooser};
  b.insert(b.end(), text.begin(), text.end());
  write(target, name, b);
}

void s3_answers() {
  const std::string& page = stratum::test::s3_list_answer;
  write_chosen("s3_xml", "list-page", 0, page);
  write_chosen("s3_xml", "list-truncated-body", 0, page.substr(0, page.size() / 2));
  write_chosen("s3_xml", "list-empty",
               0, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                  "<Name>b</Name><Prefix>none/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
                  "</ListBucketResult>");
  write_chosen("s3_xml", "list-ns-prefix", 0,
               "<s3:ListBucketResult xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\"><s3:Contents><s3:Key>a</s3:Key>"
               "<s3:Size>5</s3:Size></s3:Contents></s3:ListBucketResult>");
  write_chosen("s3_xml", "list-url-encoded", 0,
               "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a+b%2Bc%0Ad%EF%BF%BF</Key><Size>1</Size></Contents>"
               "</ListBucketResult>");
  write_chosen("s3_xml", "list-dtd", 0,
               "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;\">]>\n"
               "<ListBucketResult><Contents><Key>&b;&nbsp;</Key><Size>99999999999999999999999</Size></Contents></ListBucketResult>");
  write_chosen("s3_xml", "delete-result", 1, R"(<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted><Key>ok</Key></Deleted>
  <Error><Key>a &amp; b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
  <Error><Key>c</Key><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>
</DeleteResult>)");
  write_chosen("s3_xml", "error", 2, R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>nope</BucketName><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
  write_chosen("s3_xml", "error-html", 2, "<html><body>502 Bad Gateway</body></html>");
}

void azure_answers() {
  const std::string& page = stratum::test::azure_list_answer;
  write_chosen("azure_xml", "list-page", 0, page);
  write_chosen("azure_xml", "list-truncated-body", 0, page.substr(0, page.size() / 2));
  write_chosen("azure_xml", "list-azurite-last", 0,
               "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" "
               "ContainerName=\"c\"><Prefix/><Marker/><MaxResults>14</MaxResults><Blobs><Blob><Name>x</Name><Properties>"
               "<Content-Length>3</Content-Length></Properties></Blob></Blobs><NextMarker/></EnumerationResults>");
  write_chosen("azure_xml", "list-bad-encoded", 0,
               "<EnumerationResults><Blobs><Blob><Name Encoded=\"true\">a%4</Name><Properties><Content-Length>1</Content-Length>"
               "</Properties></Blob></Blobs></EnumerationResults>");
  write_chosen("azure_xml", "error", 1,
               "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ContainerNotFound</Code><Message>The specified "
               "container does not exist.\nRequestId:8f2b5b7e-401e-0047-1c51-3b2f4b000000\nTime:2026-11-30T10:00:00.0000000Z"
               "</Message></Error>");
  write_chosen("azure_xml", "error-auth", 1, R"(<?xml version="1.0" encoding="utf-8"?>
<Error>
  <Code>AuthenticationFailed</Code>
  <Message>Server failed to authenticate the request.</Message>
  <AuthenticationErrorDetail>The MAC signature found in the HTTP request is not the same as any computed signature.</AuthenticationErrorDetail>
</Error>)");
  // Container URLs: the target puts its SAS marker after the first '?'.
  write_chosen("azure_xml", "url-sas", 2,
               "https://acct.blob.core.windows.net/container/repo/sub?sv=2022-11-02&ss=b&srt=co&sp=rwdl&se=2026-12-31T00:00:00Z"
               "&sig=");
  write_chosen("azure_xml", "url-plain", 2, "https://ACCT.Blob.Core.Windows.Net/c/");
  write_chosen("azure_xml", "url-encoded-prefix", 2, "https://a.blob.core.windows.net/c/a%20b//c%2Fd/");
  write_chosen("azure_xml", "url-port-user", 2, "https://u:p@a.blob.core.windows.net:443/c#frag");
  write_chosen("azure_xml", "url-not-blob", 2, "http://a.blob.core.windows.net.example.com/c");
}

void http_fields() {
  int i = 0;
  for (const char* v : {"120", " 7\t", "0", "300", "301", "99999999999999999999999", "Wed, 21 Oct 2026 07:28:00 GMT", "-1", ""})
    write_chosen("http_fields", "retry-after-" + std::to_string(i++), 0, v);
  for (const char* v : {"434234", "  0\r\n", "18446744073709551615", "18446744073709551616", "-5", "+5", "1e3", "0x10", ""})
    write_chosen("http_fields", "size-" + std::to_string(i++), 1, v);
  const std::pair<unsigned, const char*> answers[] = {
      {503, "SlowDown"}, {503, "ServerBusy"}, {500, "InternalError"}, {404, "NoSuchBucket"}, {404, "ContainerNotFound"},
      {404, ""}, {403, "AccessDenied"}, {403, "AuthenticationFailed"}, {400, "RequestTimeout"}, {429, ""}, {501, ""}, {200, ""}};
  for (auto& [code, service] : answers) {
    std::string text{static_cast<char>(code & 0xff), static_cast<char>(code >> 8)};
    write_chosen("http_fields", "status-" + std::to_string(code) + "-" + service, 2, text + service);
  }
  for (const char* e : {"https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:10000/devstoreaccount1/", "https://[::1]:9000",
                        "https://host:80:80", "https://user@host/?q#f", "ftp://host", "https://h%41st:0", "https://[v1.x]/",
                        "http://host:65536/a//b"}) {
    write_chosen("http_fields", "endpoint-url-" + std::to_string(i), 3, e);
    write_chosen("http_fields", "endpoint-" + std::to_string(i++), 4, e);
  }
}

// What the http store parses: Content-Range values (0), STORE URLs (1), and
// the same with a secret put into the query (2).
void http_store_fields() {
  int i = 0;
  for (const char* v : {"bytes 10-29/100000", "bytes 0-0/*", " bytes 5-4/10", "bytes 0-9/10", "bytes */100",
                        "bytes 18446744073709551615-18446744073709551615/*", "bytes +1-2/3", ""})
    write_chosen("http_store", "range-" + std::to_string(i++), 0, v);
  for (const char* u : {"http://127.0.0.1:8000/cvmfs/sw.example.org/", "https://stratum1.example.org", "https://[::1]:8443/a%2Fb//",
                        "https://acct.blob.core.windows.net/c/p", "http://127.0.0.1:10000/devstoreaccount1/c", "https://u@h/r",
                        "http://h:0/", "HTTPS://H/R", "http://h/r?sv=1&sig=x", "http://h/r#f", "ftp://h/r", "http:#"}) {
    write_chosen("http_store", "url-" + std::to_string(i), 1, u);
    write_chosen("http_store", "query-" + std::to_string(i++), 2, u);
  }
}

}  // namespace

// CernVM-FS catalogs (SQLite databases): a root-only one, and one with
// every kind of entry (chunks, a hardlink group, xattrs, a symlink, a
// device, an empty file) and a nested catalog.
void cvmfs_catalogs() {
  using namespace stratum::cvmfs;
  auto d = [](std::string_view s) { return digest(as_bytes(s), algorithm::sha1); };
  catalog c;
  c.entries.push_back(dir(""));
  c.stats.directories = 1;
  catalog_params p;
  p.last_modified = 1700000000;
  write_with_edges("cvmfs_catalog", "root-only", encode_catalog(c, p));

  entry f;
  f.path = "a";
  f.mode = 0644;
  f.size = 30;
  f.chunks = {{10, d("c0")}, {20, d("c1")}};
  f.xattrs = {{"user.a", "b"}};
  c.entries.push_back(f);
  entry g = f;
  g.path = "b";
  g.chunks.clear();
  g.xattrs.clear();
  g.object = d("b");
  g.hardlink_group = 1;
  c.entries.push_back(g);
  g.path = "c";
  c.entries.push_back(g);
  entry dev = g;
  dev.path = "dev";
  dev.type = entry_type::block_device;
  dev.size = 0;
  dev.object.reset();
  dev.hardlink_group = 0;
  dev.rdev = 0x0801;
  c.entries.push_back(dev);
  entry empty = dev;
  empty.path = "empty";
  empty.type = entry_type::regular;
  empty.rdev = 0;
  c.entries.push_back(empty);
  entry link = dev;
  link.path = "link";
  link.type = entry_type::symlink;
  link.rdev = 0;
  link.link_target = "a";
  link.size = 1;
  c.entries.push_back(link);
  c.entries.push_back(dir("n"));
  c.entries.back().nested_root = true;
  c.nested.push_back({"n", d("nested"), 4096});
  nested_summary sum;
  sum.total.dir = 1;
  p.nested = {sum};
  p.empty_object = d("empty");
  p.ttl = 240;
  c.stats = {.regular = 4, .directories = 2, .symlinks = 1, .specials = 1, .bytes = 90, .chunked = 1, .chunks = 2,
             .nested = 1};
  write_with_edges("cvmfs_catalog", "every-kind", encode_catalog(c, p));

  catalog n;
  n.root_path = "n";
  n.entries.push_back(dir("n"));
  n.stats.directories = 1;
  write_with_edges("cvmfs_catalog", "nested", encode_catalog(n, {}));
}

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
  s3_answers();
  azure_answers();
  http_fields();
  http_store_fields();
  cvmfs_catalogs();
  return 0;
}
