// What the command files share (cmd/commands.cpp runs them; publish_cmd.cpp
// and read_cmds.cpp define them): the table entry of a command, the event
// loop and pools of the running command, and the helpers every command that
// names a store uses. Thread: the main thread, which runs the io_context.
#pragma once

#include "catalog/gc/collector.hpp"
#include "catalog/read/repository.hpp"
#include "cmd/cmd.hpp"
#include "storage/backend.hpp"

#include <functional>
#include <memory>

namespace stratum {
struct problem;
}

namespace stratum::cmd {

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
extern context* ctx;

void print_problems(const std::vector<problem>& ps, const char* verb);
// The store options of the command line (--endpoint, --region, ...).
store_options remote(const parsed_args& a);
// What a reader trusts (catalog/read/trust.hpp), from --pubkey, --allow-older
// and --allow-expired, with the known-repositories record of this account.
// `o`: the store options the store was opened with (remote(a)).
trust_options reader_trust(const std::string& spec, const parsed_args& a, const backend& store, const store_options& o);
// Opens STORE and the repository in it, verified as the command line asks.
awaitable<std::unique_ptr<repository>> open_repo(const std::string& spec, const parsed_args& a, std::unique_ptr<backend>& store);
std::string mode_string(const entry& e);
std::string time_string(std::int64_t t);

extern const option_spec opt_help, opt_tag, opt_pubkey;
// Every command that names a STORE takes these.
std::vector<option_spec> with_store_options(std::vector<option_spec> v);
// Every command that reads a repository takes these too: the trust options
// (--pubkey, --allow-older, --allow-expired) and --max-catalog-size;
// `stratum CMD --help` then prints read_options_help (read_cmds.cpp).
std::vector<option_spec> with_read_options(std::vector<option_spec> v);
extern const char* const read_options_help;
// The revision --tag NAME or --revision N names (the current one without
// either): its root catalog and number. errc::usage for both at once, an
// unknown tag, a revision that is not a number or not in the history.
std::pair<hash256, std::uint64_t> chosen_revision(repository& repo, const parsed_args& a);
// The limits the command line sets for reading a repository.
read_limits limits(const parsed_args& a);

// The commands of each file, in the order `stratum --help` lists them.
// The Ed25519 key of an existing STATE (--key FILE, else STATE/keys/stratum.key),
// for the commands that sign its repository again (resign, tag). errc::usage
// naming the file when there is none.
signing_key state_signing_key(const parsed_args& a, const std::string& state);

std::vector<command> publish_commands();
std::vector<command> read_commands();
std::vector<command> list_catalogs_commands();
std::vector<command> resign_commands();
std::vector<command> tag_commands();
std::vector<command> rollback_commands();
std::vector<command> catalog_chown_commands();
std::vector<command> import_commands();
std::vector<command> gc_commands();
std::vector<command> mount_commands();
// gc with the options of the command line (--keep-since, --dry-run,
// --deletion-log, --key, --expiry, -q), its hooks (gc-before, gc-after) and
// STATE's lock taken for the collection alone: for `stratum gc` and
// `publish --gc` (cmd/gc_cmd.cpp).
struct gc_done {
  std::string store;  // as the store describes itself
  gc_result result;
  bool after_hook_ok = true;
};
awaitable<gc_done> gc_with_hooks(parsed_args& a, const std::string& state, const std::string& spec);

}  // namespace stratum::cmd
