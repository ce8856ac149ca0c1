// id_map / owner_map (catalog/publish/owner_map.hpp): cvmfs_server's map-file
// syntax, what is refused (with the file and line), mapping, the default,
// serialising back, and composing two maps.
#include "catalog/publish/owner_map.hpp"

#include "async/error.hpp"
#include "support.hpp"

using namespace stratum;

namespace {

std::string usage_message(std::string_view text) {
  try {
    id_map::parse(text, "maps/uid.map");
  } catch (const std::exception& e) {
    CHECK(is(e, errc::usage));
    return e.what();
  }
  FAIL("no error for: " << text);
  return {};
}

}  // namespace

TEST_CASE("id_map: rules, comments, blank lines and whitespace, as cvmfs_server's uid_map.h reads them") {
  auto m = id_map::parse("# map 137 and 138 to 1000\n137  1000\n\t138\t1000  # trailing comment\n\n  101 5\r\n5 101\n",
                         "f");
  CHECK(m.map(137) == 1000);
  CHECK(m.map(138) == 1000);
  CHECK(m.map(101) == 5);
  CHECK(m.map(5) == 101);
  CHECK(m.map(0) == 0);  // no rule, no default: unchanged
  CHECK(m.map(4294967295u) == 4294967295u);
  CHECK_FALSE(m.empty());
  CHECK(id_map::parse("", "f").empty());
  CHECK(id_map::parse("# only a comment\n\n   \n", "f").empty());
  CHECK(id_map::parse("0 4294967295", "f").map(0) == 4294967295u);  // no newline at the end
}

TEST_CASE("id_map: '* TO' maps every id without a rule") {
  auto m = id_map::parse("1000 0\n* 65534\n", "f");
  CHECK(m.map(1000) == 0);
  CHECK(m.map(0) == 65534);
  CHECK(m.map(12345) == 65534);
  CHECK_FALSE(id_map::parse("* 0", "f").empty());
}

TEST_CASE("id_map: bad lines are usage errors naming the file and the line") {
  CHECK(usage_message("1 2\n\n1 2 3\n") == "map file 'maps/uid.map', line 3: a rule is 'FROM TO' or '* TO', not 3 field(s). Nothing was changed");
  CHECK(usage_message("1000\n").find("line 1: a rule is 'FROM TO' or '* TO', not 1 field(s)") != std::string::npos);
  CHECK(usage_message("# c\nalice 1000\n").find("line 2: 'alice' is not a decimal id") != std::string::npos);
  CHECK(usage_message("1000 root\n").find("line 1: 'root' is not a decimal id") != std::string::npos);
  CHECK(usage_message("-1 0\n").find("'-1' is not a decimal id") != std::string::npos);
  CHECK(usage_message("1 +2\n").find("'+2' is not a decimal id") != std::string::npos);
  CHECK(usage_message("1 0x10\n").find("'0x10' is not a decimal id") != std::string::npos);
  CHECK(usage_message("4294967296 0\n").find("line 1: id 4294967296 is above 4294967295") != std::string::npos);
  CHECK(usage_message("0 99999999999999999999999\n").find("is above 4294967295") != std::string::npos);
  CHECK(usage_message("* *\n").find("'*' is not a decimal id") != std::string::npos);
  CHECK(usage_message("1 2\n1 3\n").find("line 2: a second rule for id 1") != std::string::npos);
  CHECK(usage_message("* 2\n5 5\n* 3\n").find("line 3: a second '*' rule") != std::string::npos);
}

TEST_CASE("id_map: serialise reads back to the same map") {
  for (const char* text : {"", "5 6\n", "137 1000\n138 1000\n* 0\n", "* 7\n", "4294967295 0\n0 4294967295\n"}) {
    auto m = id_map::parse(text, "f");
    CHECK(id_map::parse(m.serialise(), "again") == m);
  }
  CHECK(id_map::parse("138 1\n* 9\n137 2\n", "f").serialise() == "137 2\n138 1\n* 9\n");
}

TEST_CASE("id_map::then composes: then(a, b).map(x) == b.map(a.map(x))") {
  const char* maps[] = {"", "1 2\n", "1 2\n2 3\n", "* 7\n", "1 2\n* 9\n", "2 1\n3 3\n7 4\n", "9 1\n* 2\n", "1 1\n5 6\n"};
  for (const char* ta : maps)
    for (const char* tb : maps) {
      auto a = id_map::parse(ta, "a"), b = id_map::parse(tb, "b");
      auto c = a.then(b);
      for (std::uint32_t x : {0u, 1u, 2u, 3u, 5u, 7u, 9u, 100u, 4294967295u}) {
        INFO("a=" << ta << " b=" << tb << " x=" << x);
        CHECK(c.map(x) == b.map(a.map(x)));
      }
    }
  CHECK(id_map{}.then(id_map{}).empty());
}

TEST_CASE("owner_map: uids and gids apart, empty only when both are") {
  owner_map o{id_map::parse("1000 0\n", "u"), {}};
  CHECK(o.map_uid(1000) == 0);
  CHECK(o.map_gid(1000) == 1000);
  CHECK_FALSE(o.empty());
  CHECK(owner_map{}.empty());
  auto both = o.then(owner_map{{}, id_map::parse("* 5\n", "g")});
  CHECK(both.map_uid(1000) == 0);
  CHECK(both.map_gid(1000) == 5);
}
