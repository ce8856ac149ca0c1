// The JSON objects the commands print (`publish --json`, `load --json`,
// `info --json`, `diff --json`, `tag --json`,
// `list-catalogs --json`), one line each on standard output, built and serialised
// with Boost.JSON. Called on the I/O thread once the command's work is done.
//
// Names are bytes and JSON strings are Unicode: a string that holds a name
// (the store's path or URL) is written as escape_name shows it in the text
// output — \n, \t, \\ and \xHH for control characters, 0x7f and bytes that
// are not UTF-8 — so the output is valid UTF-8 JSON whatever the name holds.
// Once parsed, a byte 0xff reads as the four characters \xff and a backslash
// as two.
#pragma once

#include "catalog/publish/publisher.hpp"
#include "catalog/gc/collector.hpp"
#include "catalog/read/catalog_walk.hpp"
#include "catalog/read/differ.hpp"

#include <cstdint>
#include <string>

namespace stratum::cmd {

// What a publish (or load) reports.
struct publish_report {
  const publish_result& result;
  const publish_stats& stats;
  const retry_stats& requests;
  std::uint64_t journal_syncs = 0;
  std::string store;  // the store's name (backend::describe), raw bytes
  double seconds = 0;
};
std::string publish_json(const publish_report& r);

// What `info` reports about a repository's current revision.
std::string info_json(const std::string& store, const manifest& m, const catalog_stats& s, std::size_t tags);

// What `diff` reports: the paths added, removed and modified (each with the
// names of its changes, differ.hpp), each array in the catalogs' path order.
// `from` and `to`: the revisions as the command line named them.
std::string diff_json(const std::string& store, const std::string& from, const std::string& to, const diff_result& d);
// What `tag --json` reports: the store's revision and its tags (all of them,
// or the one `tag -i` names); each root catalog hash as `fmt` writes it.
std::string tags_json(const std::string& store, std::uint64_t revision, const std::vector<tag>& tags,
                      const format_reader& fmt);

// What `list-catalogs --json` writes: one JSON document, written as the walk
// goes (a catalog at a time, so memory does not grow with the catalog count):
//   {"store": S, "revision": N, "catalogs": [
//   {"path": "/pkg", "depth": 1, "hash": H, "key": K, "entries": E, "stored_size": B,
//    "inflated_size": B, "nested": N},
//   ...]}
// `hash` as `fmt` writes it (hash_text), `key` the object's store key.
std::string catalogs_json_open(const std::string& store, std::uint64_t revision);
std::string catalog_json(const catalog_row& r, const format_reader& fmt, bool first);
std::string catalogs_json_close();

// What `gc --json` reports: the revisions kept and the counts of the
// collection (would-be counts for a dry run).
std::string gc_json(const std::string& store, bool dry_run, const gc_result& r);
// `publish --gc --json`: the publish's line with the collection's object as "gc".
std::string with_gc_json(const std::string& publish_line, const std::string& store, const gc_result& r);

// What `catalog-chown --json` reports: whether a revision was made, from
// and to which revision, and the counts (files read: always 0).
struct chown_report {
  std::string store;
  bool published = false;
  std::uint64_t from = 0, revision = 0;
  std::uint64_t catalogs_rewritten = 0, catalogs_kept = 0, entries = 0, entries_mapped = 0, objects_sent = 0;
};
std::string chown_json(const chown_report& r);

}  // namespace stratum::cmd
