// catalog/ — the repository format: catalogs (the tree), history (tags), the
// signed manifest, and the code that publishes, reads, restores and checks a
// repository through a storage backend. docs/FORMAT.md is the specification.
//
// codec: the primitive encodings every binary object uses (LEB128 varints,
// zigzag for signed values, length-prefixed byte strings, raw 32-byte hashes).
// Thread: any (an encoder or decoder belongs to one thread at a time).
#pragma once

#include "io/io.hpp"
#include "io/sha256.hpp"

#include <string>
#include <string_view>

namespace stratum {

class encoder {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void varint(std::uint64_t v);
  void svarint(std::int64_t v) { varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
  void str(std::string_view s);
  void raw(byte_view b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void hash(const hash256& h) { raw(h.v); }
  bytes take() { return std::move(out_); }

 private:
  bytes out_;
};

// Reads what encoder wrote. Every read checks bounds and throws errc::corrupt
// with `what` (the object's key) when the input is short or malformed.
class decoder {
 public:
  decoder(byte_view in, std::string what) : in_(in), what_(std::move(what)) {}
  std::uint8_t u8();
  std::uint64_t varint();
  std::int64_t svarint() {
    auto u = varint();
    return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
  }
  std::string str();
  hash256 hash();
  void expect(std::string_view magic);
  bool done() const { return pos_ == in_.size(); }
  [[noreturn]] void bad(const std::string& why) const;
  const std::string& what() const { return what_; }

 private:
  byte_view in_;
  std::size_t pos_ = 0;
  std::string what_;
};

}  // namespace stratum
