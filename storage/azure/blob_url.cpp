// Azure container URLs (blob_url.hpp).
#include "storage/azure/blob_url.hpp"

#include "async/error.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <vector>

namespace stratum {

std::string azure_blob_url::az() const { return "az://" + account + "/" + container + (prefix.empty() ? "" : "/" + prefix); }

azure_blob_url parse_azure_blob_url(std::string_view text) {
  const std::string shown(text.substr(0, text.find('?')));  // never the SAS
  const std::string form = "store '" + shown + "': an https:// store must be https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]";
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) fail(errc::usage, form);
  const boost::urls::url_view& u = *parsed;
  const std::string suffix = ".blob.core.windows.net";
  std::string host = u.host_address();
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (u.scheme_id() != boost::urls::scheme::https || u.has_userinfo() || u.has_port() || u.has_fragment() ||
      host.size() <= suffix.size() || host.compare(host.size() - suffix.size(), suffix.size(), suffix) != 0)
    fail(errc::usage, form);
  if (!u.encoded_path().empty() && u.encoded_path().front() != '/') fail(errc::usage, form);  // as in endpoint.cpp
  azure_blob_url out;
  out.account = host.substr(0, host.size() - suffix.size());
  std::vector<std::string> segments;
  for (auto s : u.segments()) segments.push_back(s);
  while (!segments.empty() && segments.back().empty()) segments.pop_back();
  if (segments.empty() || segments.front().empty()) fail(errc::usage, form);
  out.container = segments.front();
  for (std::size_t i = 1; i < segments.size(); ++i) out.prefix += (i > 1 ? "/" : "") + segments[i];
  if (u.has_query()) out.sas = u.encoded_query();
  return out;
}

}  // namespace stratum
