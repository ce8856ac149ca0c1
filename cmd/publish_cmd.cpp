// publish and load: one command with two command lines (CLFSLoad's for
// load), the same options and the same run (publish_to). Thread: the main
// thread, which runs the io_context.
#include "async/error.hpp"
#include "cmd/command.hpp"
#include "cmd/json.hpp"
#include "cmd/format_choice.hpp"
#include "cmd/hooks.hpp"
#include "cmd/layout_choice.hpp"
#include "catalog/format/native_format.hpp"
#include "cmd/progress.hpp"
#include "cmd/state_settings.hpp"
#include "storage/journal/journal.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace stratum::cmd {
namespace {

namespace fs = std::filesystem;

// `publish`, and `load` (CLFSLoad's form) with its store and SAS made up.
awaitable<int> publish_to(parsed_args& a, const std::string& spec, const std::string& sas);

awaitable<int> do_publish(parsed_args& a) {
  co_return co_await publish_to(a, a.positional[2], "");
}

// stratum load [--new] STATE SOURCE ACCOUNT CONTAINER SAS_TOKEN: CLFSLoad's
// arguments, in its order and with its meaning (--new: the container must
// be empty; without it, the same command resumes).
awaitable<int> do_load(parsed_args& a) {
  const std::string spec = "az://" + a.positional[2] + "/" + a.positional[3];
  const std::string sas = a.positional[4];
  co_return co_await publish_to(a, spec, sas);
}

awaitable<int> publish_to(parsed_args& a, const std::string& spec, const std::string& sas) {
  const std::string state = a.positional[0], source = a.positional[1];
  const bool fresh = a.has("new");
  require_writable_store(spec);  // an http(s) store: refused before STATE is touched
  std::error_code ec;
  fs::create_directories(state, ec);
  if (ec || !fs::is_directory(state)) fail(errc::usage, "cannot use STATE directory '" + state + "': " + (ec ? ec.message() : "not a directory"));

  publish_options o;
  // The journal records the source by its absolute path, so the same tree
  // named another way (relative, trailing slash) is recognised.
  o.source = fs::absolute(source).lexically_normal().string();
  while (o.source.size() > 1 && o.source.back() == '/') o.source.pop_back();
  o.fresh = fresh;
  auto comp = a.get_or("compression", "zlib");
  if (comp == "none") o.comp.level = 0;
  else if (comp == "zlib") o.comp.level = static_cast<int>(a.number("level", 1));
  else fail(errc::usage, "--compression must be zlib or none, not '" + comp + "'");
  if (o.comp.level > 12) fail(errc::usage, "--level must be 1..12");
  auto rk = a.get_or("reader", "auto");
  if (rk == "auto") o.reader = reader_kind::automatic;
  else if (rk == "uring") o.reader = reader_kind::uring;
  else if (rk == "threads") o.reader = reader_kind::threads;
  else fail(errc::usage, "--reader must be auto, uring or threads");
  store_options remote_opts = remote(a);
  remote_opts.azure_sas = sas;
  o.max_files = static_cast<unsigned>(std::max(1ul, a.number("max-files", o.max_files)));
  o.memory = std::max(64ul, a.number("memory", o.memory >> 20)) << 20;
  if (auto t = a.get("tag")) {
    if (!valid_tag_name(*t) || *t == "trunk" || *t == "trunk-previous")
      fail(errc::usage, "tag name '" + *t + "' is not allowed: use letters, digits, '.', '_' and '-' (trunk and trunk-previous are reserved)");
    o.tag = *t;
    o.tag_message = a.get_or("message", "");
  }

  // The hooks get the store as the user named it, without a SAS query (a
  // credential), and a CernVM-FS repository's name as $2, as cvmfs_server
  // gives its hooks the repository name. The before-hook runs before
  // anything is written: the key, STATE/settings, the journal, the store.
  const std::string hook_store = spec.substr(0, spec.find_first_of("?#"));
  std::vector<std::string> hook_args{hook_store};
  hook_vars hook_env{{"STRATUM_STORE", hook_store}};
  if (auto fqrn = a.get("name") ? a.get("name") : read_setting(state, "name")) {
    hook_args.push_back(*fqrn);
    hook_env.emplace_back("STRATUM_NAME", *fqrn);
  }
  run_before_hook(state, "publish-before", hook_args, hook_env);

  std::string key_path = a.get_or("key", state + "/keys/stratum.key");
  signing_key key;
  if (fs::exists(key_path)) {
    key = signing_key::load(key_path);
  } else if (fresh && !a.has("key")) {
    key = signing_key::generate();
    key.save(state + "/keys");
  } else {
    fail(errc::usage, "no signing key at '" + key_path + "': give --key FILE (the repository's key) or create the repository with --new");
  }
  o.expiry_seconds = expiry_seconds(a, state, 0);
  auto fmt = chosen_format(a, state, fresh);
  {
    auto layout = choose_layout(a, state, o.source, fmt ? *fmt : *make_native_writer(o.comp));
    o.layout = std::move(layout.options);
    o.layout_id = std::move(layout.id);
  }
  const std::string fmt_name = fmt ? std::string(fmt->name()) : "stratum";
  const bool quiet = a.has("quiet") || a.has("json");
  // One-off notices go to stderr even with --json (stdout stays one JSON object).
  o.log = [quiet = a.has("quiet")](const std::string& m) { if (!quiet) std::fprintf(stderr, "stratum: %s\n", m.c_str()); };
  // catalog-chown's maps: the owners it set stay (docs/DESIGN.md, "catalog-chown").
  o.owners = remembered_owners(state);
  if (!o.owners.empty()) o.log("owners mapped with the maps of catalog-chown in STATE (catalog-chown --reset forgets them)");

  // The publish runs in this block, so the journal (and STATE's lock) is
  // closed when the after-hook runs: the hook may run stratum on STATE
  // itself, such as `stratum tag STATE STORE -a NAME`.
  publish_result r;
  std::string json_line;  // printed once gc (--gc) has run, which it reports too
  {
    auto store = open_store(spec, fresh ? store_use::create : store_use::write, ctx->io, ctx->p.blocking, remote_opts);
    // A remote store (the ones with a request window) is latency bound: as many
    // small files in flight as requests, each being one PUT. A local one is
    // bound by the disk and the cores.
    if (store->stats() && !a.has("max-files")) o.max_files = remote_opts.max_requests;
    auto j = journal::open(state);
    publisher pub(*store, *j, ctx->io, ctx->p.cpu, ctx->p.blocking, std::move(key), o, std::move(fmt));
    progress prog(ctx->io, pub.stats(), quiet);
    prog.set_store_status([&] { return store->status(); });
    auto t0 = std::chrono::steady_clock::now();
    prog.start();
    try {
      r = co_await pub.run();
    } catch (...) {
      prog.stop();
      throw;
    }
    prog.stop();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // problems.txt lists this run's per-file problems (empty when none).
    {
      std::ofstream pf(state + "/problems.txt", std::ios::trunc);
      for (auto& p : r.problems) pf << escape_name(p.path) << ": " << p.message << "\n";
    }
    print_problems(r.problems, "problem");
    const auto& s = pub.stats();
    const retry_stats no_requests;
    const retry_stats& rs = store->stats() ? *store->stats() : no_requests;
    if (a.has("json")) {
      json_line = publish_json({r, s, rs, j->syncs(), store->describe(), secs});
    } else if (!a.has("quiet") && r.unchanged) {
      std::fprintf(stderr, "nothing changed since revision %llu of %s (%llu files checked in %.1fs); nothing published\n",
                   (unsigned long long)r.m.revision, escape_name(store->describe()).c_str(), (unsigned long long)s.files, secs);
    } else if (!a.has("quiet") && r.already_published) {
      std::fprintf(stderr, "revision %llu of %s was published by the interrupted run; nothing left to do\n",
                   (unsigned long long)r.m.revision, escape_name(store->describe()).c_str());
    } else if (!a.has("quiet")) {
      if (s.resumed)
        std::fprintf(stderr, "resumed: %llu object(s) sent again of %llu in flight when the last run stopped\n",
                     (unsigned long long)s.objects_resent, (unsigned long long)s.in_flight_at_stop);
      std::fprintf(stderr, "published revision %llu of %s: %llu files, %s, %llu new objects (%s stored) in %.1fs\n",
                   (unsigned long long)r.m.revision, escape_name(store->describe()).c_str(), (unsigned long long)r.totals.regular,
                   human_bytes(static_cast<double>(r.totals.bytes)).c_str(), (unsigned long long)s.objects_stored,
                   human_bytes(static_cast<double>(s.bytes_stored)).c_str(), secs);
      if (!r.problems.empty())
        std::fprintf(stderr, "%zu path(s) were not published; see %s/problems.txt\n", r.problems.size(), state.c_str());
      if (fresh && fmt_name == "cvmfs")
        std::fprintf(stderr, "clients verify it with the master public key %s (CVMFS_PUBLIC_KEY); readers with --pubkey %s\n",
                     escape_name(read_setting(state, "keys").value_or(state + "/keys") + "/" + read_setting(state, "name").value_or("") + ".pub").c_str(),
                     escape_name(state).c_str());
    }
  }
  int code = r.problems.empty() ? ok : problems;
  // --gc: collect once the revision is out, as `stratum gc STATE STORE`
  // does (its hooks, STATE's lock taken again).
  if (a.has("gc")) {
    auto done = co_await gc_with_hooks(a, state, spec);
    if (!done.after_hook_ok) code = problems;
    if (a.has("json")) json_line = with_gc_json(json_line, done.store, done.result);
    else if (!a.has("quiet"))
      std::fprintf(stderr, "gc: kept %zu revision(s), deleted %llu object(s), %s\n", done.result.kept.size(),
                   (unsigned long long)done.result.objects_deleted,
                   human_bytes(static_cast<double>(done.result.bytes_deleted)).c_str());
  }
  if (a.has("json")) std::fputs(json_line.c_str(), stdout);
  // After every run that ends with the repository published (also when
  // nothing changed, so before- and after-hooks always come in pairs), not
  // after a failure. The publish stands whatever the hook does: a failing
  // after-hook is reported, and the exit status is 1, not 0.
  hook_env.emplace_back("STRATUM_REVISION", std::to_string(r.m.revision));
  hook_env.emplace_back("STRATUM_PUBLISHED", r.unchanged ? "0" : "1");
  if (!run_after_hook(state, "publish-after", hook_args, hook_env)) code = problems;
  co_return code;
}

// publish and load take the same options.
std::vector<option_spec> publish_option_specs() {
  return with_store_options({{"new"}, {"key", 0, true}, opt_tag, {"message", 'm', true}, {"compression", 0, true}, {"level", 0, true},
                             {"reader", 0, true}, {"expiry", 0, true}, {"format", 0, true}, {"name", 0, true}, {"hash", 0, true}, {"keys", 0, true}, {"max-files", 0, true}, {"memory", 0, true}, {"json"}, {"quiet", 'q'},
                             {"dirtab", 0, true}, {"no-dirtab"}, {"autocatalogs"}, {"no-autocatalogs"}, {"max-weight", 0, true}, {"min-weight", 0, true},
                             {"gc"}, {"keep-since", 0, true}, {"deletion-log", 0, true}, opt_help});
}

// publish and load are one command with two command lines: the same
// options, the same run (publish_to) and the same advice after a fatal error.
command publishing_command(const char* name, const char* synopsis, const char* help, std::size_t args,
                           awaitable<int> (*run)(parsed_args&)) {
  return {name, synopsis, help, publish_option_specs(), args, args, run,
          "nothing was published; run the same command again to resume"};
}

}  // namespace

