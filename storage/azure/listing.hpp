// Azure Blob's XML answers, read into structs: List Blobs pages and error
// bodies. Pure functions of the bytes (pugixml, via storage/xml), any
// thread, so each can be fuzzed on its own. A listing that is not what it
// should be throws errc::corrupt naming `what` (the operation and the
// store); an error body never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stratum {

struct azure_blob {
  std::string name;  // the whole name, the store's prefix included
  std::uint64_t size = 0;
  std::int64_t modified = 0;  // <Properties><Last-Modified>, seconds since the epoch; 0 when absent
};

struct azure_list_page {
  std::vector<azure_blob> blobs;
  std::string next_marker;  // "" on the last page
};

// A List Blobs answer (<EnumerationResults>). Since service version
// 2021-02-12 a name holding characters XML cannot carry (U+FFFE, U+FFFF) is
// sent percent-encoded (RFC 2396) as <Name Encoded="true">; it is decoded.
// Every <Blob> needs a <Name> and <Properties><Content-Length>; a
// <Last-Modified> that is not an RFC 1123 time is errc::corrupt.
azure_list_page parse_list_blobs(std::string_view body, const std::string& what);

struct azure_error {
  std::string code, message;  // empty when the body is not an <Error> document
};

// An error answer's <Error><Code> and <Message>; empty for anything else.
azure_error parse_azure_error(std::string_view body) noexcept;

}  // namespace stratum
