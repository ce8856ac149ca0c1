// The catalog layout pass (catalog/publish/catalog_layout.hpp): markers,
// dirtab rules, automatic splits within the weights, merges below the
// minimum, and the same layout again after an unrelated change.
#include "catalog/publish/catalog_layout.hpp"
#include "catalog/publish/record.hpp"
#include "stage_fixture.hpp"

#include <map>
#include <sys/stat.h>

using namespace stratum;
using namespace stratum::test;

namespace {

void put(stage_fixture& f, const std::string& path, std::uint32_t mode, std::uint64_t run) {
  pj::entry_record r;
  r.st.mode = mode;
  r.listed_run = S_ISDIR(mode) ? run : 0;
  f.j->put(pj::entry_key(path), pj::encode_entry(r));
}

// A directory with `files` empty files in it.
void dir(stage_fixture& f, const std::string& path, int files, std::uint64_t run = 1) {
  put(f, path, S_IFDIR | 0755, run);
  for (int i = 0; i < files; ++i) put(f, (path.empty() ? "" : path + "/") + "f" + std::to_string(i), S_IFREG | 0644, run);
}

// Every layout record: path -> (reason, run).
std::map<std::string, std::pair<pj::catalog_reason, std::uint64_t>> layout(stage_fixture& f) {
  std::map<std::string, std::pair<pj::catalog_reason, std::uint64_t>> out;
  auto cur = f.j->scan();
  cur->seek(pj::prefix_begin('l'), pj::prefix_end('l'));
  for (; cur->valid(); cur->next()) {
    auto r = pj::decode_layout_record(cur->value(), cur->key());
    out[pj::key_path(cur->key().substr(1))] = {r.reason, r.run};
  }
  return out;
}

std::map<std::string, pj::catalog_reason> reasons(stage_fixture& f, std::uint64_t run) {
  std::map<std::string, pj::catalog_reason> out;
  for (auto& [p, r] : layout(f))
    if (r.second == run) out[p] = r.first;
  return out;
}

using R = pj::catalog_reason;

}  // namespace

TEST_CASE("markers and dirtab rules root catalogs, exclusions and unmatched directories do not") {
  stage_fixture f;
  dir(f, "", 1);
  dir(f, "sw", 0);
  dir(f, "sw/a", 2);
  dir(f, "sw/a/1.0", 2);
  dir(f, "sw/a/repo.git", 1);
  dir(f, "sw/b", 0);
  dir(f, "sw/b/2.0", 1);
  dir(f, "doc", 1);
  put(f, "doc/.stratumcatalog", S_IFREG | 0644, 1);
  layout_options o;
  o.rules = dirtab::parse("/sw/*/*\n! *.git\n", "tab");
  auto st = plan_catalogs(*f.j, 1, o, *f.fmt);
  CHECK(reasons(f, 1) == std::map<std::string, R>{{"doc", R::marker}, {"sw/a/1.0", R::dirtab}, {"sw/b/2.0", R::dirtab}});
  CHECK(st.nested == 3);
  CHECK(st.by_dirtab == 2);
  CHECK(st.by_marker == 1);
  CHECK(*catalog_reason_of(*f.j, "sw/a/1.0", 1) == R::dirtab);
  CHECK_FALSE(catalog_reason_of(*f.j, "sw/a/1.0", 2));  // another run's layout is not this one's
  CHECK_FALSE(catalog_reason_of(*f.j, "sw/a", 1));

  // The dirtab changes: the catalogs follow, stale records are dropped.
  o.rules = dirtab::parse("/sw/*\n", "tab");
  for (auto p : {"", "sw", "sw/a", "sw/a/1.0", "sw/a/repo.git", "sw/b", "sw/b/2.0", "doc"}) put(f, p, S_IFDIR | 0755, 2);
  plan_catalogs(*f.j, 2, o, *f.fmt);
  CHECK(layout(f).size() == 3);
  CHECK(reasons(f, 2) == std::map<std::string, R>{{"doc", R::marker}, {"sw/a", R::dirtab}, {"sw/b", R::dirtab}});
}

