// `stratum gc STATE STORE`: garbage collection as cvmfs_server gc does it —
// keep the current revision, every tagged one and every one newer than
// --keep-since, delete every object none of them references
// (catalog/gc/collector.hpp). Also run after a publish by `publish --gc`
// (gc_after_publish). Thread: the main thread, which runs the io_context.
#include "async/error.hpp"
#include "catalog/format/native_format.hpp"
#include "catalog/gc/collector.hpp"
#include "cmd/command.hpp"
#include "cmd/format_choice.hpp"
#include "cmd/hooks.hpp"
#include "cmd/json.hpp"
#include "cmd/state_settings.hpp"
#include "storage/journal/journal.hpp"

#include <cstdio>
#include <ctime>
#include <filesystem>

namespace stratum::cmd {
namespace {

// The default window, as CVMFS_AUTO_GC_TIMESPAN's "3 days ago".
const char* const default_keep_since = "3d";

void print_result(const gc_result& r, const std::string& store, bool dry_run) {
  std::size_t tags = 0, since = 0;
  for (const auto& k : r.kept) (k.why.rfind("tag ", 0) == 0 ? tags : since) += k.why != "current";
  std::fprintf(stderr, "kept %zu revision(s) of %s: the current one, %zu tagged, %zu newer than --keep-since%s\n",
               r.kept.size() - r.marking.revisions_gone, escape_name(store).c_str(), tags, since - r.marking.revisions_gone,
               r.marking.revisions_gone ? (" (" + std::to_string(r.marking.revisions_gone) + " already collected)").c_str() : "");
  std::fprintf(stderr, "marked %llu object(s) in %llu catalog(s) read (%.1fs); %llu object(s) in the store\n",
               (unsigned long long)r.objects_marked, (unsigned long long)r.marking.catalogs_read, r.mark_seconds,
               (unsigned long long)r.objects_listed);
  std::fprintf(stderr, "%s %llu object(s), %s, in %.1fs", dry_run ? "would delete" : "deleted",
               (unsigned long long)r.objects_deleted, human_bytes(static_cast<double>(r.bytes_deleted)).c_str(), r.sweep_seconds);
  if (r.objects_young) std::fprintf(stderr, "; kept %llu unreferenced object(s) written since gc started", (unsigned long long)r.objects_young);
  if (r.others) std::fprintf(stderr, "; left %llu key(s) that are not objects alone", (unsigned long long)r.others);
  std::fputc('\n', stderr);
}

awaitable<int> do_gc(parsed_args& a) {
  const std::string state = a.positional[0], spec = a.positional[1];
  if (!std::filesystem::is_directory(state)) fail(errc::usage, "STATE '" + state + "' is not a directory");
  auto done = co_await gc_with_hooks(a, state, spec);
  if (a.has("json")) std::fputs(gc_json(done.store, a.has("dry-run"), done.result).c_str(), stdout);
  else if (!a.has("quiet")) print_result(done.result, done.store, a.has("dry-run"));
  co_return done.after_hook_ok ? ok : problems;
}

}  // namespace

awaitable<gc_done> gc_with_hooks(parsed_args& a, const std::string& state, const std::string& spec) {
  const bool dry = a.has("dry-run");
  if (!dry) require_writable_store(spec);
  auto fmt = chosen_format(a, state, false);
  signing_key key;
  if (!fmt) key = state_signing_key(a, state);
  const auto writer = fmt ? std::move(fmt) : make_native_writer(compression{});
  gc_options o;
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  o.keep_since = parse_keep_since(a.get_or("keep-since", default_keep_since), now);
  o.dry_run = dry;
  o.deletion_log = a.get_or("deletion-log", "");
  o.expiry_seconds = expiry_seconds(a, state, 0);
  const bool quiet = a.has("quiet");
  o.notice = [quiet](const std::string& m) {
    if (!quiet) std::fprintf(stderr, "stratum: %s\n", m.c_str());
  };
  // --dry-run lists what would go on standard output (not with --json).
  if (dry && !a.has("json") && !quiet)
    o.condemned = [](const object_info& i) { std::printf("%s %llu\n", escape_name(i.key).c_str(), (unsigned long long)i.size); };

  // The hooks get what publish's get: the store as named, without a SAS
  // query, and a CernVM-FS repository's name. A dry run changes nothing and
  // runs none.
  const std::string hook_store = spec.substr(0, spec.find_first_of("?#"));
  std::vector<std::string> hook_args{hook_store};
  hook_vars hook_env{{"STRATUM_STORE", hook_store}};
  if (auto fqrn = read_setting(state, "name")) {
    hook_args.push_back(*fqrn);
    hook_env.emplace_back("STRATUM_NAME", *fqrn);
  }
  if (!dry) run_before_hook(state, "gc-before", hook_args, hook_env);
  gc_done done;
  {
    // The journal's lock, held while gc runs: no publish, tag or rollback of
    // this STATE meanwhile; released before the after-hook, which may run
    // stratum on STATE.
    auto j = journal::open(state);
    auto store = open_store(spec, dry ? store_use::read : store_use::write, ctx->io, ctx->p.blocking, remote(a));
    done.store = store->describe();
    done.result = co_await collect_garbage(*store, *j, state, *writer, key, ctx->p.cpu, o);
  }
  if (!dry) {
    hook_env.emplace_back("STRATUM_DELETED", std::to_string(done.result.objects_deleted));
    done.after_hook_ok = run_after_hook(state, "gc-after", hook_args, hook_env);
  }
  co_return done;
}

std::vector<command> gc_commands() {
  return {
      {"gc", "gc STATE STORE [--keep-since WHEN] [--dry-run] [--deletion-log FILE]",
       "Deletes the objects of old revisions: keeps the current revision, every tagged revision and\n"
       "every revision published since --keep-since, and deletes every object none of them\n"
       "references (mark and sweep, as cvmfs_server gc). STATE is the publisher's: gc takes its lock,\n"
       "refuses while a publish is unfinished, and makes the journal forget what it deletes. Objects\n"
       "written after gc started are never deleted. The manifest is signed again once, saying the\n"
       "repository is garbage-collectable (readers then know old revisions may be gone).\n\n"
       "  --keep-since WHEN   keep every revision published since WHEN: a duration back from now\n"
       "                      (3d, 1w, 12h, 30m, 90s; the default is 3d, as CVMFS_AUTO_GC_TIMESPAN),\n"
       "                      a date 2026-11-27[T08:00[:00]] (UTC), @UNIXSECONDS, or now (only the\n"
       "                      current and the tagged revisions are kept)\n"
       "  --deletion-log FILE append each deleted object's key to FILE (as CVMFS_GC_DELETION_LOG)\n"
       "  --dry-run           delete nothing: print each object that would go (key, stored bytes)\n"
       "                      and the totals\n"
       "  -x, --json          the totals as one JSON object\n"
       "  --key FILE          signing key (default STATE/keys/stratum.key)\n"
       "  --expiry DAYS       the manifest's validity, as for publish (default: what STATE recorded)\n"
       "  -q, --quiet         no message\n\n"
       "Hooks: STATE/hooks/gc-before and gc-after, when present, run before and after (not with\n"
       "--dry-run), given the store as $1 (and a CernVM-FS repository's name as $2), as publish's.\n"
       "Exit 0: done; 1: done, but the gc-after hook failed; 2: usage error, nothing changed;\n"
       "3: failed, or the gc-before hook failed (nothing changed).\n",
       with_store_options({{"keep-since", 0, true}, {"dry-run", 'n'}, {"deletion-log", 0, true}, {"json", 'x'},
                           {"key", 0, true}, {"expiry", 0, true}, {"quiet", 'q'}, opt_help}),
       2, 2, do_gc, "run the same command again: a collection that stopped is finished by the next one"},
  };
}

}  // namespace stratum::cmd
