// Fuzz target: decode_catalog (catalog/format/catalog.hpp), the parser of a
// catalog object read from a store. Checks what the decoder promises its
// callers (the restorer, the checker, ls): valid relative paths, in pre-order,
// chunk sizes that add up to the file's size, mount points that are
// directories, a stable re-encoding, and a validator that never crashes.
// Runs on the fuzzer's thread.
#include "catalog/format/catalog.hpp"
#include "catalog/read/validator.hpp"
#include "fuzz.hpp"

using namespace stratum;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  catalog c;
  if (!fuzz::accepts([&] { c = decode_catalog(fuzz::view(data, size), "fuzz"); })) return 0;

  fuzz::require(!c.entries.empty() && c.entries[0].path == c.root_path, "accepted a catalog without its root entry");
  for (std::size_t i = 0; i < c.entries.size(); ++i) {
    const auto& x = c.entries[i];
    fuzz::require(valid_path(x.path), "accepted an entry path with an empty, '.' or '..' component");
    fuzz::require(path_within(x.path, c.root_path), "accepted an entry outside the catalog's root");
    if (i > 0) fuzz::require(path_before(c.entries[i - 1].path, x.path), "accepted entries out of order");
    if (x.type == entry_type::regular && !x.chunks.empty()) {
      // Summed without wrapping: a reader allocates each chunk's size.
      std::uint64_t sum = 0;
      for (const auto& ch : x.chunks) {
        fuzz::require(ch.size <= x.size - sum, "accepted chunk sizes that exceed the file's size (wrapping sum)");
        sum += ch.size;
      }
      fuzz::require(sum == x.size, "accepted chunk sizes that do not add up to the file's size");
    }
  }

  for (const auto& n : c.nested)
    fuzz::require(!n.size || *n.size > 0, "accepted a nested catalog of size 0");
  // The validator every reader runs next (catalog/read/validator.hpp) takes
  // whatever the decoder accepts: it passes it or refuses it as corrupt.
  fuzz::accepts([&] { validate_catalog(c, "fuzz"); });
  for (const auto& x : c.entries)
    if (x.nested_root) fuzz::require(x.type == entry_type::directory, "accepted a mount point that is not a directory");

  // What the decoder accepts, the encoder writes back, and that decodes to
  // the same bytes again.
  auto once = encode_catalog(c);
  bytes twice;
  fuzz::require(fuzz::accepts([&] { twice = encode_catalog(decode_catalog(once, "fuzz re-encoded")); }),
                "the re-encoding of an accepted catalog does not decode");
  fuzz::require(once == twice, "re-encoding an accepted catalog is not stable");
  return 0;
}
