// Azure's SharedKey authorisation: the account key as the user gives it
// (AZURE_STORAGE_KEY) and the Authorization header of a request, signed with
// it. Pure functions of their arguments, any thread; the key itself never
// appears in a message.
#pragma once

#include "io/sha256.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stratum {

// The account key's bytes from its base64 text. Surrounding whitespace (a
// newline from `cat key.txt`, or a copy and paste) is dropped: decoded, it
// added bytes to the key and every request got 403. Throws errc::usage naming
// AZURE_STORAGE_KEY and `store` when the text is not valid base64.
std::string decode_account_key(std::string_view text, const std::string& store);

using header_list = std::vector<std::pair<std::string, std::string>>;

// "SharedKey ACCOUNT:SIGNATURE" for a request (docs: "Authorize with Shared
// Key", version 2015-02-21 and later). `path` is the request's encoded path
// as sent (with the account first for an emulator's endpoint), `query` its
// raw parameters, `headers` every header sent besides Host and Content-Length.
std::string shared_key_authorization(const hmac_sha256& key, const std::string& account, const std::string& method,
                                     const std::string& path, const std::vector<std::pair<std::string, std::string>>& query,
                                     const header_list& headers, std::size_t content_length);

}  // namespace stratum
