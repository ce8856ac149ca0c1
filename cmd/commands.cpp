// run(): parses argv, runs the chosen command (publish_cmd.cpp,
// read_cmds.cpp) as a coroutine on the main thread's io_context and maps its
// outcome to an exit code (cmd/cmd.hpp); and the helpers the commands share
// (cmd/command.hpp).
#include "async/error.hpp"
#include "catalog/read/differ.hpp"
#include "catalog/format/signing.hpp"
#include "catalog/publish/publisher.hpp"
#include "cmd/command.hpp"
#include "cmd/state_settings.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace stratum::cmd {

context* ctx = nullptr;

void print_problems(const std::vector<problem>& ps, const char* verb) {
  std::size_t shown = 0;
  for (auto& p : ps) {
    if (++shown > 20) {
      std::fprintf(stderr, "... and %zu more\n", ps.size() - 20);
      break;
    }
    std::fprintf(stderr, "%s: %s: %s\n", verb, escape_name(p.path).c_str(), escape_name(p.message).c_str());
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
  o.max_attempts = static_cast<unsigned>(std::clamp(a.number("retries", o.max_attempts - 1) + 1, 1ul, 1000ul));
  return o;
}

namespace {

namespace fs = std::filesystem;

// A public key file: stratum's Ed25519 key as its 32 raw bytes; an RSA
// public key (a CernVM-FS master key, FQRN.pub) as its PEM text, which the
// reader checks and makes canonical.
bytes public_key_file(const std::string& path) {
  try {
    return load_public_key(path);
  } catch (const std::exception& e) {
    if (!is(e, errc::usage)) throw;
    std::ifstream in(path, std::ios::binary);
    std::string text(64 << 10, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.find("-----BEGIN PUBLIC KEY-----") == std::string::npos) throw;
    return bytes(as_bytes(text).begin(), as_bytes(text).end());
  }
}

// --pubkey PATH: a public key file (stratum.pub, or a CernVM-FS FQRN.pub), or
// the STATE directory of the repository's publisher (its keys/stratum.pub,
// the key itself, or the master public key of its CernVM-FS key set).
bytes pinned_key(const parsed_args& a) {
  auto k = a.get("pubkey");
  if (!k) return {};
  std::error_code ec;
  if (!fs::is_directory(*k, ec)) return public_key_file(*k);
  if (auto fqrn = read_setting(*k, "name")) {  // a CernVM-FS publisher's STATE
    const std::string pub = read_setting(*k, "keys").value_or(*k + "/keys") + "/" + *fqrn + ".pub";
    if (fs::exists(pub, ec)) return public_key_file(pub);
  }
  for (const char* name : {"/keys/stratum.pub", "/stratum.pub"})
    if (fs::exists(*k + name, ec)) return public_key_file(*k + name);
  if (fs::exists(*k + "/keys/stratum.key", ec)) return signing_key::load(*k + "/keys/stratum.key").public_raw();
  fail(errc::usage, "--pubkey '" + *k + "' is a directory without keys/stratum.pub or a CernVM-FS key set: give the "
                    "repository's public key file or its publisher's STATE directory");
}

// The repository as the known-repositories record names it: one name for
// one store, however the command line spells it (a local path made absolute
// with its symbolic links resolved; a remote store with its endpoint).
std::string repository_name(const std::string& spec, const backend& store, const store_options& o) {
  const bool local = spec.find("://") == std::string::npos && spec.rfind("mem:", 0) != 0;
  if (local) {
    std::error_code ec;
    auto p = fs::weakly_canonical(fs::absolute(spec), ec);
    std::string s = ec ? fs::absolute(spec).lexically_normal().string() : p.string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  }
  return store.describe() + (o.endpoint.empty() ? "" : " at " + o.endpoint);
}

}  // namespace

signing_key state_signing_key(const parsed_args& a, const std::string& state) {
  const std::string key_path = a.get_or("key", state + "/keys/stratum.key");
  if (!fs::exists(key_path))
    fail(errc::usage, "no signing key at '" + key_path + "': give --key FILE, the repository's private key");
  return signing_key::load(key_path);
}

trust_options reader_trust(const std::string& spec, const parsed_args& a, const backend& store, const store_options& o) {
  trust_options t;
  t.repository = repository_name(spec, store, o);
  t.pinned_key = pinned_key(a);
  t.known_file = default_known_file();
  t.allow_older = a.has("allow-older");
  t.allow_expired = a.has("allow-expired") || a.has("ignore-expiry");
  t.notice = [](const std::string& m) { std::fprintf(stderr, "stratum: warning: %s\n", m.c_str()); };
  if (t.known_file.empty() && t.pinned_key.empty())
    t.notice("neither XDG_CONFIG_HOME nor HOME is set, so no key can be remembered: the manifest is checked only "
             "against the key its store names. Pin the repository's key with --pubkey FILE");
  return t;
}

awaitable<std::unique_ptr<repository>> open_repo(const std::string& spec, const parsed_args& a, std::unique_ptr<backend>& store) {
  const store_options o = remote(a);
  store = open_store(spec, store_use::read, ctx->io, ctx->p.blocking, o);
  auto result_ = co_await repository::open(*store, ctx->p.cpu, reader_trust(spec, a, *store, o), nullptr, limits(a));
  co_return result_;
}

std::pair<hash256, std::uint64_t> chosen_revision(repository& repo, const parsed_args& a) {
  if (a.has("tag") && a.has("revision")) fail(errc::usage, "give --tag NAME or --revision N, not both");
  if (auto t = a.get("tag")) return {repo.root_for(t), repo.history().find(*t)->revision};
  if (auto n = a.get("revision")) {
    if (n->empty() || n->find_first_not_of("0123456789") != std::string::npos)
      fail(errc::usage, "--revision needs a revision number, not '" + *n + "' (a tag is given with --tag)");
    return {revision_root(repo, *n), std::stoull(*n)};
  }
  return {repo.head().root, repo.head().revision};
}

read_limits limits(const parsed_args& a) {
  read_limits l;
  // Up to 64 GiB: what a machine could hold, and MiB << 20 cannot overflow.
  constexpr unsigned long most_mib = 65536;
  const unsigned long mib = a.number("max-catalog-size", l.max_catalog_size >> 20);
  if (mib == 0 || mib > most_mib)
    fail(errc::usage, "--max-catalog-size takes MiB from 1 to " + std::to_string(most_mib) + ", not " + std::to_string(mib));
  l.max_catalog_size = std::uint64_t(mib) << 20;
  return l;
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

const option_spec opt_help{"help", 'h'};
const option_spec opt_tag{"tag", 0, true};
const option_spec opt_pubkey{"pubkey", 0, true};



std::vector<option_spec> with_store_options(std::vector<option_spec> v) {
  for (const char* name : {"endpoint", "region", "ca-file", "addressing", "max-requests", "request-timeout", "retries"}) v.push_back({name, 0, true});
  return v;
}

std::vector<option_spec> with_read_options(std::vector<option_spec> v) {
  v.push_back(opt_pubkey);
  v.push_back({"allow-older"});
  v.push_back({"allow-expired"});
  v.push_back({"ignore-expiry"});
  v.push_back({"max-catalog-size", 0, true});
  return with_store_options(std::move(v));
}


namespace {

const char* store_help =
    "\nSTORE is a directory, file:///abs/path, s3://BUCKET[/PREFIX], az://ACCOUNT/CONTAINER[/PREFIX]\n"
    "or https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]?SAS; to read only, any other\n"
    "http(s)://HOST[:PORT][/PATH] (a web server, such as a CernVM-FS Stratum 0/1). Azure credentials:\n"
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
    "  --retries N         times a request that failed transiently is sent again (default 9)\n"
    "Transient failures (5xx, 429, resets, timeouts) are retried with backoff, honouring Retry-After.\n";

const char* trust_help =
    "\nWhich repository is trusted (docs/SECURITY.md): the manifest must be signed with the key given\n"
    "with --pubkey or, without it, with the key recorded for this store the first time it was read\n"
    "(in $XDG_CONFIG_HOME/stratum/known_repositories; a warning names the key then). A revision older\n"
    "than one read before, or a manifest past its signed expiry, is refused.\n"
    "  --pubkey PATH       the repository's public key (stratum.pub), or its publisher's STATE\n"
    "  --allow-older       read a revision older than the newest seen (after a deliberate restore)\n"
    "  --allow-expired, --ignore-expiry   read a manifest (CernVM-FS: a whitelist) past its expiry\n"
    "A CernVM-FS repository is verified with its master public key (FQRN.pub): the first read needs\n"
    "--pubkey FILE (or the publisher's STATE); the key is kept beside the record for later reads.\n";

const std::vector<command>& commands() {
  static const std::vector<command> list = [] {
    auto v = publish_commands();
    for (auto& c : resign_commands()) v.push_back(std::move(c));
    for (auto& c : tag_commands()) v.push_back(std::move(c));
    for (auto& c : gc_commands()) v.push_back(std::move(c));
    for (auto& c : rollback_commands()) v.push_back(std::move(c));
    for (auto& c : catalog_chown_commands()) v.push_back(std::move(c));
    for (auto& c : import_commands()) v.push_back(std::move(c));
    for (auto& c : read_commands()) v.push_back(std::move(c));
    for (auto& c : list_catalogs_commands()) v.push_back(std::move(c));
    for (auto& c : mount_commands()) v.push_back(std::move(c));
    return v;
  }();
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
      for (auto& o : cmd->options) {
        if (o.name == "max-catalog-size") std::printf("%s", read_options_help);
        if (o.name == "endpoint") std::printf("%s", store_help);
        if (o.name == "allow-older") std::printf("%s", trust_help);
      }
      return ok;
    }
    if (args.positional.size() < cmd->min_args || args.positional.size() > cmd->max_args)
      fail(errc::usage, "wrong number of arguments");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stratum %s: %s\nusage: stratum %s\n", name.c_str(), escape_name(e.what()).c_str(), cmd->synopsis);
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
    // Messages name paths and objects a store chose: escaped like every name
    // shown, so none can carry terminal control sequences.
    const std::string message = escape_name(e.what());
    if (is(e, errc::usage)) {
      std::fprintf(stderr, "stratum %s: %s\n", name.c_str(), message.c_str());
      return usage;
    }
    std::fprintf(stderr, "stratum %s: %s\n", name.c_str(), message.c_str());
    if (cmd->fatal_hint) std::fprintf(stderr, "%s\n", cmd->fatal_hint);
    return fatal;
  }
}

}  // namespace stratum::cmd
