// The stores' shared helpers (storage/store_util): strict base64 and trim.
#include "async/error.hpp"
#include "storage/store_util.hpp"

#include <doctest/doctest.h>

using namespace stratum;
using namespace stratum::store_util;

TEST_CASE("unbase64 decodes standard base64 and refuses anything else") {
  CHECK(unbase64("") == std::string());
  CHECK(unbase64("Zg==") == std::string("f"));
  CHECK(unbase64("Zm8=") == std::string("fo"));
  CHECK(unbase64("Zm9v") == std::string("foo"));
  CHECK(unbase64("Zm9vYmFy") == std::string("foobar"));
  CHECK(unbase64("+/+/") == std::string("\xfb\xff\xbf"));
  const std::string all = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
    return s;
  }();
  auto text = base64(reinterpret_cast<const unsigned char*>(all.data()), all.size());
  CHECK(unbase64(text) == all);
  // Each of these decoded to something under EVP_DecodeBlock.
  for (const char* bad : {"Zm9v\n", " Zm9v", "Zm9", "Zm9v=", "Z===", "====", "Zg=a", "Zg==Zg==", "Zm-v", "Zm_v", "Zm9v\r\n"}) {
    CAPTURE(bad);
    CHECK(!unbase64(bad));
  }
}

TEST_CASE("trim drops ASCII whitespace at both ends only") {
  CHECK(trim("  a b \r\n\t") == "a b");
  CHECK(trim("\n") == "");
  CHECK(trim("") == "");
  CHECK(trim("x") == "x");
}

TEST_CASE("parse_size reads decimal sizes and calls anything else corrupt, with context") {
  CHECK(parse_size("0", "x") == 0);
  CHECK(parse_size("", "x") == 0);
  CHECK(parse_size(" 1234\n", "x") == 1234);
  CHECK(parse_size("18446744073709551615", "x") == 18446744073709551615ull);
  for (const char* bad : {"-1", "+1", "12a", "1.5", "0x10", "18446744073709551616", "size"}) {
    CAPTURE(std::string(bad));
    try {
      parse_size(bad, "List Blobs az://a/c: the size of 'k'");
      FAIL("accepted");
    } catch (const std::exception& e) {
      CHECK(is(e, errc::corrupt));
      CHECK(std::string(e.what()).find("List Blobs az://a/c: the size of 'k' is '" + std::string(bad) + "'") != std::string::npos);
    }
  }
}

TEST_CASE("percent_decode") {
  CHECK(percent_decode("a%20b%2Fc%2fd", false) == std::string("a b/c/d"));
  CHECK(percent_decode("a+b", false) == std::string("a+b"));
  CHECK(percent_decode("a+b", true) == std::string("a b"));
  CHECK(percent_decode("%EF%BF%BE", false) == std::string("\xEF\xBF\xBE"));
  CHECK(percent_decode("", false) == std::string());
  for (const char* bad : {"%", "%2", "a%g0", "%%", "abc%2"}) {
    CAPTURE(std::string(bad));
    CHECK(!percent_decode(bad, false));
  }
}
