// Fuzz target: decode_history (catalog/format/history.hpp), the parser of the
// history object (tags and revisions) read from a store. Checks sorted, valid
// tag names, ascending revisions and a stable re-encoding.
// Runs on the fuzzer's thread.
#include "catalog/format/history.hpp"
#include "fuzz.hpp"

using namespace stratum;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  history h;
  if (!fuzz::accepts([&] { h = decode_history(fuzz::view(data, size), "fuzz"); })) return 0;

  for (std::size_t i = 0; i < h.tags.size(); ++i) {
    fuzz::require(valid_tag_name(h.tags[i].name), "accepted an invalid tag name");
    if (i > 0) fuzz::require(h.tags[i - 1].name < h.tags[i].name, "accepted tags out of order or twice");
    fuzz::require(h.find(h.tags[i].name) == &h.tags[i], "find() does not find an accepted tag");
  }
  for (std::size_t i = 1; i < h.revisions.size(); ++i)
    fuzz::require(h.revisions[i - 1].revision < h.revisions[i].revision, "accepted revisions out of order");

  auto once = encode_history(h);
  history back;
  fuzz::require(fuzz::accepts([&] { back = decode_history(once, "fuzz re-encoded"); }),
                "the re-encoding of an accepted history does not decode");
  fuzz::require(back.tags == h.tags && back.revisions == h.revisions, "re-encoding an accepted history changes it");
  return 0;
}
