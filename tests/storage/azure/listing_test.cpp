// Azure Blob's XML answers read by storage/azure/listing: List Blobs pages
// shaped as the service writes them (a BOM, attributes, BlobPrefix, an
// empty NextMarker, a name with Encoded="true"), error bodies, and malformed
// input (errc::corrupt naming the operation, never a crash).
#include "async/error.hpp"
#include "storage/azure/listing.hpp"

#include "store_answers.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

using namespace stratum;
using namespace stratum::test;
using stratum::test::azure_list_answer;

namespace {
const std::string what = "List Blobs az://acct/c";
}  // namespace

TEST_CASE("a List Blobs page as Azure writes it, with an encoded name") {
  const std::string& body = azure_list_answer;
  auto page = parse_list_blobs(body, what);
  REQUIRE(page.blobs.size() == 3);
  CHECK(page.blobs[0].name == "repo/data/ab/ab12C");
  CHECK(page.blobs[0].size == 100);
  CHECK(page.blobs[0].modified == 1796032800);  // Mon, 30 Nov 2026 10:00:00 GMT
  CHECK(page.blobs[1].modified == 0);           // no <Last-Modified>: unknown
  CHECK(page.blobs[1].name == "repo/odd\xEF\xBF\xBEname %");  // U+FFFE, decoded
  CHECK(page.blobs[1].size == 5);
  CHECK(page.blobs[2].name == "repo/a%20b & c");  // not encoded: taken as written
  CHECK(page.next_marker == "2!108!MDAwMDM1IXJlcG8vYSBiICYgYyEwMDAwMjgh");
}

TEST_CASE("the last List Blobs page and an empty one") {
  auto last = parse_list_blobs(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" "
      "ContainerName=\"c\"><Prefix/><Marker/><MaxResults>14</MaxResults><Blobs><Blob><Name>x</Name><Properties>"
      "<Content-Length>3</Content-Length></Properties></Blob></Blobs><NextMarker/></EnumerationResults>",
      what);
  CHECK(last.blobs.size() == 1);
  CHECK(last.next_marker.empty());
  auto empty = parse_list_blobs("<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>", what);
  CHECK(empty.blobs.empty());
  CHECK(empty.next_marker.empty());
  auto no_blobs = parse_list_blobs("<EnumerationResults/>", what);
  CHECK(no_blobs.blobs.empty());
}

TEST_CASE("malformed List Blobs answers are errc::corrupt, with what is wrong") {
  const std::pair<std::string, std::string> cases[] = {
      {"", "not XML"},
      {"<EnumerationResults><Blobs><Blob><Name>a</Name>", "not XML"},
      {"<html>Service Unavailable</html>", "expected <EnumerationResults>, the answer is <html>"},
      {"<EnumerationResults><Blobs><Blob><Properties><Content-Length>1</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
       "without <Name>"},
      {"<EnumerationResults><Blobs><Blob><Name>a</Name></Blob></Blobs></EnumerationResults>", "without <Content-Length>"},
      {"<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Content-Length>ten</Content-Length></Properties></Blob></Blobs>"
       "</EnumerationResults>",
       "the size of 'a' is 'ten'"},
      {"<EnumerationResults><Blobs><Blob><Name Encoded=\"true\">a%4</Name><Properties><Content-Length>1</Content-Length></Properties>"
       "</Blob></Blobs></EnumerationResults>",
       "marked Encoded"},
      {"<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Last-Modified>2026-11-30T10:00:00Z</Last-Modified>"
       "<Content-Length>1</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
       "the <Last-Modified> of 'a': '2026-11-30T10:00:00Z' is not a time"},
      {"<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Last-Modified>Mon, 31 Nov 2026 10:00:00 GMT</Last-Modified>"
       "<Content-Length>1</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
       "is not a time"},
  };
  for (const auto& [body, says] : cases) {
    CAPTURE(body);
    expect_failure([&] { parse_list_blobs(body, what); }, errc::corrupt, what + ": ", says);
  }
}

TEST_CASE("Azure error bodies") {
  auto e = parse_azure_error("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ContainerNotFound</Code><Message>The "
                             "specified container does not exist.\nRequestId:8f2b5b7e-401e-0047-1c51-3b2f4b000000\nTime:2026-11-30T10:00:00.0000000Z"
                             "</Message></Error>");
  CHECK(e.code == "ContainerNotFound");
  CHECK(e.message.rfind("The specified container does not exist.\nRequestId:", 0) == 0);
  auto auth = parse_azure_error(R"(<?xml version="1.0" encoding="utf-8"?>
<Error>
  <Code>AuthenticationFailed</Code>
  <Message>Server failed to authenticate the request.</Message>
  <AuthenticationErrorDetail>The MAC signature found in the HTTP request is not the same as any computed signature.</AuthenticationErrorDetail>
</Error>)");
  CHECK(auth.code == "AuthenticationFailed");
  for (const std::string& other : {std::string(), std::string("<Error>"), std::string("<EnumerationResults/>"), std::string("plain text")}) {
    CAPTURE(other);
    CHECK(parse_azure_error(other).code.empty());
  }
}
