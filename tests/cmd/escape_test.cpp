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
