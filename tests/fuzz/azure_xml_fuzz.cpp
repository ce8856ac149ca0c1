// Fuzz target: Azure Blob's XML answers (storage/azure/listing.hpp) and
// container URLs (storage/azure/blob_url.hpp). The first byte chooses (mod 3):
// parse_list_blobs (may only throw errc::corrupt, naming `what`),
// parse_azure_error (never throws), or parse_azure_blob_url (errc::usage).
// For the URL a marker standing for a SAS signature goes into the query
// (right after the first '?', or as "?sig=MARKER" when there is none): it must
// never appear in an error message, an accepted URL keeps it in `sas`, and
// the URL without its query names the same account, container and prefix.
// Runs on the fuzzer's thread.
#include "fuzz.hpp"
#include "storage/azure/blob_url.hpp"
#include "storage/azure/listing.hpp"

using namespace stratum;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body = fuzz::rest(data, size);
  const std::string what = "LIST az://fuzz/c/p/";
  std::string message;
  switch (data[0] % 3) {
    case 0: {
      azure_list_page page;
      if (fuzz::accepts([&] { page = parse_list_blobs(body, what); }, {errc::corrupt}, &message))
        fuzz::require(page.blobs.size() <= body.size() / 8, "more blobs than a body that short can hold");
      else
        fuzz::require(message.rfind(what + ": ", 0) == 0, "a listing error does not start with what was listed");
      break;
    }
    case 1: {
      azure_error e = parse_azure_error(body);
      fuzz::require(e.code.empty() || body.find("Error") != std::string_view::npos, "an error code from a body without <Error>");
      break;
    }
    default: {
      static const std::string marker = "SECRETsig0fuzz";
      std::string url(body);
      const auto q = url.find('?');
      if (q == std::string::npos) url += "?sig=" + marker;
      else url.insert(q + 1, marker);
      // libFuzzer learns the marker from the comparison below and writes it
      // into the URL itself, outside the query: then it is no secret.
      const bool only_in_query = body.find(marker) == std::string_view::npos;
      azure_blob_url u;
      if (fuzz::accepts([&] { u = parse_azure_blob_url(url); }, {errc::usage}, &message)) {
        fuzz::require(!u.account.empty() && !u.container.empty(), "accepted a URL without an account or container");
        fuzz::require(u.sas.find(marker) != std::string::npos, "an accepted URL lost its query");
        // The query changes nothing else: the URL without it names the same place.
        azure_blob_url bare;
        fuzz::require(fuzz::accepts([&] { bare = parse_azure_blob_url(url.substr(0, url.find('?'))); }, {errc::usage}),
                      "a URL is accepted with a SAS but not without it");
        fuzz::require(bare.az() == u.az() && bare.sas.empty(), "the SAS changes the account, container or prefix");
      } else if (only_in_query) {
        fuzz::require(message.find(marker) == std::string::npos, "a SAS appears in an error message");
      }
      break;
    }
  }
  return 0;
}
