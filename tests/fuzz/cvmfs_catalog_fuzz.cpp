// Fuzz target: cvmfs::read_catalog (catalog/format/cvmfs/catalog_sql.hpp),
// the reader of a CernVM-FS catalog — an SQLite database — from a store.
// Besides SQLite's own robustness on a damaged file (opened read-only,
// defensive, quick_check first), checks what the reader promises: valid
// relative paths in pre-order under the root, chunks that add up without
// wrapping, nested references of size > 0, and that what it accepts encodes
// again and that encoding is stable (decode + encode gives the same bytes).
// Runs on the fuzzer's thread.
#include "catalog/format/cvmfs/catalog_schema.hpp"
#include "catalog/format/cvmfs/catalog_sql.hpp"
#include "fuzz.hpp"

using namespace stratum;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cvmfs::decoded_catalog d;
  if (!fuzz::accepts([&] { d = cvmfs::read_catalog(fuzz::view(data, size), "fuzz", cvmfs::algorithm::sha1); }))
    return 0;
  const auto& c = d.tree;
  fuzz::require(!c.entries.empty() && c.entries[0].path == c.root_path, "accepted a catalog without its root entry");
  for (std::size_t i = 0; i < c.entries.size(); ++i) {
    const auto& x = c.entries[i];
    fuzz::require(valid_path(x.path), "accepted an entry path with an empty, '.' or '..' component");
    fuzz::require(path_within(x.path, c.root_path), "accepted an entry outside the catalog's root");
    if (i > 0) fuzz::require(path_before(c.entries[i - 1].path, x.path), "accepted entries out of order");
    std::uint64_t sum = 0;
    for (const auto& ch : x.chunks) {
      fuzz::require(ch.size <= x.size - sum, "accepted chunk sizes that exceed the file's size (wrapping sum)");
      sum += ch.size;
    }
    fuzz::require(x.chunks.empty() || sum == x.size, "accepted chunk sizes that do not add up to the file's size");
    fuzz::require(x.type != entry_type::regular || x.size == 0 || x.object || !x.chunks.empty(),
                  "accepted a non-empty file without content");
  }
  for (const auto& n : c.nested) fuzz::require(!n.size || *n.size > 0, "accepted a nested catalog of size 0");

  // The nested catalogs' summaries are not in this catalog: re-encode
  // without nested catalogs only, with the stats that then follow.
  if (!c.nested.empty()) return 0;
  auto tree = c;
  auto p = d.params;
  for (auto& e : tree.entries) e.nested_root = false;
  tree.stats = cvmfs::schema::native_stats(cvmfs::count_catalog(tree, p));
  bytes once, twice;
  fuzz::require(fuzz::accepts([&] { once = cvmfs::encode_catalog(tree, p); }, {errc::usage}),
                "an accepted catalog does not encode");
  fuzz::require(fuzz::accepts([&] {
                  auto again = cvmfs::read_catalog(once, "fuzz re-encoded", cvmfs::algorithm::sha1);
                  twice = cvmfs::encode_catalog(again.tree, again.params);
                }),
                "the re-encoding of an accepted catalog does not decode");
  fuzz::require(once == twice, "decoding and encoding an encoded catalog changes its bytes");
  return 0;
}
