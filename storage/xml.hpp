// Reading the XML that S3 and Azure answer with (listings, errors), through
// pugixml: a parsed document or errc::corrupt, and elements found by their
// local name, whatever namespace prefix a server writes. Used by the pure
// parsers in storage/s3/listing and storage/azure/listing; any thread.
#pragma once

#include <pugixml.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace stratum::xml {

// Parses `body` (UTF-8, a BOM allowed). Whitespace-only text is kept where it
// is an element's whole content (an S3 key may be " "). Throws errc::corrupt
// "`what`: not XML (reason, at byte N)". pugixml expands only the predefined
// and numeric entities and reads no DTD, so no entity can grow or fetch.
void parse(pugi::xml_document& doc, std::string_view body, const std::string& what);

// The element's name without a namespace prefix.
std::string_view local_name(const pugi::xml_node& n);

// The first child element named `name` (local name), or an empty node.
pugi::xml_node child(const pugi::xml_node& parent, std::string_view name);

// The text of the child element `name` ("" when it is absent or empty).
std::string child_text(const pugi::xml_node& parent, std::string_view name);

// The document's root element, which must be named `name`; otherwise
// errc::corrupt naming `what` and the element found.
pugi::xml_node root(const pugi::xml_document& doc, std::string_view name, const std::string& what);

struct error_fields {
  std::string code, message;
};
// <Error><Code>…</Code><Message>…</Message></Error>, the error body of both
// S3 and Azure; empty fields for anything else (no body, HTML from a proxy,
// malformed XML). Never throws.
error_fields error_document(std::string_view body) noexcept;

}  // namespace stratum::xml
