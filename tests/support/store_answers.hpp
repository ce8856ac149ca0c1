// Answers as S3 and Azure write them, shared by the listing unit tests and the
// fuzz targets' seeds (tests/fuzz/make_seeds.cpp). Thread: any (constants).
#pragma once

#include <string>

namespace stratum::test {

// A ListObjectsV2 page: three keys (one with entities, one a space), truncated.
inline const std::string s3_list_answer = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
    <Name>bucket</Name>
    <Prefix>repo/data/</Prefix>
    <KeyCount>3</KeyCount>
    <MaxKeys>3</MaxKeys>
    <IsTruncated>true</IsTruncated>
    <Contents>
        <Key>repo/data/ab/ab12C</Key>
        <LastModified>2026-11-30T10:00:00.000Z</LastModified>
        <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
        <Size>434234</Size>
        <StorageClass>STANDARD</StorageClass>
    </Contents>
    <Contents><Key>repo/with space &amp; amp &lt;&gt; &#233;</Key><Size>0</Size></Contents>
    <Contents>
        <Key> </Key>
        <Size>
          7
        </Size>
    </Contents>
    <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";

// A List Blobs page with a byte-order mark, a prefix, an Encoded="true" name
// and an Encoded="false" one.
inline const std::string azure_list_answer = "\xEF\xBB\xBF" R"(<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://acct.blob.core.windows.net/" ContainerName="c">
  <Prefix>repo/</Prefix>
  <MaxResults>3</MaxResults>
  <Blobs>
    <Blob>
      <Name>repo/data/ab/ab12C</Name>
      <Properties>
        <Creation-Time>Mon, 30 Nov 2026 10:00:00 GMT</Creation-Time>
        <Last-Modified>Mon, 30 Nov 2026 10:00:00 GMT</Last-Modified>
        <Etag>0x8CBFF45D8A29A19</Etag>
        <Content-Length>100</Content-Length>
        <Content-Type>application/octet-stream</Content-Type>
        <Content-MD5>sQqNsWTgdUEFt6mb5y4/5Q==</Content-MD5>
        <BlobType>BlockBlob</BlobType>
      </Properties>
      <OrMetadata />
    </Blob>
    <BlobPrefix><Name>repo/dir/</Name></BlobPrefix>
    <Blob><Name Encoded="true">repo/odd%EF%BF%BEname%20%25</Name><Properties><Content-Length>5</Content-Length></Properties></Blob>
    <Blob><Name Encoded="false">repo/a%20b &amp; c</Name><Properties><Content-Length>0</Content-Length></Properties></Blob>
  </Blobs>
  <NextMarker>2!108!MDAwMDM1IXJlcG8vYSBiICYgYyEwMDAwMjgh</NextMarker>
</EnumerationResults>)";

}  // namespace stratum::test
