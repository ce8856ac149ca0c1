// Fuzz target: parse_manifest (catalog/format/manifest.hpp) and the signature
// check a reader runs next (verify_signature, catalog/format/signing.hpp), as
// repository::open does with the manifest and the public key object it names.
// Input: 32 bytes of raw Ed25519 public key, then the manifest text. The seeds
// (make_seeds.cpp) are manifests signed with the key in front of them, so the
// fuzzer starts from texts that verify. Runs on the fuzzer's thread.
#include "catalog/format/manifest.hpp"
#include "fuzz.hpp"

#include <algorithm>
#include <string_view>

using namespace stratum;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t key_size = 32;
  if (size < key_size) return 0;
  auto key = fuzz::view(data, key_size);
  auto text = fuzz::view(data + key_size, size - key_size);

  parsed_manifest p;
  if (!fuzz::accepts([&] { p = parse_manifest(text, "fuzz"); })) return 0;

  fuzz::require(p.signature.size() == 64, "accepted a signature that is not 64 bytes");
  // The signed part is the text up to the signature line: what verify checks
  // must be what the fields were read from.
  fuzz::require(p.signed_part.size() < text.size() && std::equal(p.signed_part.begin(), p.signed_part.end(), text.begin()),
                "the signed part is not a prefix of the manifest");
  std::string_view signed_text(reinterpret_cast<const char*>(p.signed_part.data()), p.signed_part.size());
  fuzz::require(signed_text.starts_with("stratum-manifest 1\n"), "accepted a manifest without its header line");

  // Any 32 bytes may come in as a key (a store is untrusted): OpenSSL must
  // answer yes or no, and a signature over one message must not verify
  // another.
  bool ok = false;
  fuzz::require(fuzz::accepts([&] { ok = verify_signature(key, p.signed_part, p.signature); }),
                "verify_signature threw");
  if (ok && !p.signed_part.empty()) {
    auto altered = p.signed_part;
    altered.back() ^= 1;
    fuzz::require(!verify_signature(key, altered, p.signature), "a signature verifies an altered manifest");
  }
  return 0;
}
