// The catalog tree of one revision, catalog by catalog: what `stratum
// list-catalogs` prints (the shape of cvmfs_swissknife lsrepo). Each catalog
// is read, summarised (path, depth, object name and sizes, weight) and
// dropped before the walk goes on, so memory depends on the depth of the
// tree and the number of nested references on its path, not on how many
// catalogs there are. Thread: the I/O thread that awaits it; catalogs are
// inflated and decoded on the CPU pool by repository::read_root/read_nested.
#pragma once

#include "catalog/read/repository.hpp"

#include <functional>

namespace stratum {

struct catalog_row {
  std::string path;              // the catalog's root path, "" for the revision's root catalog
  unsigned depth = 0;            // 0: the root catalog; 1: a catalog nested in it; ...
  hash256 hash;                  // its object's name (format_reader::hash_text writes it)
  std::uint64_t weight = 0;      // catalog_weight (catalog/format/catalog.hpp): its rows
  std::uint64_t stored_size = 0;    // bytes of the object in the store
  std::uint64_t inflated_size = 0;  // bytes of the catalog it inflates to
  std::uint64_t nested = 0;      // catalogs nested directly in it
};

// Calls `visit` for every catalog of the revision whose root catalog is
// `root`, depth-first in pre-order: a catalog, then the subtree of each of
// its nested catalogs in path order (so the depth of the next row is at most
// one more). Every catalog gets the checks of any read (its object's name,
// size, decoding, validator.hpp, its mount point). Up to `siblings` nested
// catalogs of one parent are fetched at once. Turns the repository's catalog
// cache off (keep_catalogs(false)). Throws errc::corrupt / not_found naming
// the first catalog that cannot be read; rows already visited stay visited.
// `root` and `visit` are taken by value: a coroutine outlives the caller's
// temporaries.
awaitable<void> walk_catalogs(repository& repo, hash256 root, std::function<void(const catalog_row&)> visit,
                              std::size_t siblings = 8);

}  // namespace stratum
