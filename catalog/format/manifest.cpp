// The manifest's text and signature (manifest.hpp). Thread: any (pure functions).
#include "catalog/format/manifest.hpp"

#include "async/error.hpp"

#include <charconv>
#include <string_view>

namespace stratum {
namespace {

std::string body(const manifest& m) {
  return "stratum-manifest 1\n"
         "revision " + std::to_string(m.revision) + "\n"
         "timestamp " + std::to_string(m.timestamp) + "\n"
         "root-catalog " + m.root.hex() + "\n"
         "history " + m.history.hex() + "\n" +
         (m.root_size ? "root-catalog-size " + std::to_string(*m.root_size) + "\n" : std::string()) +
         (m.history_size ? "history-size " + std::to_string(*m.history_size) + "\n" : std::string()) +
         "public-key " + m.public_key.hex() + "\n" +
         (m.expires ? "expires " + std::to_string(m.expires) + "\n" : std::string()) +
         (m.garbage_collectable ? "garbage-collectable yes\n" : std::string());
}

std::string hex_of(byte_view b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s.push_back(digits[c >> 4]);
    s.push_back(digits[c & 15]);
  }
  return s;
}

}  // namespace

bytes encode_manifest(const manifest& m, const signing_key& key) {
  std::string text = body(m);
  auto sig = key.sign(as_bytes(text));
  text += "signature " + hex_of(sig) + "\n";
  return bytes(text.begin(), text.end());
}

parsed_manifest parse_manifest(byte_view raw, const std::string& what) {
  std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
  auto bad = [&](const std::string& why) { fail(errc::corrupt, what + ": manifest " + why); };
  auto sig_at = text.rfind("\nsignature ");
  if (sig_at == std::string_view::npos) bad("has no signature");
  parsed_manifest p;
  auto signed_text = text.substr(0, sig_at + 1);
  p.signed_part.assign(signed_text.begin(), signed_text.end());

  auto find_field = [&](std::string_view name) -> std::optional<std::string_view> {
    std::string key = "\n" + std::string(name) + " ";
    auto at = signed_text.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    auto start = at + key.size();
    return signed_text.substr(start, signed_text.find('\n', start) - start);
  };
  auto field = [&](std::string_view name) -> std::string_view {
    auto v = find_field(name);
    if (!v) bad("lacks '" + std::string(name) + "'");
    return *v;
  };
  auto number = [&](std::string_view name, auto& out) {
    auto v = field(name);
    if (std::from_chars(v.data(), v.data() + v.size(), out).ec != std::errc{}) bad("has a bad '" + std::string(name) + "'");
  };
  // A size line is optional (older manifests have none) but, when present,
  // all digits: a reader allocates what it says.
  auto size = [&](std::string_view name) -> std::optional<std::uint64_t> {
    auto v = find_field(name);
    if (!v) return std::nullopt;
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || end != v->data() + v->size()) bad("has a bad '" + std::string(name) + "'");
    return n;
  };
  auto hash = [&](std::string_view name) {
    auto h = hash256::from_hex(field(name));
    if (!h) bad("has a bad '" + std::string(name) + "'");
    return *h;
  };
  if (signed_text.rfind("stratum-manifest 1\n", 0) != 0) bad("is not a stratum manifest of format 1");
  number("revision", p.m.revision);
  number("timestamp", p.m.timestamp);
  p.m.root = hash("root-catalog");
  p.m.history = hash("history");
  p.m.root_size = size("root-catalog-size");
  p.m.history_size = size("history-size");
  p.m.public_key = hash("public-key");
  if (find_field("expires")) number("expires", p.m.expires);  // optional: manifests before it have none
  p.m.garbage_collectable = find_field("garbage-collectable") == std::optional<std::string_view>("yes");

  auto sig_hex = text.substr(sig_at + 11);
  if (!sig_hex.empty() && sig_hex.back() == '\n') sig_hex.remove_suffix(1);
  if (sig_hex.size() != 128) bad("signature has the wrong length");
  for (std::size_t i = 0; i < sig_hex.size(); i += 2) {
    unsigned v;
    if (std::from_chars(sig_hex.data() + i, sig_hex.data() + i + 2, v, 16).ec != std::errc{}) bad("signature is not hex");
    p.signature.push_back(static_cast<std::uint8_t>(v));
  }
  return p;
}

}  // namespace stratum
