// The file system a mount shows: one revision's tree, as inode numbers the
// kernel can hold, read lazily from the repository's catalogs.
//
// Inode numbers are computed, not tabled: each catalog in use gets a base
// when it is loaded, and an entry's inode is base + its index in the catalog
// (a hardlink group's members share the index of its first member, so they
// share an inode). The kernel's references (lookup/forget) are counted per
// catalog, which stays loaded while any is held, or while it is among the
// recently used. The root directory is inode 1, whatever its revision.
//
// A catalog is fetched when a lookup or listing reaches its mount point
// (repository::load_nested, with every check a reader makes); concurrent
// requests for one catalog fetch it once. Each catalog gets a child index when
// loaded (one pass over its pre-order entries), so a lookup is a binary search
// and a listing is a slice.
//
// --follow: show() switches to a newer revision's root; only new lookups
// from the root see it. Inodes of the old revision stay valid until the
// kernel forgets them, and open files hold their own content list.
//
// Thread: the I/O thread (every call); indexing runs on the CPU pool.
#pragma once

#include "async/flight.hpp"
#include "catalog/read/repository.hpp"

#include <list>
#include <sys/stat.h>

namespace stratum {

// What reading a regular file needs, taken at open: later revisions do not
// change it.
struct file_content {
  struct unit {
    std::uint64_t offset = 0, size = 0;
    hash256 hash;
    object_kind kind = object_kind::file;
  };
  std::uint64_t size = 0;
  std::vector<unit> units;  // in file order, covering [0, size)
  // The unit holding byte `at` (at < size).
  std::size_t unit_at(std::uint64_t at) const;
};

// A file small_files_below() found: its inode and its one object; `named`
// when it is a child of the directory listed (the kernel has its inode once
// the listing's readdirplus reply was read).
struct small_file {
  std::uint64_t ino = 0;
  file_content::unit unit;
  bool named = false;
};

struct dir_row {
  std::string name;
  std::uint64_t ino = 0;
  std::uint32_t mode = 0;  // st_mode (type bits are what readdir uses)
};

struct mount_tree_stats {
  std::uint64_t catalogs_loaded = 0, catalogs_live = 0, entries_live = 0;
};

class mount_tree {
 public:
  static constexpr std::uint64_t root_ino = 1;

  mount_tree(repository& repo, asio::thread_pool& cpu) : repo_(&repo), cpu_(cpu) {}

  // Shows revision `revision`, whose root catalog is `root` (loaded now, so
  // a bad one is refused before anything is mounted). Returns the names in
  // the root directories of the previous revision and this one, which the
  // kernel must forget (empty the first time, or when nothing changed).
  awaitable<std::vector<std::string>> show(repository& repo, hash256 root, std::uint64_t revision);
  std::uint64_t revision() const { return revision_; }

  // `name` in directory `parent`: its attributes, one more kernel reference
  // counted; nullopt when there is no such entry. Throws errc::corrupt (and
  // what fetching throws) when a catalog on the way cannot be read.
  awaitable<std::optional<struct stat>> lookup(std::uint64_t parent, std::string name);
  // The attributes of `ino` (a row of list()) with one more kernel
  // reference counted, for a listing that gives attributes (readdirplus);
  // nullopt for a mount point whose catalog is not loaded (its number in the
  // listing is provisional: the kernel looks it up instead).
  std::optional<struct stat> hold(std::uint64_t ino);
  // The kernel dropped `n` references to `ino`.
  void forget(std::uint64_t ino, std::uint64_t n);
  // Errors a file system gives (ESTALE, ENOTDIR, EISDIR, EINVAL) are thrown
  // as std::system_error in std::generic_category; the rest are stratum's.
  // ESTALE for an inode the kernel cannot hold.
  struct stat attr(std::uint64_t ino) const;
  // The directory's entries in name order (without "." and "..").
  awaitable<std::vector<dir_row>> list(std::uint64_t ino);
  const std::string& link(std::uint64_t ino) const;
  // Up to `most` files stored whole, of at most `max_size` bytes, below
  // directory `ino` in its catalog, in pre-order (a depth-first walker's
  // order): what a mount prefetches when the directory is listed.
  // A directory below one listed before continues where that listing's
  // scan stopped (each file is scanned once in a walk; `continued` says so:
  // these files come after those found before).
  std::vector<small_file> small_files_below(std::uint64_t ino, std::uint64_t max_size, std::size_t most, bool& continued);
  std::shared_ptr<const file_content> content(std::uint64_t ino) const;

  // Extended attributes: the entry's own, then (by name only, not listed,
  // so copies made from the mount do not gain them) user.stratum.revision,
  // user.stratum.catalog, user.stratum.hash (a file stored whole) and
  // user.stratum.chunks (a chunked file: its chunk count).
  std::vector<std::string> xattr_names(std::uint64_t ino) const;
  std::optional<std::string> xattr(std::uint64_t ino, const std::string& name) const;

  // "/" + the entry's path, for messages.
  std::string path(std::uint64_t ino) const;

  // Totals of the revision shown, for statfs.
  const catalog_stats& totals() const;
  mount_tree_stats stats() const;

  struct indexed;  // a loaded catalog with its child index (mount_tree.cpp)

 private:
  struct where {
    indexed* cat = nullptr;
    std::uint32_t index = 0;
  };
  where at(std::uint64_t ino) const;
  const entry& entry_of(const where& w) const;
  std::uint64_t ino_of(const indexed& c, std::uint32_t index) const;
  struct stat stat_of(const indexed& c, std::uint32_t index, std::uint64_t ino) const;
  // The catalog and index whose children are directory `w`'s, loading the
  // nested catalog when `w` is its mount point.
  awaitable<where> inside(where w);
  awaitable<std::shared_ptr<indexed>> load(const hash256& h, std::shared_ptr<const catalog> parent, const entry* mount);
  std::shared_ptr<indexed> adopt(std::shared_ptr<indexed> c);
  void used(indexed& c);
  void maybe_drop(indexed& c);

  repository* repo_;
  asio::thread_pool& cpu_;
  std::shared_ptr<indexed> root_;
  std::uint64_t revision_ = 0;
  std::uint64_t next_base_ = 2;  // inode 1 is the root
  std::map<hash256, std::shared_ptr<indexed>> by_hash_;
  std::map<std::uint64_t, indexed*> by_base_;
  std::list<indexed*> recent_;      // recently used, most recent last
  std::uint64_t recent_entries_ = 0;
  flight_map<hash256, std::shared_ptr<indexed>> loading_;
  std::uint64_t loaded_ = 0;
};

}  // namespace stratum
