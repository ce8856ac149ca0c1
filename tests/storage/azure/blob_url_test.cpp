// Azure container URLs as the portal and azcopy write them (storage/azure/blob_url).
#include "async/error.hpp"
#include "storage/azure/blob_url.hpp"

#include <doctest/doctest.h>

using namespace stratum;

TEST_CASE("https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]") {
  const std::string sas = "sv=2021-08-06&ss=b&srt=co&sp=racwdl&se=2035-01-01T00%3A00%3A00Z&sig=abc%2Bdef%3D";
  auto u = parse_azure_blob_url("https://myacct.blob.core.windows.net/repo/some/prefix?" + sas);
  CHECK(u.account == "myacct");
  CHECK(u.container == "repo");
  CHECK(u.prefix == "some/prefix");
  CHECK(u.sas == sas);  // as written: it is appended to every request as it is
  CHECK(u.az() == "az://myacct/repo/some/prefix");
  auto bare = parse_azure_blob_url("https://MyAcct.Blob.Core.Windows.Net/repo/");
  CHECK(bare.account == "myacct");
  CHECK(bare.container == "repo");
  CHECK(bare.prefix.empty());
  CHECK(bare.sas.empty());
  CHECK(bare.az() == "az://myacct/repo");
  CHECK(parse_azure_blob_url("https://a.blob.core.windows.net/c/with%20space/x").prefix == "with space/x");
}

TEST_CASE("other https:// URLs are usage errors that never show the SAS") {
  for (const std::string& bad : {std::string("https://example.com/repo?sig=SECRET"), std::string("https://blob.core.windows.net/repo?sig=SECRET"),
                                 std::string("https://a.blob.core.windows.net?sig=SECRET"), std::string("https://a.blob.core.windows.net/?sig=SECRET"),
                                 std::string("https://a.blob.core.windows.net:444/repo?sig=SECRET"),
                                 std::string("https://user@a.blob.core.windows.net/repo?sig=SECRET"),
                                 std::string("https://a.blob.core.windows.net/repo#x?sig=SECRET"),
                                 std::string("https://a.blob.core.windows.net/re po?sig=SECRET")}) {
    CAPTURE(bad);
    try {
      parse_azure_blob_url(bad);
      FAIL("accepted");
    } catch (const std::exception& e) {
      const std::string m = e.what();
      CHECK(is(e, errc::usage));
      CHECK(m.find("https://ACCOUNT.blob.core.windows.net/CONTAINER") != std::string::npos);
      CHECK(m.find("SECRET") == std::string::npos);
    }
  }
}
