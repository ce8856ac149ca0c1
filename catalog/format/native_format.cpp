// stratum's own format behind the format interfaces (native_format.hpp).
// Thread: any; both classes are immutable.
#include "catalog/format/native_format.hpp"

#include "async/error.hpp"

namespace stratum {
namespace {

class native_writer final : public format_writer {
 public:
  explicit native_writer(compression c) : comp_(c) {}
  std::string_view name() const override { return "stratum"; }
  bool names_by_content() const override { return true; }
  hash256 object_hash(byte_view b) const override { return sha256(b); }
  bytes compress(byte_view content) const override { return deflate_object(content, comp_); }
  std::string object_key(const hash256& h, object_kind k) const override { return stratum::object_key(h, k); }
  bytes encode_catalog(const catalog& c, const catalog_context&) const override { return stratum::encode_catalog(c); }
  bytes catalog_note(const catalog&, const catalog_context&) const override { return {}; }
  bytes encode_history(const history& h) const override { return stratum::encode_history(h); }
  bytes public_key_object(const signing_key& key) const override { return key.public_raw(); }
  std::string manifest_key() const override { return stratum::manifest_key; }
  bytes encode_manifest(const manifest& m, const signing_key& key,
                        const std::vector<std::pair<std::string, bytes>>&) const override {
    return stratum::encode_manifest(m, key);
  }
  std::vector<bytes> implicit_objects() const override { return {}; }
  std::vector<std::pair<std::string, bytes>> side_files(const manifest&, std::int64_t,
                                                        const std::vector<std::optional<bytes>>&) const override {
    return {};
  }
  bytes trust_anchor(const signing_key& key) const override { return key.public_raw(); }
  std::unique_ptr<format_reader> reader() const override;

 private:
  compression comp_;
};

class native_reader final : public format_reader {
 public:
  std::string_view name() const override { return "stratum"; }
  std::string manifest_key() const override { return stratum::manifest_key; }
  std::size_t manifest_max_size() const override { return stratum::manifest_max_size; }
  std::string object_key(const hash256& h, object_kind k) const override { return stratum::object_key(h, k); }
  parsed_manifest parse_manifest(byte_view text, const std::string& what) const override {
    return stratum::parse_manifest(text, what);
  }
  bool verify_manifest(const parsed_manifest& p, byte_view key_object) const override {
    return verify_signature(key_object, p.signed_part, p.signature);
  }
  std::uint64_t public_key_size() const override { return 32; }  // a raw Ed25519 public key
  bytes open_object(byte_view stored, const hash256& h, object_kind k, std::optional<std::uint64_t> size,
                    std::uint64_t limit) const override {
    const std::string what = "object " + object_key(h, k);
    // A recorded size (a file's, a chunk's, a catalog's in a manifest or a
    // version-2 catalog): libdeflate into a buffer of that size, then one hash.
    if (size) {
      auto plain = inflate_object(stored, *size, what);
      if (sha256(plain) != h) fail(errc::corrupt, what + ": content does not match its hash");
      return plain;
    }
    // No size: measured and hashed first, under the limit, so a bomb or an
    // object that is not its name is refused before its content is held.
    return inflate_bounded(stored, limit, what, h);
  }
  catalog decode_catalog(byte_view content, const std::string& what) const override {
    return stratum::decode_catalog(content, what);
  }
  history decode_history(byte_view content, const std::string& what) const override {
    return stratum::decode_history(content, what);
  }
};

}  // namespace

std::unique_ptr<format_reader> native_writer::reader() const { return make_native_reader(); }

std::unique_ptr<format_writer> make_native_writer(compression c) { return std::make_unique<native_writer>(c); }
std::unique_ptr<format_reader> make_native_reader() { return std::make_unique<native_reader>(); }

}  // namespace stratum
