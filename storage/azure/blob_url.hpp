// Azure's own URL for a container, as the portal and azcopy show it:
// https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS], parsed with
// Boost.URL into the parts of az://ACCOUNT/CONTAINER[/PREFIX] and the SAS.
// Any thread; the SAS never appears in a message.
#pragma once

#include <string>
#include <string_view>

namespace stratum {

struct azure_blob_url {
  std::string account, container, prefix;  // prefix: "" or "a/b", decoded
  std::string sas;                         // the query as written (still encoded), "" for none
  std::string az() const;                  // "az://ACCOUNT/CONTAINER[/PREFIX]"
};

// Throws errc::usage for anything else, naming the URL without its query.
azure_blob_url parse_azure_blob_url(std::string_view url);

}  // namespace stratum
