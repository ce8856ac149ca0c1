// `stratum list-catalogs`: the catalog tree of a revision, one line a catalog
// (as cvmfs_server list-catalogs prints it), or one JSON document. The walk is
// catalog/read/catalog_walk.hpp. Thread: the main thread, which runs the
// io_context.
#include "async/error.hpp"
#include "catalog/read/catalog_walk.hpp"
#include "catalog/read/differ.hpp"
#include "cmd/command.hpp"
#include "cmd/json.hpp"

#include <cstdio>

namespace stratum::cmd {
namespace {

void put(const std::string& s) {
  if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) fail(errc::permanent, "cannot write to standard output");
}

// The tree's prefix of a row at `depth`, as lsrepo draws it.
std::string indent(unsigned depth) {
  std::string s;
  for (unsigned i = 1; i < depth; ++i) s += "\u2502  ";
  if (depth > 0) s += "\u251c\u2500 ";
  return s;
}

awaitable<int> do_list_catalogs(parsed_args& a) {
  std::unique_ptr<backend> store;
  auto repo = co_await open_repo(a.positional[0], a, store);
  const auto [root, revision] = chosen_revision(*repo, a);
  const bool json = a.has("json"), entries = a.has("entries"), sizes = a.has("sizes"), hashes = a.has("hashes");
  const auto& fmt = repo->format();
  if (json) put(catalogs_json_open(store->describe(), revision));
  bool first = true;
  // Rows are written as they come, flushed by stdio: memory and the wait for
  // the first line do not grow with the number of catalogs.
  co_await walk_catalogs(*repo, root, [&](const catalog_row& r) {
    if (json) {
      put(catalog_json(r, fmt, first));
      first = false;
      return;
    }
    std::string line = indent(r.depth);
    if (hashes) line += fmt.hash_text(r.hash) + " ";
    if (sizes) line += std::to_string(r.stored_size) + "B/" + std::to_string(r.inflated_size) + "B ";
    if (entries) line += std::to_string(r.weight) + " ";
    line += escape_name("/" + r.path) + "\n";
    put(line);
  });
  if (json) put(catalogs_json_close());
  std::fflush(stdout);
  co_return ok;
}

}  // namespace

std::vector<command> list_catalogs_commands() {
  return {{"list-catalogs", "list-catalogs STORE [--tag NAME | --revision N] [-e] [-s] [-x] [--json]",
           "Shows the catalog tree of the current revision (or of a tag, or of a revision number the\n"
           "history lists): one line a catalog, its path (\"/\" for the root catalog), indented by its\n"
           "depth below the root catalog, nested catalogs after their parent in path order. Each catalog\n"
           "is read and verified as any read does, one at a time.\n\n"
           "  -e, --entries       the catalog's entries: every row it holds, which is its root directory,\n"
           "                      the mount point of each catalog nested directly in it, and everything\n"
           "                      else it holds directly (nothing inside its nested catalogs). The same\n"
           "                      count automatic catalogs weigh\n"
           "  -s, --sizes         STOREDB/INFLATEDB: the bytes of the catalog's object in the store\n"
           "                      (compressed) and of the catalog it inflates to\n"
           "  -x, --hashes        the catalog's object name, as the repository's format writes it\n"
           "                      (CernVM-FS: hex digits and the algorithm's suffix)\n"
           "  --json              one JSON document: store, revision and an array catalogs of objects\n"
           "                      {path, depth, hash, key (its store key), entries, stored_size,\n"
           "                      inflated_size, nested (catalogs directly in it)}, in the same order\n"
           "Columns are printed in the order hash, sizes, entries, path.\n",
           with_read_options({opt_tag, {"revision", 0, true}, {"entries", 'e'}, {"sizes", 's'}, {"hashes", 'x'}, {"json"}, opt_help}),
           1, 1, do_list_catalogs}};
}

}  // namespace stratum::cmd