TEST_CASE("autocatalogs split the heaviest subdirectories off until the rest weighs half the maximum") {
  stage_fixture f;
  dir(f, "", 2);
  dir(f, "big", 30);         // 31 entries
  dir(f, "mid", 14);         // 15
  dir(f, "small", 2);        // 3: below the minimum, never split off
  dir(f, "deep", 1);
  dir(f, "deep/er", 1);
  dir(f, "deep/er/est", 40); // 41: too heavy for deep's own catalog
  layout_options o;
  o.autocatalogs = true;
  o.max_weight = 40;
  o.min_weight = 5;
  auto st = plan_catalogs(*f.j, 1, o, *f.fmt);
  // deep/er/est (41 > 40) cannot split (no subdirectories) but is split off
  // from deep/er (43 > 40). The root (1 + 2 + 31 + 15 + 3 + 1 + 1 + 1 + 1)
  // = 57 > 40 splits big (31) off: 27 > 20, then mid (15): 13.
  CHECK(reasons(f, 1) == std::map<std::string, R>{{"big", R::automatic}, {"deep/er/est", R::automatic}, {"mid", R::automatic}});
  CHECK(st.split_off == 3);
  // A resumed run plans again from its own layout: the same catalogs, and
  // it still reports the splits its first plan made.
  auto resumed = plan_catalogs(*f.j, 1, o, *f.fmt);
  CHECK(reasons(f, 1) == std::map<std::string, R>{{"big", R::automatic}, {"deep/er/est", R::automatic}, {"mid", R::automatic}});
  CHECK(resumed.split_off == 3);
  CHECK(resumed.nested == 3);

  // An unrelated file changes nothing; run 2 lists the same tree plus one.
  for (auto p : {"", "big", "mid", "small", "deep", "deep/er", "deep/er/est"}) put(f, p, S_IFDIR | 0755, 2);
  put(f, "small/new", S_IFREG | 0644, 2);
  auto again = plan_catalogs(*f.j, 2, o, *f.fmt);
  CHECK(reasons(f, 2) == std::map<std::string, R>{{"big", R::automatic}, {"deep/er/est", R::automatic}, {"mid", R::automatic}});
  CHECK(again.split_off == 0);
  CHECK(again.merged == 0);

  // mid loses files: its catalog (1 + 3) falls below the minimum and merges.
  for (int i = 3; i < 14; ++i) f.j->erase(pj::entry_key("mid/f" + std::to_string(i)));
  for (auto p : {"", "big", "mid", "small", "deep", "deep/er", "deep/er/est"}) put(f, p, S_IFDIR | 0755, 3);
  auto merged = plan_catalogs(*f.j, 3, o, *f.fmt);
  CHECK(reasons(f, 3) == std::map<std::string, R>{{"big", R::automatic}, {"deep/er/est", R::automatic}});
  CHECK(merged.merged == 1);
  CHECK(layout(f).size() == 2);

  // Without --autocatalogs the automatic catalogs stay as they are.
  for (auto p : {"", "big", "mid", "small", "deep", "deep/er", "deep/er/est"}) put(f, p, S_IFDIR | 0755, 4);
  plan_catalogs(*f.j, 4, layout_options{}, *f.fmt);
  CHECK(reasons(f, 4) == std::map<std::string, R>{{"big", R::automatic}, {"deep/er/est", R::automatic}});
}

TEST_CASE("a directory this run could not list keeps the layout below it for a later run") {
  stage_fixture f;
  dir(f, "", 0);
  dir(f, "a", 0);
  dir(f, "a/b", 1);
  put(f, "a/b/.stratumcatalog", S_IFREG | 0644, 1);
  plan_catalogs(*f.j, 1, {}, *f.fmt);
  CHECK(reasons(f, 1).count("a/b"));
  put(f, "", S_IFDIR | 0755, 2);
  put(f, "a", S_IFDIR | 0755, 1);  // not listed by run 2
  plan_catalogs(*f.j, 2, {}, *f.fmt);
  CHECK(reasons(f, 2).empty());
  CHECK(layout(f).count("a/b"));  // kept, as run 1's
}

TEST_CASE("weights: a maximum below the minimum is refused") {
  stage_fixture f;
  dir(f, "", 1);
  layout_options o;
  o.autocatalogs = true;
  o.max_weight = 10;
  o.min_weight = 20;
  CHECK_THROWS_WITH_AS(plan_catalogs(*f.j, 1, o, *f.fmt), doctest::Contains("--max-weight 10 is below --min-weight 20"),
                       std::system_error);
}
