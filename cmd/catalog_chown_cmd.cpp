// `stratum catalog-chown STATE STORE -u UIDMAP -g GIDMAP`: maps the owners of
// every entry of the current revision as a new revision, as cvmfs_server
// catalog-chown does, and remembers the maps in STATE for later publishes;
// `--reset` forgets them (catalog/publish/catalog_chown.hpp does the work).
// Thread: the main thread, which runs the io_context.
#include "async/error.hpp"
#include "catalog/format/native_format.hpp"
#include "catalog/publish/catalog_chown.hpp"
#include "cmd/command.hpp"
#include "cmd/format_choice.hpp"
#include "cmd/json.hpp"
#include "cmd/state_settings.hpp"
#include "storage/journal/journal.hpp"

#include <cstdio>
#include <filesystem>

namespace stratum::cmd {
namespace {

// The map file an option names, parsed; none when the option is absent.
id_map map_file(const parsed_args& a, const char* option) {
  const auto file = a.get(option);
  if (!file) return {};
  auto text = read_text_file(*file);
  if (!text)
    fail(errc::usage, "cannot read the map file '" + *file + "' (--" + option + "): give a file of 'FROM TO' lines. Nothing was changed");
  return id_map::parse(*text, *file);
}

awaitable<int> do_catalog_chown(parsed_args& a) {
  const std::string state = a.positional[0], spec = a.positional[1];
  const bool json = a.has("json"), quiet = a.has("quiet") || json;
  if (!std::filesystem::is_directory(state)) fail(errc::usage, "STATE '" + state + "' is not a directory. Nothing was changed");
  if (a.has("reset")) {
    if (a.has("uid-map") || a.has("gid-map")) fail(errc::usage, "--reset takes no map: give -u/-g or --reset, not both");
    auto j = journal::open(state);  // its lock: no publish of this STATE runs meanwhile
    remember_owners(state, {});
    if (!quiet)
      std::fprintf(stderr, "forgot the owner maps of STATE '%s': the next publish gives the source's owners; nothing was published\n",
                   escape_name(state).c_str());
    co_return ok;
  }
  if (!a.has("uid-map") && !a.has("gid-map"))
    fail(errc::usage, "give the map of uids (-u FILE), of gids (-g FILE), or both; or --reset to forget the maps");
  owner_map given{map_file(a, "uid-map"), map_file(a, "gid-map")};
  require_writable_store(spec);
  auto fmt = chosen_format(a, state, false);
  signing_key key;
  if (!fmt) key = state_signing_key(a, state);
  const std::int64_t expiry = expiry_seconds(a, state, 0);
  auto j = journal::open(state);
  // Read under the lock: the maps a publish applies now.
  const owner_map before = remembered_owners(state);
  auto store = open_store(spec, store_use::write, ctx->io, ctx->p.blocking, remote(a));
  const auto writer = fmt ? std::move(fmt) : make_native_writer(compression{});
  const owner_map after = before.then(given);
  const std::function<void()> remember = [&] { remember_owners(state, after); };
  auto r = co_await chown_catalogs(*store, *j, *writer, key, ctx->p.cpu, given, after, expiry, remember);
  if (json) {
    std::fputs(chown_json({store->describe(), r.published, r.from, r.m.revision, r.catalogs_rewritten, r.catalogs_kept,
                           r.entries, r.entries_mapped, r.objects_sent})
                   .c_str(),
               stdout);
  } else if (!quiet) {
    std::fprintf(stderr, "%llu entries, %llu with a new owner; %llu catalog(s) rewritten, %llu kept; 0 files read; "
                 "%llu object(s) sent\n",
                 (unsigned long long)r.entries, (unsigned long long)r.entries_mapped,
                 (unsigned long long)r.catalogs_rewritten, (unsigned long long)r.catalogs_kept,
                 (unsigned long long)r.objects_sent);
    if (r.published)
      std::fprintf(stderr, "published revision %llu of %s (from revision %llu); later publishes keep these owners\n",
                   (unsigned long long)r.m.revision, escape_name(store->describe()).c_str(), (unsigned long long)r.from);
    else
      std::fprintf(stderr, "no owner changes in revision %llu of %s: nothing published; later publishes apply the maps\n",
                   (unsigned long long)r.from, escape_name(store->describe()).c_str());
  }
  co_return ok;
}

}  // namespace

std::vector<command> catalog_chown_commands() {
  return {
      {"catalog-chown", "catalog-chown STATE STORE [-u UIDMAP] [-g GIDMAP] | --reset",
       "Maps the uid and gid of every entry of the current revision, as cvmfs_server catalog-chown does,\n"
       "and publishes the result as a new revision (trunk-previous keeps the old owners). Only the\n"
       "catalogs change: no file is read and no file object is sent; a catalog with no owner to change\n"
       "is kept as it is. The maps are remembered in STATE (uid-map, gid-map), so every later publish\n"
       "gives its entries the same owners (the source's ids mapped); a second catalog-chown maps the ids\n"
       "the first one gave (docs/DESIGN.md, \"catalog-chown\"). Needs the publisher's STATE; nothing is\n"
       "changed when it holds an unfinished publish or belongs to another store.\n\n"
       "A map file has one rule a line: 'FROM TO' (decimal ids) or '* TO' (every id without a rule);\n"
       "'#' starts a comment. An id without a rule, and no '*', stays as it is.\n\n"
       "  -u, --uid-map FILE  the map of user ids\n"
       "  -g, --gid-map FILE  the map of group ids (at least one of the two)\n"
       "  --reset             forget the maps in STATE: the next publish gives the source's owners\n"
       "                      (publishes nothing now)\n"
       "  --key FILE          signing key (default STATE/keys/stratum.key)\n"
       "  --expiry DAYS       the manifest's validity, as for publish (default: what STATE recorded)\n"
       "  --json              print the counts as one JSON object on standard output\n"
       "  -q, --quiet         no message\n\n"
       "Exit 0: done; 2: usage error (a bad map file, a STATE that does not fit), nothing changed;\n"
       "3: failed (run the same command again).\n",
       with_store_options({{"uid-map", 'u', true}, {"gid-map", 'g', true}, {"reset", 0}, {"key", 0, true},
                           {"expiry", 0, true}, {"json", 0}, {"quiet", 'q'}, opt_help}),
       2, 2, do_catalog_chown, "see with 'stratum tag STORE' whether a new revision was made, and run the same command again if not"},
  };
}

}  // namespace stratum::cmd
