// Azure's account key as users give it (storage/azure/shared_key).
#include "async/error.hpp"
#include "storage/azure/shared_key.hpp"
#include "storage/store_util.hpp"

#include <doctest/doctest.h>

using namespace stratum;

namespace {
// Azurite's well-known key (docs/TESTING.md).
const std::string key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
}  // namespace

TEST_CASE("the account key is decoded without the whitespace around it") {
  const std::string raw = decode_account_key(key, "az://a/c");
  CHECK(raw.size() == 64);
  CHECK(store_util::base64(reinterpret_cast<const unsigned char*>(raw.data()), raw.size()) == key);
  for (const std::string& padded : {key + "\n", key + "\r\n", " " + key + " \t\n", "\n" + key}) {
    CAPTURE(padded);
    CHECK(decode_account_key(padded, "az://a/c") == raw);
  }
}

TEST_CASE("an account key that is not base64 is a usage error that names the variable, not the key") {
  for (const std::string& bad : {std::string("not a key!"), key.substr(0, key.size() - 1), key + "x", std::string("   "),
                                 key.substr(0, 20) + "\n" + key.substr(20)}) {
    CAPTURE(bad);
    try {
      decode_account_key(bad, "az://acct/container");
      FAIL("accepted");
    } catch (const std::exception& e) {
      const std::string what = e.what();
      CHECK(is(e, errc::usage));
      CHECK(what.find("AZURE_STORAGE_KEY is not valid base64") != std::string::npos);
      CHECK(what.find("az://acct/container") != std::string::npos);
      CHECK(what.find(key.substr(0, 8)) == std::string::npos);
      CHECK(what.find(bad) == std::string::npos);
    }
  }
}
