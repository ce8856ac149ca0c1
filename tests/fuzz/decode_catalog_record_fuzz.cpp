// Fuzz target: pj::decode_catalog_record (catalog/publish/record.hpp), the
// catalog records a resumed publish reads back from its journal. Checks a
// stable re-encoding. Runs on the fuzzer's thread.
#include "catalog/publish/record.hpp"
#include "fuzz.hpp"

#include <string_view>

using namespace stratum;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string key = pj::catalog_key("dir");
  std::string_view v(reinterpret_cast<const char*>(data), size);
  pj::catalog_record r;
  if (!fuzz::accepts([&] { r = pj::decode_catalog_record(v, key); })) return 0;

  auto once = pj::encode_catalog_record(r);
  pj::catalog_record back;
  fuzz::require(fuzz::accepts([&] { back = pj::decode_catalog_record(once, key); }),
                "the re-encoding of an accepted catalog record does not decode");
  fuzz::require(back.run == r.run && back.hash == r.hash && back.stats == r.stats && back.size == r.size,
                "re-encoding an accepted catalog record changes it");
  return 0;
}
