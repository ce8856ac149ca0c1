// The signed envelope CernVM-FS puts around its whitelist and its manifest
// (crypto/signature.cc, CutLetter/VerifyLetter; docs/FORMAT-cvmfs.md):
//   <text: lines ending in '\n'>
//   --
//   <hash of the text, as hex + algorithm suffix>
//   <signature bytes, to the end of the file>
// The signature is over the hash line's ASCII text (without its '\n'), not
// over the text itself; whitelist.cpp and manifest.cpp choose the scheme.
// Thread: any (pure functions).
#pragma once

#include "catalog/format/cvmfs/digest.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace stratum::cvmfs {

struct letter {
  std::string_view text;       // up to and including the '\n' before "--"
  std::string_view hash_line;  // the line after "--", without its '\n'
  byte_view signature;         // the rest
};

// Cuts `doc` at its first "\n--\n" and checks that the hash line is a hash of
// the text (with the hash line's own algorithm, as CernVM-FS verifies).
// Throws errc::corrupt naming `what` when there is no "--" line, no hash line,
// no signature, or the text does not match its hash.
letter open_letter(std::string_view doc, const std::string& what);

// text + "--\n" + hash(text) + "\n" + sign(hash text). `text` must end in '\n'.
std::string seal_letter(std::string_view text, algorithm a, const std::function<bytes(byte_view)>& sign);

}  // namespace stratum::cvmfs
