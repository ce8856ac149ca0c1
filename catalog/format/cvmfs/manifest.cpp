// `.cvmfspublished` encode, parse and verify (manifest.hpp). Thread: any.
#include "catalog/format/cvmfs/manifest.hpp"

#include "async/error.hpp"
#include "catalog/format/cvmfs/letter.hpp"

#include <charconv>
#include <map>

namespace stratum::cvmfs {
namespace {

// md5("") in hex: the root path's hash, the only R CernVM-FS clients accept.
constexpr std::string_view root_path_md5 = "d41d8cd98f00b204e9800998ecf8427e";

const std::string what = "the manifest (.cvmfspublished)";

std::string yes_no(bool b) { return b ? "yes" : "no"; }

template <class T>
T number(const std::map<char, std::string_view>& f, char key) {
  const auto v = f.at(key);
  T out{};
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size())
    fail(errc::corrupt, what + ": field " + std::string(1, key) + " is not a number ('" + std::string(v.substr(0, 40)) + "')");
  return out;
}

std::optional<object_id> hash_field(const std::map<char, std::string_view>& f, char key) {
  const auto it = f.find(key);
  if (it == f.end()) return std::nullopt;
  const auto h = from_text(it->second);
  if (!h) fail(errc::corrupt, what + ": field " + std::string(1, key) + " is not a hash ('" + std::string(it->second.substr(0, 64)) + "')");
  return object_id{h->first, h->second};
}

manifest read_fields(std::string_view text) {
  // Like CernVM-FS's ParseKeyvalMem: the first byte of a line is the key,
  // the rest its value; a later line wins; empty lines do not count.
  std::map<char, std::string_view> f;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (!line.empty()) f[line[0]] = line.substr(1);
  }
  for (char key : {'C', 'R', 'D', 'S'})
    if (!f.count(key)) fail(errc::corrupt, what + " has no " + std::string(1, key) + " line (CernVM-FS requires C, R, D and S)");
  if (f.at('R') != root_path_md5)
    fail(errc::corrupt, what + ": R is '" + std::string(f.at('R').substr(0, 40)) + "', not the root path's md5 " + std::string(root_path_md5));
  manifest m;
  m.root_catalog = *hash_field(f, 'C');
  if (f.count('B')) m.root_catalog_size = number<std::uint64_t>(f, 'B');
  m.ttl = number<std::uint32_t>(f, 'D');
  m.revision = number<std::uint64_t>(f, 'S');
  // Anything but "yes" is no, as CernVM-FS reads them.
  m.garbage_collectable = f.count('G') && f.at('G') == "yes";
  m.alternative_path = f.count('A') && f.at('A') == "yes";
  m.micro_catalog = hash_field(f, 'L');
  if (f.count('N')) m.fqrn = f.at('N');
  m.certificate = hash_field(f, 'X');
  m.history = hash_field(f, 'H');
  if (f.count('T')) m.timestamp = number<std::uint64_t>(f, 'T');
  m.meta_info = hash_field(f, 'M');
  m.reflog = hash_field(f, 'Y');
  return m;
}

}  // namespace

std::string manifest_text(const manifest& m) {
  std::string t;
  t += "C" + to_text(m.root_catalog) + "\n";
  t += "B" + std::to_string(m.root_catalog_size) + "\n";
  t += "R" + std::string(root_path_md5) + "\n";
  t += "D" + std::to_string(m.ttl) + "\n";
  t += "S" + std::to_string(m.revision) + "\n";
  t += "G" + yes_no(m.garbage_collectable) + "\n";
  t += "A" + yes_no(m.alternative_path) + "\n";
  if (m.micro_catalog) t += "L" + to_text(*m.micro_catalog) + "\n";
  if (!m.fqrn.empty()) t += "N" + m.fqrn + "\n";
  if (m.certificate) t += "X" + to_text(*m.certificate) + "\n";
  if (m.history) t += "H" + to_text(*m.history) + "\n";
  if (m.timestamp > 0) t += "T" + std::to_string(m.timestamp) + "\n";
  if (m.meta_info) t += "M" + to_text(*m.meta_info) + "\n";
  if (m.reflog) t += "Y" + to_text(*m.reflog) + "\n";
  return t;
}

std::string encode_manifest(const manifest& m, const rsa_key& repository_key) {
  if (!m.fqrn.empty()) check_fqrn(m.fqrn);
  if (!repository_key.has_private()) fail(errc::usage, "signing a manifest needs the private repository key (FQRN.key)");
  // Hashed with the root catalog's algorithm (Manifest::GetHashAlgorithm).
  return seal_letter(manifest_text(m), m.root_catalog.algo, [&](byte_view hash) { return sign_sha1(repository_key, hash); });
}

manifest parse_manifest(std::string_view doc) { return read_fields(open_letter(doc, what).text); }

manifest verify_manifest(std::string_view doc, const certificate& cert, std::string_view fqrn) {
  const letter l = open_letter(doc, what);
  if (!verify_sha1(cert.public_key(), as_bytes(l.hash_line), l.signature))
    fail(errc::corrupt, what + " of '" + std::string(fqrn) + "': its signature does not verify with the repository certificate (" + cert.subject() +
                            "); it was signed by another key, or damaged");
  manifest m = read_fields(l.text);
  if (m.fqrn.empty()) fail(errc::corrupt, what + " has no N line; it must name '" + std::string(fqrn) + "'");
  if (m.fqrn != fqrn)
    fail(errc::corrupt, what + " names repository '" + m.fqrn + "', not '" + std::string(fqrn) + "'");
  return m;
}

manifest verify_manifest(std::string_view doc, const certificate& cert, const whitelist& w) {
  check_listed(w, cert);
  return verify_manifest(doc, cert, w.fqrn);
}

}  // namespace stratum::cvmfs
