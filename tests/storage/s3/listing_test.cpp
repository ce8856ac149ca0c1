// S3's XML answers read by storage/s3/listing: ListObjectsV2 pages shaped as
// S3 writes them (namespace, pretty-printed or not, escaped ETags, url
// encoding-type), DeleteObjects results, error bodies, and malformed input
// (errc::corrupt naming the operation, never a crash).
#include "async/error.hpp"
#include "storage/s3/listing.hpp"

#include "store_answers.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

using namespace stratum;
using namespace stratum::test;
using stratum::test::s3_list_answer;

namespace {

const std::string what = "ListObjectsV2 s3://bucket/repo";

// errc::corrupt, with `what` and `says` in the message.
void check_corrupt(const std::string& body, const std::string& says) {
  CAPTURE(body);
  expect_failure([&] { parse_list_objects_v2(body, what); }, errc::corrupt, what + ": ", says);
}

}  // namespace

TEST_CASE("a ListObjectsV2 page as S3 writes it") {
  const std::string& body = s3_list_answer;
  auto page = parse_list_objects_v2(body, what);
  REQUIRE(page.objects.size() == 3);
  CHECK(page.objects[0].key == "repo/data/ab/ab12C");
  CHECK(page.objects[0].size == 434234);
  CHECK(page.objects[0].modified == 1796032800);  // 2026-11-30T10:00:00.000Z
  CHECK(page.objects[1].modified == 0);           // no <LastModified>: unknown
  CHECK(page.objects[1].key == "repo/with space & amp <> \xc3\xa9");
  CHECK(page.objects[1].size == 0);
  CHECK(page.objects[2].key == " ");  // a key of one space is kept
  CHECK(page.objects[2].size == 7);
  CHECK(page.truncated);
  CHECK(page.next_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST_CASE("the last ListObjectsV2 page, an empty one, a prefixed namespace, and url encoding") {
  auto last = parse_list_objects_v2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>", what);
  CHECK(!last.truncated);
  CHECK(last.objects.size() == 1);
  auto empty = parse_list_objects_v2(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><Prefix>none/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>",
      what);
  CHECK(empty.objects.empty());
  CHECK(!empty.truncated);
  auto prefixed = parse_list_objects_v2(
      "<s3:ListBucketResult xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\"><s3:Contents><s3:Key>a</s3:Key>"
      "<s3:Size>5</s3:Size></s3:Contents></s3:ListBucketResult>",
      what);
  REQUIRE(prefixed.objects.size() == 1);
  CHECK(prefixed.objects[0].key == "a");
  CHECK(prefixed.objects[0].size == 5);
  // encoding-type=url: S3 writes a space as '+' (botocore decodes with unquote_plus).
  auto encoded = parse_list_objects_v2(
      "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a+b%2Bc%0Ad%EF%BF%BF</Key><Size>1</Size></Contents>"
      "</ListBucketResult>",
      what);
  REQUIRE(encoded.objects.size() == 1);
  CHECK(encoded.objects[0].key == "a b+c\nd\xef\xbf\xbf");
}

TEST_CASE("malformed ListObjectsV2 answers are errc::corrupt, with what is wrong") {
  check_corrupt("", "not XML");
  check_corrupt("<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents>", "not XML");
  check_corrupt("<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents></ListBucket>", "not XML");
  check_corrupt("<html><body>502 Bad Gateway</body></html>", "expected <ListBucketResult>, the answer is <html>");
  check_corrupt("<Error><Code>InternalError</Code></Error>", "the answer is <Error>");
  check_corrupt("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", "without <Key>");
  check_corrupt("<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>", "without <Size>");
  check_corrupt("<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>", "the size of 'a' is '-1'");
  check_corrupt("<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999999</Size></Contents></ListBucketResult>",
                "not a size");
  check_corrupt("<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>", "<IsTruncated> is 'yes'");
  check_corrupt("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", "no <NextContinuationToken>");
  check_corrupt("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%zz</Key><Size>1</Size></Contents></ListBucketResult>",
                "not URL-encoded");
  check_corrupt(std::string("<ListBucketResult>\0</ListBucketResult>", 38), "not XML");
  for (const char* time : {"", "yesterday", "2026-11-30T10:00:00", "Mon, 30 Nov 2026 10:00:00 GMT", "2026-02-30T10:00:00.000Z"})
    check_corrupt(std::string("<ListBucketResult><Contents><Key>a</Key><LastModified>") + time + "</LastModified><Size>1</Size></Contents></ListBucketResult>",
                  "the <LastModified> of 'a': '" + std::string(time) + "' is not a time");
}

TEST_CASE("only XML's own entities are expanded: not HTML's, not a DTD's (no billion laughs)") {
  auto html = parse_list_objects_v2("<ListBucketResult><Contents><Key>&nbsp;</Key><Size>1</Size></Contents></ListBucketResult>", what);
  REQUIRE(html.objects.size() == 1);
  CHECK(html.objects[0].key == "&nbsp;");  // left as written
  const std::string body = R"(<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<ListBucketResult><Contents><Key>&b;</Key><Size>1</Size></Contents></ListBucketResult>)";
  auto page = parse_list_objects_v2(body, what);
  REQUIRE(page.objects.size() == 1);
  CHECK(page.objects[0].key == "&b;");  // left as written, not 100 a's
}

TEST_CASE("DeleteObjects results and S3 error bodies") {
  auto none = parse_delete_result(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></DeleteResult>", "DeleteObjects");
  CHECK(none.empty());
  auto failed = parse_delete_result(R"(<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted><Key>ok</Key></Deleted>
  <Error><Key>a &amp; b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
  <Error><Key>c</Key><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>
</DeleteResult>)",
                                    "DeleteObjects");
  REQUIRE(failed.size() == 2);
  CHECK(failed[0].key == "a & b");
  CHECK(failed[0].code == "AccessDenied");
  CHECK(failed[1].message == "We encountered an internal error.");
  CHECK_THROWS_WITH(parse_delete_result("<DeleteResult>", "DeleteObjects s3://b"), doctest::Contains("DeleteObjects s3://b: not XML"));

  auto e = parse_s3_error(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>nope</BucketName><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
  CHECK(e.code == "NoSuchBucket");
  CHECK(e.message == "The specified bucket does not exist");
  // Not an error document: empty, never an exception.
  for (const std::string& other : {std::string(), std::string("<html>502</html>"), std::string("<Error><Code>Slow"),
                                   std::string("\xff\xfe<"), std::string("<ListBucketResult/>")}) {
    CAPTURE(other);
    auto x = parse_s3_error(other);
    CHECK(x.code.empty());
  }
}
