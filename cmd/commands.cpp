// The commands: one function each (do_publish, do_ls, ...), the table that
// names them with their options and help, and run(), which parses argv, runs
// the chosen command as a coroutine on the main thread's io_context and maps
// its outcome to an exit code (cmd/cmd.hpp).
#include "async/error.hpp"
#include "catalog/read/restorer.hpp"
#include "cmd/cmd.hpp"
#include "cmd/json.hpp"
#include "cmd/progress.hpp"
#include "storage/backend.hpp"
#include "storage/journal/journal.hpp"

#include <boost/asio/detached.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

namespace stratum::cmd {
namespace {

namespace fs = std::filesystem;

struct command {
  const char* name;
  const char* synopsis;
  const char* help;
  std::vector<option_spec> options;
  std::size_t min_args, max_args;
  std::function<awaitable<int>(parsed_args&)> run;
  const char* fatal_hint = nullptr;  // printed after a fatal error's message
};

// What every command run shares: the event loop and the pools.
struct context {
  asio::io_context io;
  pools p;
};
context* ctx = nullptr;

void print_problems(const std::vector<problem>& ps, const char* verb) {
  std::size_t shown = 0;
  for (auto& p : ps) {
    if (++shown > 20) {
      std::fprintf(stderr, "... and %zu more\n", ps.size() - 20);
      break;
    }
    std::fprintf(stderr, "%s: %s: %s\n", verb, escape_name(p.path).c_str(), p.message.c_str());
  }
}

store_options remote(const parsed_args& a) {
  store_options o;
  o.endpoint = a.get_or("endpoint", "");
  o.region = a.get_or("region", "");
  o.ca_file = a.get_or("ca-file", "");
  o.addressing = a.get_or("addressing", "");
  if (!o.addressing.empty() && o.addressing != "path" && o.addressing != "virtual")
    fail(errc::usage, "--addressing must be path or virtual, not '" + o.addressing + "'");
  o.max_requests = static_cast<unsigned>(std::max(1ul, a.number("max-requests", o.max_requests)));
  o.request_timeout = std::chrono::seconds(std::max(1ul, a.number("request-timeout", 60)));
  return o;
}

bytes pinned_key(const parsed_args& a) {
  if (auto k = a.get("pubkey")) return load_public_key(*k);
  return {};
}

awaitable<std::unique_ptr<repository>> open_repo(const std::string& spec, const parsed_args& a, std::unique_ptr<backend>& store) {
  store = open_store(spec, false, ctx->io, ctx->p.blocking, remote(a));
  auto result_ = co_await repository::open(*store, ctx->p.cpu, pinned_key(a));
  co_return result_;
}

std::string mode_string(const entry& e) {
  std::string s = "?rwxrwxrwx";
  const char* types = "-dlpcbs";
  s[0] = types[static_cast<int>(e.type) - 1];
  for (int i = 0; i < 9; ++i)
    if (!(e.mode & (0400 >> i))) s[1 + i] = '-';
  if (e.mode & 04000) s[3] = (e.mode & 0100) ? 's' : 'S';
  if (e.mode & 02000) s[6] = (e.mode & 0010) ? 's' : 'S';
  if (e.mode & 01000) s[9] = (e.mode & 0001) ? 't' : 'T';
  return s;
}

std::string time_string(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// ---- publish ----------------------------------------------------------------

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
  std::error_code ec;
  fs::create_directories(state, ec);
  if (ec || !fs::is_directory(state)) fail(errc::usage, "cannot use STATE directory '" + state + "': " + (ec ? ec.message() : "not a directory"));

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
  const bool quiet = a.has("quiet") || a.has("json");
  // One-off notices go to stderr even with --json (stdout stays one JSON object).
  o.log = [quiet = a.has("quiet")](const std::string& m) { if (!quiet) std::fprintf(stderr, "stratum: %s\n", m.c_str()); };

  auto store = open_store(spec, fresh, ctx->io, ctx->p.blocking, remote_opts);
  // A remote store (the ones with a request window) is latency bound: as many
  // small files in flight as requests, each being one PUT. A local one is
  // bound by the disk and the cores.
  if (store->stats() && !a.has("max-files")) o.max_files = remote_opts.max_requests;
  auto j = journal::open(state);
  publisher pub(*store, *j, ctx->io, ctx->p.cpu, ctx->p.blocking, std::move(key), o);
  progress prog(ctx->io, pub.stats(), quiet);
  prog.set_store_status([&] { return store->status(); });
  auto t0 = std::chrono::steady_clock::now();
  prog.start();
  publish_result r;
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
    std::fputs(publish_json({r, s, rs, j->syncs(), store->describe(), secs}).c_str(), stdout);
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
  }
  co_return r.problems.empty() ? ok : problems;
}

// ---- readers ----------------------------------------------------------------

awaitable<int> do_ls(parsed_args& a) {
  std::unique_ptr<backend> store;
  auto repo = co_await open_repo(a.positional[0], a, store);
  std::string path = a.positional.size() > 1 ? a.positional[1] : "";
  auto root = repo->root_for(a.get("tag"));
  auto loc = co_await repo->find(root, path);
  if (!loc.e) fail(errc::usage, "no '" + escape_name(path) + "' in " + escape_name(store->describe()));
  std::vector<std::shared_ptr<const catalog>> keep;
  std::vector<const entry*> list;
  if (loc.e->type == entry_type::directory) list = co_await repo->children(loc, keep);
  else list.push_back(loc.e);
  for (const entry* e : list) {
    std::string name = escape_name(e->type == entry_type::directory || loc.e->type == entry_type::directory ? e->name() : e->path);
    if (a.has("long")) {
      std::string extra = e->type == entry_type::symlink ? " -> " + escape_name(e->link_target) : "";
      std::printf("%s %6u %6u %12llu %s.%09u %s%s\n", mode_string(*e).c_str(), e->uid, e->gid, (unsigned long long)e->size,
                  time_string(e->mtime_sec).c_str(), e->mtime_nsec, name.c_str(), extra.c_str());
    } else {
      std::printf("%s%s\n", name.c_str(), e->type == entry_type::directory ? "/" : "");
    }
  }
  co_return ok;
}

awaitable<int> do_cat(parsed_args& a) {
  std::unique_ptr<backend> store;
  auto repo = co_await open_repo(a.positional[0], a, store);
  const std::string& path = a.positional[1];
  auto loc = co_await repo->find(repo->root_for(a.get("tag")), path);
  if (!loc.e) fail(errc::usage, "no '" + escape_name(path) + "' in " + escape_name(store->describe()));
  const entry& e = *loc.e;
  if (e.type == entry_type::symlink) {
    std::fwrite(e.link_target.data(), 1, e.link_target.size(), stdout);
    co_return ok;
  }
  if (e.type != entry_type::regular) fail(errc::usage, "'" + path + "' is not a regular file");
  auto write = [](const bytes& b) {
    if (std::fwrite(b.data(), 1, b.size(), stdout) != b.size()) fail(errc::permanent, "cannot write to standard output");
  };
  if (e.object) write(co_await repo->read_object(*e.object, object_kind::file, e.size));
  for (auto& ch : e.chunks) write(co_await repo->read_object(ch.hash, object_kind::chunk, ch.size));
  std::fflush(stdout);
  co_return ok;
}

awaitable<int> do_restore(parsed_args& a) {
  std::unique_ptr<backend> store;
  auto repo = co_await open_repo(a.positional[0], a, store);
  restore_options o;
  o.dest = a.positional[1];
  o.tag = a.get("tag");
  o.subtree = a.get_or("path", "");
  while (!o.subtree.empty() && o.subtree.back() == '/') o.subtree.pop_back();
  while (!o.subtree.empty() && o.subtree.front() == '/') o.subtree.erase(0, 1);
  o.force = a.has("force");
  o.owners = a.has("owners") || (::geteuid() == 0 && !a.has("no-owners"));
  auto r = co_await restore(*repo, ctx->p.blocking, o);
  print_problems(r.problems, "not restored");
  if (!a.has("quiet"))
    std::fprintf(stderr, "restored %llu files (%s), %llu directories, %llu other entries into %s\n", (unsigned long long)r.files,
                 human_bytes(static_cast<double>(r.bytes)).c_str(), (unsigned long long)r.directories,
                 (unsigned long long)r.others, o.dest.c_str());
  co_return r.problems.empty() ? ok : problems;
}

awaitable<int> do_check(parsed_args& a) {
  std::unique_ptr<backend> store;
  auto repo = co_await open_repo(a.positional[0], a, store);
  check_options o;
  o.integrity = a.has("integrity");
  o.subtree = a.get_or("subtree", "");
  auto r = co_await check(*repo, o);
  for (auto& p : r.problems) std::fprintf(stderr, "%s: %s\n", escape_name(p.path).c_str(), p.message.c_str());
  std::fprintf(stderr, "%s: %llu catalogs, %llu objects (%s)%s: %zu problem(s)\n", escape_name(store->describe()).c_str(),
               (unsigned long long)r.catalogs, (unsigned long long)r.objects, human_bytes(static_cast<double>(r.bytes)).c_str(),
               o.integrity ? " re-hashed" : " present", r.problems.size());
  co_return r.problems.empty() ? ok : problems;
}

awaitable<int> do_info(parsed_args& a) {
  std::unique_ptr<backend> store;
  auto repo = co_await open_repo(a.positional[0], a, store);
  auto root = co_await repo->load_catalog(repo->head().root);
  const auto& m = repo->head();
  const auto& s = root->stats;
  if (a.has("json")) {
    std::fputs(info_json(store->describe(), m, s, repo->history().tags.size()).c_str(), stdout);
    co_return ok;
  }
  std::printf("store:           %s\nrevision:        %llu\npublished:       %s UTC\nroot catalog:    %s\n"
              "history:         %s\nsigning key:     %s (signature verified)\n"
              "files:           %llu (%s), %llu chunked into %llu chunks\ndirectories:     %llu\n"
              "symlinks:        %llu\nspecial files:   %llu\nnested catalogs: %llu\n",
              escape_name(store->describe()).c_str(), (unsigned long long)m.revision, time_string(m.timestamp).c_str(), m.root.hex().c_str(),
              m.history.hex().c_str(), m.public_key.hex().c_str(), (unsigned long long)s.regular,
              human_bytes(static_cast<double>(s.bytes)).c_str(), (unsigned long long)s.chunked, (unsigned long long)s.chunks,
              (unsigned long long)s.directories, (unsigned long long)s.symlinks, (unsigned long long)s.specials,
              (unsigned long long)s.nested);
  for (auto& t : repo->history().tags)
    std::printf("tag:             %s -> revision %llu (%s)%s%s\n", t.name.c_str(), (unsigned long long)t.revision,
                time_string(t.timestamp).c_str(), t.description.empty() ? "" : ": ", escape_name(t.description).c_str());
  co_return ok;
}

awaitable<int> do_keygen(parsed_args& a) {
  signing_key::generate().save(a.positional[0]);
  std::fprintf(stderr, "wrote %s/stratum.key (private, keep it safe) and %s/stratum.pub\n", a.positional[0].c_str(), a.positional[0].c_str());
  co_return ok;
}

const option_spec opt_help{"help", 'h'};
const option_spec opt_tag{"tag", 0, true};
const option_spec opt_pubkey{"pubkey", 0, true};

// Every command that names a STORE takes these.
std::vector<option_spec> with_store_options(std::vector<option_spec> v) {
  for (const char* name : {"endpoint", "region", "ca-file", "addressing", "max-requests", "request-timeout"}) v.push_back({name, 0, true});
  return v;
}

// publish and load take the same options.
std::vector<option_spec> publish_option_specs() {
  return with_store_options({{"new"}, {"key", 0, true}, opt_tag, {"message", 'm', true}, {"compression", 0, true}, {"level", 0, true},
                             {"reader", 0, true}, {"max-files", 0, true}, {"memory", 0, true}, {"json"}, {"quiet", 'q'}, opt_help});
}

// publish and load are one command with two command lines: the same
// options, the same run (publish_to) and the same advice after a fatal error.
command publishing_command(const char* name, const char* synopsis, const char* help, std::size_t args,
                           awaitable<int> (*run)(parsed_args&)) {
  return {name, synopsis, help, publish_option_specs(), args, args, run,
          "nothing was published; run the same command again to resume"};
}

const char* store_help =
    "\nSTORE is a directory, file:///abs/path, s3://BUCKET[/PREFIX], az://ACCOUNT/CONTAINER[/PREFIX]\n"
    "or https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]?SAS. Azure credentials:\n"
    "AZURE_STORAGE_SAS_TOKEN (a container or account SAS) or AZURE_STORAGE_KEY (the account key).\n"
    "S3 credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. For both:\n"
    "  --endpoint URL      https://host[:port] of an S3-compatible service or Azure emulator\n"
    "                      (Azure also https://host[:port]/ACCOUNT; default: the cloud's own)\n"
    "  --region R          signing region (default: AWS_REGION, AWS_DEFAULT_REGION or us-east-1)\n"
    "  --ca-file PEM       trust this CA instead of the system's (a private or test CA)\n"
    "  --addressing path|virtual   bucket in the path or in the host name (default: path with\n"
    "                      --endpoint, virtual without)\n"
    "  --max-requests N    requests in flight at most (default 2048); throttling answers (429,\n"
    "                      503 SlowDown) lower it, successes raise it again\n"
    "  --request-timeout S seconds to wait for an answer before retrying (default 60)\n"
    "Transient failures (5xx, 429, resets, timeouts) are retried with backoff, honouring Retry-After.\n";

const std::vector<command>& commands() {
  static const std::vector<command> list = {
      publishing_command("publish", "publish [--new] STATE SOURCE STORE [options]",
       "Publishes the directory SOURCE as the next revision of the repository in STORE.\n"
       "STATE is a local directory for the signing key, the journal and problems.txt. The same\n"
       "command again resumes a publish that was interrupted (crash, kill, reboot) where it\n"
       "stopped; after a finished publish it publishes the next revision, reading only the files\n"
       "whose inode changed. If nothing changed, nothing is published (unless --tag is given).\n\n"
       "  --new               create the repository (STORE must be empty) and its key\n"
       "  --key FILE          signing key (default STATE/keys/stratum.key)\n"
       "  --tag NAME          also tag the new revision NAME;  -m, --message TEXT  its description\n"
       "  --compression zlib|none   (default zlib)\n"
       "  --level N           1..12: 1 (default) is the fastest (ISA-L igzip), 2..12 smaller and slower (libdeflate)\n"
       "  --reader auto|uring|threads   how files are read (default auto: io_uring if available)\n"
       "  --max-files N       files in flight (default 128; for S3, --max-requests)\n"
       "  --memory MIB        file data in memory at most (default 64)\n"
       "  --json              print final statistics as one JSON object (names in it as in the text\n"
       "                      output: \\n, \\t, \\\\ and \\xHH for bytes that are not printable UTF-8)\n"
       "  -q, --quiet         no progress\n\n"
       "Exit 0: published; 1: published, but some paths could not be read (STATE/problems.txt);\n"
       "2: usage error; 3: failed, nothing published (run the same command again to resume).\n",
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
       5, do_load),
      {"ls", "ls STORE [PATH] [--tag NAME] [-l]",
       "Lists a directory of the current (or tagged) revision. Names are printed with \\n, \\t, \\\\\n"
       "and \\xHH escapes for bytes that are not printable UTF-8.\n\n"
       "  -l, --long          mode, uid, gid, size, mtime (UTC, ns)\n"
       "  --pubkey FILE       require the manifest to be signed with this public key\n",
       with_store_options({opt_tag, {"long", 'l'}, opt_pubkey, opt_help}), 1, 2, do_ls},
      {"cat", "cat STORE PATH [--tag NAME]", "Writes a file's content (verified) to standard output.\n",
       with_store_options({opt_tag, opt_pubkey, opt_help}), 2, 2, do_cat},
      {"restore", "restore STORE DEST [--tag NAME] [--path SUBTREE] [--force]",
       "Recreates the revision (or SUBTREE of it) in DEST, which must be empty or missing.\n\n"
       "  --force             restore into a non-empty DEST\n"
       "  --owners / --no-owners   set uid/gid (default: when run as root)\n",
       with_store_options({opt_tag, {"path", 0, true}, {"force"}, {"owners"}, {"no-owners"}, {"quiet", 'q'}, opt_pubkey, opt_help}), 2, 2,
       do_restore},
      {"check", "check STORE [-i] [-s SUBTREE]",
       "Verifies the manifest signature and every catalog of the current and tagged revisions, and that\n"
       "every object they name exists. Exit 1 and a list of problems if anything is wrong.\n\n"
       "  -i, --integrity     also fetch every object and re-hash its data\n"
       "  -s, --subtree PATH  only objects below PATH\n",
       with_store_options({{"integrity", 'i'}, {"subtree", 's', true}, opt_pubkey, opt_help}), 1, 1, do_check},
      {"info", "info STORE [--json]",
       "Shows the manifest, revision, statistics and tags.\n\n"
       "  --json              as one JSON object (the store's name as in the text output: \\n, \\t,\n"
       "                      \\\\ and \\xHH for bytes that are not printable UTF-8)\n"
       "  --pubkey FILE       require the manifest to be signed with this public key\n",
       with_store_options({{"json"}, opt_pubkey, opt_help}), 1, 1, do_info},
      {"keygen", "keygen DIR", "Writes a new Ed25519 key pair: DIR/stratum.key and DIR/stratum.pub.\n", {opt_help}, 1, 1,
       do_keygen},
  };
  return list;
}

void usage_all(FILE* f) {
  std::fprintf(f, "usage: stratum COMMAND ...\n\ncommands:\n");
  for (auto& c : commands()) std::fprintf(f, "  stratum %s\n", c.synopsis);
  std::fprintf(f, "\n'stratum COMMAND --help' describes one command.\n");
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    usage_all(argc < 2 ? stderr : stdout);
    return argc < 2 ? usage : ok;
  }
  std::string name = argv[1];
  const command* cmd = nullptr;
  for (auto& c : commands())
    if (name == c.name) cmd = &c;
  if (!cmd) {
    std::fprintf(stderr, "stratum: unknown command '%s'\n", name.c_str());
    usage_all(stderr);
    return usage;
  }
  parsed_args args;
  try {
    args = parse_args(std::vector<std::string>(argv + 2, argv + argc), cmd->options);
    if (args.has("help")) {
      std::printf("usage: stratum %s\n\n%s", cmd->synopsis, cmd->help);
      for (auto& o : cmd->options)
        if (o.name == "endpoint") std::printf("%s", store_help);
      return ok;
    }
    if (args.positional.size() < cmd->min_args || args.positional.size() > cmd->max_args)
      fail(errc::usage, "wrong number of arguments");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stratum %s: %s\nusage: stratum %s\n", name.c_str(), e.what(), cmd->synopsis);
    return usage;
  }

  context c;
  ctx = &c;
  int code = fatal;
  std::exception_ptr error;
  asio::co_spawn(c.io, cmd->run(args), [&](std::exception_ptr e, int r) {
    error = e;
    code = r;
  });
  c.io.run();
  ctx = nullptr;
  if (!error) return code;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    if (is(e, errc::usage)) {
      std::fprintf(stderr, "stratum %s: %s\n", name.c_str(), e.what());
      return usage;
    }
    std::fprintf(stderr, "stratum %s: %s\n", name.c_str(), e.what());
    if (cmd->fatal_hint) std::fprintf(stderr, "%s\n", cmd->fatal_hint);
    return fatal;
  }
}

}  // namespace stratum::cmd
