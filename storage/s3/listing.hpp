// S3's XML answers, read into structs: ListObjectsV2 pages, DeleteObjects
// results and error bodies. Pure functions of the bytes (pugixml, via
// storage/xml), any thread, so each can be fuzzed on its own. A body that is
// not what it should be throws errc::corrupt naming `what` (the operation and
// the store); an error body never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stratum {

struct s3_object {
  std::string key;  // the whole key, the store's prefix included
  std::uint64_t size = 0;
  std::int64_t modified = 0;  // <LastModified>, seconds since the epoch; 0 when absent
};

struct s3_list_page {
  std::vector<s3_object> objects;
  bool truncated = false;   // IsTruncated: another page follows
  std::string next_token;   // NextContinuationToken, when truncated
};

// A ListObjectsV2 answer (<ListBucketResult>). Keys are XML text, or
// percent-encoded ('+' for space) when the answer says
// <EncodingType>url</EncodingType>. Every <Contents> needs a <Key> and a
// <Size>; a truncated page needs a continuation token. A <LastModified> that is
// not an ISO 8601 UTC time is errc::corrupt too.
s3_list_page parse_list_objects_v2(std::string_view body, const std::string& what);

struct s3_delete_failure {
  std::string key, code, message;
};

// The <Error> entries of a quiet DeleteObjects answer (<DeleteResult>).
std::vector<s3_delete_failure> parse_delete_result(std::string_view body, const std::string& what);

struct s3_error {
  std::string code, message;  // empty when the body is not an <Error> document
};

// An error answer's <Error><Code> and <Message>; empty for anything else
// (a HEAD has no body; a proxy may answer HTML).
s3_error parse_s3_error(std::string_view body) noexcept;

}  // namespace stratum
