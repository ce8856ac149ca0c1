// Fuzz target: S3's XML answers (storage/s3/listing.hpp), bytes a store or
// anything between it and us sends. The first byte chooses the parser
// (mod 3): parse_list_objects_v2, parse_delete_result, parse_s3_error; the
// rest is the body. Listings may only throw errc::corrupt, with a message
// that starts with `what`; the error-body parser never throws (it is
// noexcept: a throw would end the process, a finding too).
// Runs on the fuzzer's thread.
#include "fuzz.hpp"
#include "storage/s3/listing.hpp"

using namespace stratum;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body = fuzz::rest(data, size);
  const std::string what = "LIST s3://fuzz/p/";
  std::string message;
  switch (data[0] % 3) {
    case 0: {
      s3_list_page page;
      if (fuzz::accepts([&] { page = parse_list_objects_v2(body, what); }, {errc::corrupt}, &message)) {
        fuzz::require(!page.truncated || !page.next_token.empty(), "accepted a truncated page without a continuation token");
        fuzz::require(page.objects.size() <= body.size() / 8, "more objects than a body that short can hold");
      } else {
        fuzz::require(message.rfind(what + ": ", 0) == 0, "a listing error does not start with what was listed");
      }
      break;
    }
    case 1: {
      std::vector<s3_delete_failure> failed;
      if (!fuzz::accepts([&] { failed = parse_delete_result(body, what); }, {errc::corrupt}, &message))
        fuzz::require(message.rfind(what + ": ", 0) == 0, "a DeleteObjects error does not start with what was deleted");
      break;
    }
    default: {
      s3_error e = parse_s3_error(body);
      // A code or message can only come from an <Error> element in the body.
      fuzz::require(e.code.empty() || body.find("Error") != std::string_view::npos, "an error code from a body without <Error>");
      break;
    }
  }
  return 0;
}
