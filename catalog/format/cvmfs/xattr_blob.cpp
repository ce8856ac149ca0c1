// Packing of extended attributes for CernVM-FS catalogs (xattr_blob.hpp).
// Thread: any.
#include "catalog/format/cvmfs/xattr_blob.hpp"

#include "async/error.hpp"

namespace stratum::cvmfs {
namespace {
constexpr std::uint8_t xattr_version = 1;
constexpr std::size_t max_length = 255;  // one-byte lengths
constexpr std::size_t max_count = 255;   // one-byte count
}  // namespace

bytes pack_xattrs(const xattr_list& xattrs, const std::string& path) {
  bytes out;
  if (xattrs.empty()) return out;
  if (xattrs.size() > max_count)
    fail(errc::usage, "'" + path + "' has " + std::to_string(xattrs.size()) +
                          " extended attributes; a CernVM-FS catalog holds at most 255 per entry");
  out.push_back(xattr_version);
  out.push_back(static_cast<std::uint8_t>(xattrs.size()));
  for (std::size_t i = 0; i < xattrs.size(); ++i) {
    const auto& [k, v] = xattrs[i];
    if (k.empty() || k.find('\0') != std::string::npos)
      fail(errc::usage, "'" + path + "' has an extended attribute with an empty name or a NUL in its name");
    if (k.size() > max_length || v.size() > max_length)
      fail(errc::usage, "extended attribute '" + k.substr(0, 64) + "' of '" + path +
                            "': a CernVM-FS catalog holds names and values of at most 255 bytes");
    if (i > 0 && !(xattrs[i - 1].first < k))
      fail(errc::usage, "extended attributes of '" + path + "' are not sorted by name or repeat one");
    out.push_back(static_cast<std::uint8_t>(k.size()));
    out.push_back(static_cast<std::uint8_t>(v.size()));
    out.insert(out.end(), k.begin(), k.end());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

xattr_list unpack_xattrs(byte_view b, const std::string& what) {
  auto bad = [&](const std::string& why) { fail(errc::corrupt, what + ": extended attributes: " + why); };
  if (b.size() < 2) bad("shorter than their header");
  if (b[0] != xattr_version) bad("version " + std::to_string(b[0]) + " is not supported (only 1)");
  const std::size_t n = b[1];
  if (n == 0) bad("an empty list (CernVM-FS writes NULL for none)");
  xattr_list out;
  out.reserve(n);
  std::size_t pos = 2;
  for (std::size_t i = 0; i < n; ++i) {
    if (b.size() - pos < 2) bad("truncated");
    std::size_t kl = b[pos], vl = b[pos + 1];
    pos += 2;
    if (b.size() - pos < kl + vl) bad("truncated");
    std::string k(reinterpret_cast<const char*>(b.data() + pos), kl);
    std::string v(reinterpret_cast<const char*>(b.data() + pos + kl), vl);
    pos += kl + vl;
    if (k.empty() || k.find('\0') != std::string::npos) bad("an empty name or a NUL in a name");
    if (!out.empty() && !(out.back().first < k)) bad("names out of order or repeated");
    out.emplace_back(std::move(k), std::move(v));
  }
  if (pos != b.size()) bad("trailing bytes");
  return out;
}

}  // namespace stratum::cvmfs
