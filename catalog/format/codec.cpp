// The primitive encodings (codec.hpp). Thread: any (pure functions).
#include "catalog/format/codec.hpp"

#include "async/error.hpp"

#include <algorithm>

namespace stratum {

void encoder::varint(std::uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<std::uint8_t>(v));
}

void encoder::str(std::string_view s) {
  varint(s.size());
  out_.insert(out_.end(), s.begin(), s.end());
}

std::uint8_t decoder::u8() {
  if (pos_ >= in_.size()) bad("truncated");
  return in_[pos_++];
}

std::uint64_t decoder::varint() {
  std::uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    std::uint8_t b = u8();
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  bad("varint longer than 64 bits");
}

std::string decoder::str() {
  auto n = varint();
  if (n > in_.size() - pos_) bad("string runs past the end");
  std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
  pos_ += n;
  return s;
}

hash256 decoder::hash() {
  if (in_.size() - pos_ < 32) bad("truncated hash");
  hash256 h;
  std::copy_n(in_.data() + pos_, 32, h.v.begin());
  pos_ += 32;
  return h;
}

void decoder::expect(std::string_view magic) {
  if (in_.size() - pos_ < magic.size() || std::string_view(reinterpret_cast<const char*>(in_.data() + pos_), magic.size()) != magic)
    bad("wrong magic (not a " + std::string(magic) + " object)");
  pos_ += magic.size();
}

void decoder::bad(const std::string& why) const { fail(errc::corrupt, what_ + ": " + why + " at byte " + std::to_string(pos_)); }

}  // namespace stratum
