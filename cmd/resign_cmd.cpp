// `stratum resign STATE STORE`: signs the current manifest again with a new
// expiry, so readers keep accepting a repository that has not changed; for a
// CernVM-FS repository, signs a new `.cvmfswhitelist` with the master key,
// as `cvmfs_server resign` does. Nothing else is written; revision, root
// catalog and history stay as they are. Thread: the main thread, which runs
// the io_context.
#include "async/error.hpp"
#include "catalog/format/cvmfs/cvmfs_format.hpp"
#include "catalog/format/native_format.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/publish/run_state.hpp"
#include "cmd/command.hpp"
#include "cmd/format_choice.hpp"
#include "cmd/state_settings.hpp"
#include "storage/journal/journal.hpp"

#include <cstdio>
#include <ctime>
#include <filesystem>

namespace stratum::cmd {
namespace {

// The store's revision must not be older than the one STATE published
// there: signing a replayed manifest (or whitelist) would make it current.
void refuse_replay(journal& j, const std::string& state, const backend& store, std::uint64_t revision) {
  if (auto published = j.get(pj::meta_key("published"))) {
    const std::uint64_t ours = revision_of_id(*published, "journal in STATE '" + state + "', published revision");
    if (revision < ours)
      fail(errc::corrupt, store.describe() + " holds revision " + std::to_string(revision) + ", but STATE '" + state +
                              "' published revision " + std::to_string(ours) +
                              " there: an older manifest has been put back. Not signed; publish again from this STATE");
  }
}

awaitable<int> do_resign(parsed_args& a) {
  const std::string state = a.positional[0], spec = a.positional[1];
  if (!std::filesystem::is_directory(state)) fail(errc::usage, "STATE '" + state + "' is not a directory");
  // A CernVM-FS repository renews its whitelist; stratum's own, its manifest.
  auto cvmfs_fmt = chosen_format(a, state, false);
  std::optional<signing_key> key;
  if (!cvmfs_fmt) {
    key = state_signing_key(a, state);
  }
  // The journal's lock: no publish of this STATE runs meanwhile.
  auto j = journal::open(state);
  if (j->get(pj::meta_key("state")).value_or("") == "running")
    fail(errc::usage, "STATE '" + state + "' holds an interrupted publish: run it again to finish it, then resign");
  const std::int64_t validity = a.has("days") ? std::int64_t(a.number("days", 30)) * 86400
                                              : expiry_seconds(a, state, 30);
  if (validity == 0) fail(errc::usage, "a validity of 0 days means nothing expires: nothing to renew");

  auto store = open_store(spec, store_use::write, ctx->io, ctx->p.blocking, remote(a));
  if (auto ours = j->get(pj::meta_key("store")); ours && *ours != store->describe())
    fail(errc::usage, "STATE '" + state + "' publishes to '" + *ours + "', not to '" + store->describe() +
                          "': give the STATE of this store's publisher");
  trust_options own;
  own.pinned_from = "the key of STATE";
  own.allow_expired = true;  // renewing an expired manifest or whitelist is what this is for
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  if (cvmfs_fmt) {
    auto& w = static_cast<const cvmfs::cvmfs_writer&>(*cvmfs_fmt);
    const std::string master = w.keys().master_public.public_pem();
    own.pinned_key.assign(as_bytes(master).begin(), as_bytes(master).end());
    auto repo = co_await repository::open(*store, ctx->p.cpu, own, w.reader());
    refuse_replay(*j, state, *store, repo->head().revision);
    auto body = w.whitelist(std::chrono::sys_seconds(std::chrono::seconds(now)), std::chrono::seconds(validity));
    co_await store->put(cvmfs::whitelist_file, std::make_shared<const bytes>(std::move(body)));
    co_await store->sync();
    if (!a.has("quiet"))
      std::fprintf(stderr, "signed the whitelist of %s (revision %llu) again: valid until %s UTC\n", w.keys().fqrn.c_str(),
                   (unsigned long long)repo->head().revision, time_string(now + validity).c_str());
    co_return ok;
  }
  own.pinned_key = key->public_raw();
  auto repo = co_await repository::open(*store, ctx->p.cpu, own);
  manifest m = repo->head();
  refuse_replay(*j, state, *store, m.revision);
  m.expires = now + validity;
  auto fmt = make_native_writer(compression{});
  co_await store->put(fmt->manifest_key(), std::make_shared<const bytes>(fmt->encode_manifest(m, *key, {})));
  co_await store->sync();
  if (!a.has("quiet"))
    std::fprintf(stderr, "signed revision %llu of %s again: valid until %s UTC\n", (unsigned long long)m.revision,
                 escape_name(store->describe()).c_str(), time_string(m.expires).c_str());
  co_return ok;
}

}  // namespace

std::vector<command> resign_commands() {
  return {
      {"resign", "resign STATE STORE [--expiry DAYS]",
       "Signs the current manifest of the repository in STORE again, valid for DAYS more, so readers\n"
       "keep accepting an unchanged repository whose manifest expires (publish --expiry). Run it\n"
       "more often than DAYS, e.g. weekly from cron for 30 days. Only the manifest is written.\n"
       "A CernVM-FS repository (publish --format cvmfs): signs its .cvmfswhitelist again with the\n"
       "master key, valid for DAYS (default 30), as cvmfs_server resign does.\n\n"
       "  --expiry DAYS, --days DAYS  validity from now (default: what STATE recorded, else 30)\n"
       "  --key FILE          signing key (default STATE/keys/stratum.key)\n"
       "  -q, --quiet         no message\n\n"
       "Exit 0: signed; 2: usage error; 3: failed, the manifest is unchanged.\n",
       with_store_options({{"expiry", 0, true}, {"days", 0, true}, {"key", 0, true}, {"quiet", 'q'}, opt_help}), 2, 2, do_resign,
       "the manifest is unchanged"},
  };
}

}  // namespace stratum::cmd
