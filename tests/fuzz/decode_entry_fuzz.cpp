// Fuzz target: pj::decode_entry (catalog/publish/record.hpp), the entry
// records a resumed publish reads back from its journal (a STATE directory can
// be damaged, or come from another version). Checks a stable re-encoding.
// Runs on the fuzzer's thread.
#include "catalog/publish/record.hpp"
#include "fuzz.hpp"

#include <string_view>

using namespace stratum;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string key = pj::entry_key("dir/file");
  std::string_view v(reinterpret_cast<const char*>(data), size);
  pj::entry_record r;
  if (!fuzz::accepts([&] { r = pj::decode_entry(v, key); })) return 0;

  fuzz::require(r.state <= pj::file_state::excluded, "accepted an unknown file state");
  auto once = pj::encode_entry(r);
  pj::entry_record back;
  fuzz::require(fuzz::accepts([&] { back = pj::decode_entry(once, key); }),
                "the re-encoding of an accepted entry record does not decode");
  fuzz::require(back.same_source(r) && back.state == r.state && back.object == r.object && back.chunks == r.chunks &&
                    back.listed_run == r.listed_run,
                "re-encoding an accepted entry record changes it");
  fuzz::require(pj::encode_entry(back) == once, "re-encoding an accepted entry record is not stable");
  return 0;
}
