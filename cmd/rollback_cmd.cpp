// `stratum rollback STATE STORE -t NAME`: makes the tree of tag NAME current
// as a new revision, as `cvmfs_server rollback -t NAME` does
// (catalog/publish/rollback.hpp does the work). Thread: the main thread,
// which runs the io_context.
#include "async/error.hpp"
#include "catalog/format/native_format.hpp"
#include "catalog/publish/rollback.hpp"
#include "cmd/command.hpp"
#include "cmd/format_choice.hpp"
#include "cmd/state_settings.hpp"
#include "storage/journal/journal.hpp"

#include <cstdio>
#include <filesystem>

namespace stratum::cmd {
namespace {

awaitable<int> do_rollback(parsed_args& a) {
  const auto target = a.get("tag");
  if (!target || target->empty())
    fail(errc::usage, "give the tag to roll back to: -t NAME (trunk-previous undoes the last publish)");
  const std::string state = a.positional[0], spec = a.positional[1];
  if (!std::filesystem::is_directory(state)) fail(errc::usage, "STATE '" + state + "' is not a directory");
  require_writable_store(spec);
  auto fmt = chosen_format(a, state, false);
  signing_key key;
  if (!fmt) key = state_signing_key(a, state);
  tag_edit_options o;
  o.expiry_seconds = expiry_seconds(a, state, 0);
  auto j = journal::open(state);  // its lock: no publish of this STATE runs meanwhile
  auto store = open_store(spec, store_use::write, ctx->io, ctx->p.blocking, remote(a));
  const auto writer = fmt ? std::move(fmt) : make_native_writer(compression{});
  auto r = co_await roll_back(*store, *j, *writer, key, ctx->p.cpu, *target, o);
  if (!a.has("quiet")) {
    for (const auto& t : r.removed)
      std::fprintf(stderr, "removed tag '%s' (revision %llu)\n", escape_name(t.name).c_str(),
                   (unsigned long long)t.revision);
    std::fprintf(stderr, "rolled %s back from revision %llu to the tree of '%s' (revision %llu), now revision %llu\n",
                 escape_name(store->describe()).c_str(), (unsigned long long)r.from, escape_name(r.target.name).c_str(),
                 (unsigned long long)r.target.revision, (unsigned long long)r.m.revision);
  }
  co_return ok;
}

}  // namespace

std::vector<command> rollback_commands() {
  return {
      {"rollback", "rollback STATE STORE -t NAME",
       "Makes the tree of tag NAME current again, as a new revision numbered after the current one (a\n"
       "reader that saw the current revision reads it), as cvmfs_server rollback -t NAME does. The tags\n"
       "of every revision after NAME's are removed, and trunk-previous; NAME and trunk name the new\n"
       "revision (docs/DESIGN.md, \"Rollback\"). The next publish compares SOURCE with the rolled-back\n"
       "tree. Needs the publisher's STATE; nothing is changed when it holds an unfinished publish or\n"
       "belongs to another store.\n\n"
       "  -t, --tag NAME      the tag to roll back to; trunk-previous undoes the last publish (once: it is\n"
       "                      removed too). The current revision's tags, trunk among them, are refused\n"
       "  --key FILE          signing key (default STATE/keys/stratum.key)\n"
       "  --expiry DAYS       the manifest's validity, as for publish (default: what STATE recorded)\n"
       "  -q, --quiet         no message\n\n"
       "Exit 0: done; 2: usage error (an unknown tag, the current revision, a STATE that does not fit),\n"
       "nothing changed; 3: failed (run the same command again).\n",
       with_store_options({{"tag", 't', true}, {"key", 0, true}, {"expiry", 0, true}, {"quiet", 'q'}, opt_help}), 2, 2,
       do_rollback, "see with 'stratum tag STORE' whether the rollback was made, and run the same command again if not"},
  };
}

}  // namespace stratum::cmd
