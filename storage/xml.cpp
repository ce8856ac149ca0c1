// pugixml for the stores' answers (xml.hpp).
#include "storage/xml.hpp"

#include "async/error.hpp"

namespace stratum::xml {

void parse(pugi::xml_document& doc, std::string_view body, const std::string& what) {
  const auto r = doc.load_buffer(body.data(), body.size(), pugi::parse_default | pugi::parse_ws_pcdata_single, pugi::encoding_utf8);
  if (!r)
    fail(errc::corrupt, what + ": not XML (" + r.description() + ", at byte " + std::to_string(r.offset) + " of " +
                            std::to_string(body.size()) + ")");
}

std::string_view local_name(const pugi::xml_node& n) {
  std::string_view name = n.name();
  auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(const pugi::xml_node& parent, std::string_view name) {
  for (auto c = parent.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element && local_name(c) == name) return c;
  return {};
}

std::string child_text(const pugi::xml_node& parent, std::string_view name) { return child(parent, name).text().get(); }

pugi::xml_node root(const pugi::xml_document& doc, std::string_view name, const std::string& what) {
  auto r = doc.document_element();
  if (!r || local_name(r) != name)
    fail(errc::corrupt, what + ": expected <" + std::string(name) + ">, the answer is <" + std::string(r ? r.name() : "") + ">");
  return r;
}

error_fields error_document(std::string_view body) noexcept {
  try {
    pugi::xml_document doc;
    if (!doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8)) return {};
    auto e = doc.document_element();
    if (!e || local_name(e) != "Error") return {};
    std::string code = child_text(e, "Code");
    while (!code.empty() && (code.back() == ' ' || code.back() == '\n' || code.back() == '\r' || code.back() == '\t')) code.pop_back();
    code.erase(0, code.find_first_not_of(" \n\r\t"));
    return {std::move(code), child_text(e, "Message")};
  } catch (...) {
    return {};  // out of memory: the status alone will do
  }
}

}  // namespace stratum::xml
