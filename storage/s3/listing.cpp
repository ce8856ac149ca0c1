// S3's XML answers as structs (listing.hpp).
#include "storage/s3/listing.hpp"

#include "async/error.hpp"
#include "storage/store_util.hpp"
#include "storage/time_text.hpp"
#include "storage/xml.hpp"

namespace stratum {

s3_list_page parse_list_objects_v2(std::string_view body, const std::string& what) {
  pugi::xml_document doc;
  xml::parse(doc, body, what);
  auto result = xml::root(doc, "ListBucketResult", what);
  // trim() views its argument: the texts are kept in named strings.
  const std::string encoding = xml::child_text(result, "EncodingType");
  const bool url_encoded = store_util::trim(encoding) == "url";
  s3_list_page page;
  for (auto c = result.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element || xml::local_name(c) != "Contents") continue;
    auto key = xml::child(c, "Key");
    auto size = xml::child(c, "Size");
    if (!key || !size) fail(errc::corrupt, what + ": an entry without " + std::string(key ? "<Size>" : "<Key>"));
    std::string name = key.text().get();
    if (url_encoded) {
      auto decoded = store_util::percent_decode(name, true);
      if (!decoded) fail(errc::corrupt, what + ": the key '" + name + "' is not URL-encoded as the answer says");
      name = std::move(*decoded);
    }
    s3_object o{name, store_util::parse_size(size.text().get(), what + ": the size of '" + name + "'")};
    if (auto modified = xml::child(c, "LastModified"))
      o.modified = time_text::parse_iso8601(modified.text().get(), what + ": the <LastModified> of '" + name + "'");
    page.objects.push_back(std::move(o));
  }
  const std::string truncated_text = xml::child_text(result, "IsTruncated");
  const std::string_view truncated = store_util::trim(truncated_text);
  if (truncated == "true") page.truncated = true;
  else if (!truncated.empty() && truncated != "false")
    fail(errc::corrupt, what + ": <IsTruncated> is '" + std::string(truncated.substr(0, 20)) + "', not true or false");
  page.next_token = xml::child_text(result, "NextContinuationToken");
  if (page.truncated && page.next_token.empty())
    fail(errc::corrupt, what + ": the page is truncated but has no <NextContinuationToken>");
  return page;
}

std::vector<s3_delete_failure> parse_delete_result(std::string_view body, const std::string& what) {
  pugi::xml_document doc;
  xml::parse(doc, body, what);
  auto result = xml::root(doc, "DeleteResult", what);
  std::vector<s3_delete_failure> out;
  for (auto c = result.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element && xml::local_name(c) == "Error")
      out.push_back({xml::child_text(c, "Key"), xml::child_text(c, "Code"), xml::child_text(c, "Message")});
  return out;
}

s3_error parse_s3_error(std::string_view body) noexcept {
  auto f = xml::error_document(body);
  return {std::move(f.code), std::move(f.message)};
}

}  // namespace stratum