std::vector<command> publish_commands() {
  return {
      publishing_command("publish", "publish [--new] STATE SOURCE STORE [options]",
       "Publishes the directory SOURCE as the next revision of the repository in STORE.\n"
       "STATE is a local directory for the signing key, the journal and problems.txt. The same\n"
       "command again resumes a publish that was interrupted (crash, kill, reboot) where it\n"
       "stopped; after a finished publish it publishes the next revision, reading only the files\n"
       "whose inode changed. If nothing changed, nothing is published (unless --tag is given).\n\n"
       "  --new               create the repository (STORE must be empty) and its key\n"
       "  --key FILE          signing key (default STATE/keys/stratum.key)\n"
       "  --tag NAME          also tag the new revision NAME;  -m, --message TEXT  its description\n"
       "  --format stratum|cvmfs   the repository format, chosen with --new and kept in STATE\n"
       "                      (default stratum); cvmfs writes what CernVM-FS clients mount\n"
       "                      (docs/FORMAT-cvmfs.md)\n"
       "  --name FQRN         cvmfs: the repository's name;  --hash sha1|rmd160|shake128 (default sha1)\n"
       "  --keys DIR          cvmfs: an existing key set (FQRN.masterkey, .pub, .key, .crt), kept in\n"
       "                      STATE; default STATE/keys, made by --new\n"
       "  --expiry DAYS       readers refuse the manifest DAYS after it is signed, so an old one cannot\n"
       "                      be replayed for longer (renew with 'stratum resign'); kept in STATE for\n"
       "                      later publishes; 0 (the default): never\n"
       "  --compression zlib|none   (default zlib)\n"
       "  --level N           1..12: 1 (default) is the fastest (ISA-L igzip), 2..12 smaller and slower (libdeflate);\n"
       "                      cvmfs: libdeflate 0..12, fixed at --new (default 1; 6 is cvmfs_server's)\n"
       "  --reader auto|uring|threads   how files are read (default auto: io_uring if available)\n"
       "  --max-files N       files in flight (default 128; for S3, --max-requests)\n"
       "  --memory MIB        file data in memory at most (default 64)\n"
       "  --dirtab FILE       nested catalogs where FILE's rules say (.cvmfsdirtab syntax); without it,\n"
       "                      SOURCE/.stratumdirtab (cvmfs: SOURCE/.cvmfsdirtab) if present; remembered in\n"
       "                      STATE;  --no-dirtab forgets it\n"
       "  --autocatalogs      split catalogs heavier than --max-weight N entries (default 100000) and merge\n"
       "                      automatic ones lighter than --min-weight N (default 1000); remembered in\n"
       "                      STATE;  --no-autocatalogs turns it off (automatic catalogs then stay)\n"
       "  --json              print final statistics as one JSON object (names in it as in the text\n"
       "                      output: \\n, \\t, \\\\ and \\xHH for bytes that are not printable UTF-8)\n"
       "  -q, --quiet         no progress\n\n"
       "Hooks: the executables STATE/hooks/publish-before and publish-after, when present, run before\n"
       "anything is written and after the publish, given STORE as $1 (and a CernVM-FS repository's\n"
       "name as $2); their output goes to stderr (README, \"Hooks\").\n\n"
       "Exit 0: published; 1: published, but some paths could not be read (STATE/problems.txt) or the\n"
       "publish-after hook failed; 2: usage error; 3: failed, nothing published (run the same command\n"
       "again to resume), or the publish-before hook failed and nothing was changed.\n",
       3, do_publish),
      publishing_command("load", "load [--new] STATE SOURCE ACCOUNT CONTAINER SAS_TOKEN [options]",
       "CLFSLoad's command line: publishes SOURCE into the Azure Blob container CONTAINER of storage\n"
       "account ACCOUNT, authorised by SAS_TOKEN, exactly as\n"
       "  stratum publish [--new] STATE SOURCE az://ACCOUNT/CONTAINER   (with AZURE_STORAGE_SAS_TOKEN)\n"
       "does. --new expects an empty container; the same command without --new resumes an\n"
       "interrupted load, and after a finished one publishes the next revision. Options as for\n"
       "publish, and --endpoint https://host:port for an emulator (the account is then the first\n"
       "path segment, as in Azurite). The SAS token is never printed or stored. Exit codes as for\n"
       "publish.\n",
       5, do_load)
  };
}

}  // namespace stratum::cmd
