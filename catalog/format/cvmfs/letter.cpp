// The "--" / hash / signature envelope of CernVM-FS's signed files
// (letter.hpp). Thread: any.
#include "catalog/format/cvmfs/letter.hpp"

#include "async/error.hpp"

namespace stratum::cvmfs {

letter open_letter(std::string_view doc, const std::string& what) {
  // The text always has at least one line, so the separator is "\n--\n";
  // the first one counts (the signature may hold those bytes too).
  const auto mark = doc.find("\n--\n");
  if (mark == std::string_view::npos) fail(errc::corrupt, what + " has no '--' line after its text: not a signed CernVM-FS file, or cut short");
  letter l;
  l.text = doc.substr(0, mark + 1);
  const auto rest = doc.substr(mark + 4);
  const auto end = rest.find('\n');
  if (end == std::string_view::npos) fail(errc::corrupt, what + " ends within the hash line after '--': cut short");
  l.hash_line = rest.substr(0, end);
  const auto sig = rest.substr(end + 1);
  l.signature = as_bytes(sig);
  const auto printed = from_text(l.hash_line);
  if (!printed) fail(errc::corrupt, what + ": the line after '--' is not a hash ('" + std::string(l.hash_line.substr(0, 64)) + "')");
  if (digest(as_bytes(l.text), printed->second) != printed->first)
    fail(errc::corrupt, what + ": its text does not match the hash after '--' (damaged or edited after signing)");
  if (sig.empty()) fail(errc::corrupt, what + " has no signature after its hash line: cut short");
  return l;
}

std::string seal_letter(std::string_view text, algorithm a, const std::function<bytes(byte_view)>& sign) {
  const std::string hash = to_text(digest(as_bytes(text), a), a);
  const bytes sig = sign(as_bytes(hash));
  std::string out;
  out.reserve(text.size() + 4 + hash.size() + 1 + sig.size());
  out += text;
  out += "--\n";
  out += hash;
  out += '\n';
  out += to_string(sig);
  return out;
}

}  // namespace stratum::cvmfs
