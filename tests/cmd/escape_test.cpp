// How the command line shows names (cmd/cmd.hpp).
#include "cmd/cmd.hpp"
#include "support.hpp"

using namespace stratum;
using namespace stratum::test;

TEST_CASE("names are escaped for one-line display") {
  using stratum::cmd::escape_name;
  CHECK(escape_name("plain name") == "plain name");
  CHECK(escape_name("a\nb\tc\\") == "a\\nb\\tc\\\\");
  CHECK(escape_name("\xff-x") == "\\xff-x");
  CHECK(escape_name("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("names that are not well-formed UTF-8 are escaped byte by byte, so the result always is") {
  using stratum::cmd::escape_name;
  CHECK(escape_name("del\x7f") == "del\\x7f");
  CHECK(escape_name("\x01") == "\\x01");
  CHECK(escape_name("\xf0\x9f\x98\x80 \xc2\xa0") == "\xf0\x9f\x98\x80 \xc2\xa0");  // U+1F600, no-break space
  CHECK(escape_name("\xef\xbf\xbd") == "\xef\xbf\xbd");                            // U+FFFD
  CHECK(escape_name("\xf4\x8f\xbf\xbf") == "\xf4\x8f\xbf\xbf");                    // U+10FFFF, the last
  CHECK(escape_name("\xff\x80\x80") == "\\xff\\x80\\x80");         // no lead byte 0xf5..0xff
  CHECK(escape_name("\xc0\xaf") == "\\xc0\\xaf");                  // overlong '/'
  CHECK(escape_name("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");         // overlong '/', three bytes
  CHECK(escape_name("\xf0\x80\x80\xaf") == "\\xf0\\x80\\x80\\xaf");  // and four
  CHECK(escape_name("\xed\xa0\x80") == "\\xed\\xa0\\x80");         // a UTF-16 surrogate, U+D800
  CHECK(escape_name("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // U+110000, past Unicode
  CHECK(escape_name("\xe2\x82") == "\\xe2\\x82");                  // cut short
  CHECK(escape_name("\xe2\x82x") == "\\xe2\\x82x");
  CHECK(escape_name("\xc2\x9b[2J") == "\\xc2\\x9b[2J");            // C1 CSI: a terminal would obey it
}
