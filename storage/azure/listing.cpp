// Azure Blob's XML answers as structs (listing.hpp).
#include "storage/azure/listing.hpp"

#include "async/error.hpp"
#include "storage/store_util.hpp"
#include "storage/time_text.hpp"
#include "storage/xml.hpp"

namespace stratum {

azure_list_page parse_list_blobs(std::string_view body, const std::string& what) {
  pugi::xml_document doc;
  xml::parse(doc, body, what);
  auto result = xml::root(doc, "EnumerationResults", what);
  azure_list_page page;
  for (auto b = xml::child(result, "Blobs").first_child(); b; b = b.next_sibling()) {
    if (b.type() != pugi::node_element || xml::local_name(b) != "Blob") continue;  // BlobPrefix: not asked for
    auto name = xml::child(b, "Name");
    auto properties = xml::child(b, "Properties");
    auto size = xml::child(properties, "Content-Length");
    if (!name || !size) fail(errc::corrupt, what + ": a blob without " + std::string(name ? "<Content-Length>" : "<Name>"));
    std::string n = name.text().get();
    if (name.attribute("Encoded").as_bool()) {
      auto decoded = store_util::percent_decode(n, false);
      if (!decoded) fail(errc::corrupt, what + ": the name '" + n + "' is marked Encoded but is not percent-encoded");
      n = std::move(*decoded);
    }
    azure_blob blob{n, store_util::parse_size(size.text().get(), what + ": the size of '" + n + "'")};
    if (auto modified = xml::child(properties, "Last-Modified"))
      blob.modified = time_text::parse_rfc1123(modified.text().get(), what + ": the <Last-Modified> of '" + n + "'");
    page.blobs.push_back(std::move(blob));
  }
  page.next_marker = xml::child_text(result, "NextMarker");
  return page;
}

azure_error parse_azure_error(std::string_view body) noexcept {
  auto f = xml::error_document(body);
  return {std::move(f.code), std::move(f.message)};
}

}  // namespace stratum
