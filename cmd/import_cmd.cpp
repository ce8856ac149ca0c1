// `stratum import STATE STORE [--keys DIR] [--source DIR]`: makes a
// publisher's STATE from a repository already in STORE, as `cvmfs_server
// import` does, so a publishing job moves to another machine (or takes over
// a repository cvmfs_server wrote): settings, keys and a journal filled from
// the current revision's catalogs (catalog/publish/journal_from_revision.hpp),
// after which `stratum publish STATE SOURCE STORE` is incremental.
// Everything is checked (STATE empty, a repository in STORE, the keys are
// the repository's) before anything is created. Thread: the main thread,
// which runs the io_context.
#include "async/error.hpp"
#include "catalog/format/cvmfs/cvmfs_format.hpp"
#include "catalog/format/cvmfs/keys.hpp"
#include "catalog/format/cvmfs/manifest.hpp"
#include "catalog/format/native_format.hpp"
#include "catalog/publish/journal_from_revision.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/publish/run_state.hpp"
#include "io/compress.hpp"
#include "cmd/command.hpp"
#include "cmd/state_settings.hpp"
#include "storage/journal/journal.hpp"

#include <cstdio>
#include <filesystem>

namespace stratum::cmd {
namespace {

namespace fs = std::filesystem;

// cvmfs_server's compression: zlib's default level (Z_DEFAULT_COMPRESSION).
constexpr int cvmfs_server_level = 6;

// What STATE gets, decided (and checked) before any of it is written.
struct taken_over {
  std::unique_ptr<format_writer> writer;  // the repository's format, with its keys
  signing_key key;                        // STATE/keys/stratum.key
  std::unique_ptr<repository> repo;
  std::map<std::string, std::string> settings;
};

void refuse_non_empty(const std::string& state) {
  for (const char* part : {"journal", "settings", "keys"}) {
    std::error_code ec;
    if (fs::exists(state + "/" + part, ec))
      fail(errc::usage, "STATE '" + state + "' already holds '" + part +
                            "': import makes a new STATE. Nothing was changed; give an empty or new directory");
  }
}

trust_options own_key(bytes anchor, std::string from) {
  trust_options t;
  t.pinned_key = std::move(anchor);
  t.pinned_from = std::move(from);
  t.allow_expired = true;  // the next publish renews an expired manifest
  return t;
}

// The repository's own format: the Ed25519 key DIR/stratum.key must be the
// one that signed the manifest.
awaitable<taken_over> take_native(backend& store, const std::string& keys) {
  taken_over t;
  const std::string file = keys + "/stratum.key";
  t.key = signing_key::load(file);
  t.writer = make_native_writer(compression{});
  try {
    t.repo = co_await repository::open(store, ctx->p.cpu, own_key(t.writer->trust_anchor(t.key), file),
                                       make_native_reader(), read_limits{std::uint64_t(1) << 32});
  } catch (const std::exception& e) {
    if (!is(e, errc::corrupt)) throw;
    fail(errc::usage, "the repository in '" + store.describe() + "' is not signed by the key in '" + file +
                          "' (" + e.what() + "). Nothing was created; give --keys DIR holding the repository's stratum.key");
  }
  t.settings["format"] = "stratum";
  co_return t;
}

// The first file of the revision stored whole (not chunked, at most 4 MiB),
// looked for in up to 64 catalogs, root first: its content and name.
awaitable<std::optional<std::pair<bytes, hash256>>> sample_object(repository& repo) {
  std::vector<hash256> todo{repo.head().root};
  for (std::size_t seen = 0; !todo.empty() && seen < 64; ++seen) {
    const hash256 h = todo.front();
    todo.erase(todo.begin());
    auto c = co_await repo.load_catalog(h);
    for (const auto& e : c->entries)
      if (e.type == entry_type::regular && e.object && e.chunks.empty() && e.size > 0 && e.size <= (4u << 20)) {
        auto content = co_await repo.read_object(*e.object, object_kind::file, e.size);
        repo.forget(h);
        co_return std::pair{std::move(content), *e.object};
      }
    for (const auto& n : c->nested) todo.push_back(n.hash);
    repo.forget(h);
  }
  co_return std::nullopt;
}

// CernVM-FS: the key set DIR/FQRN.{masterkey,pub,key,crt}, as cvmfs_server
// keeps it in /etc/cvmfs/keys. The master key must sign the whitelist, and
// the certificate must be the one the store publishes (the manifest's X).
awaitable<taken_over> take_cvmfs(backend& store, const bytes& manifest_text, const std::string& keys, int level,
                                 bool level_given) {
  auto m = cvmfs::parse_manifest(to_string(manifest_text));
  const std::string name = m.fqrn;
  cvmfs::check_fqrn(name);
  auto set = cvmfs::key_set::load(keys, name);  // errc::usage naming a missing or mismatched file
  const std::string master = set.master_public.public_pem(), crt = keys + "/" + name + ".crt";
  const bytes cert_der = set.cert.der();
  taken_over t;
  t.writer = std::make_unique<cvmfs::cvmfs_writer>(std::move(set), m.root_catalog.algo, level);
  try {
    t.repo = co_await repository::open(store, ctx->p.cpu,
                                       own_key(bytes(as_bytes(master).begin(), as_bytes(master).end()), keys + "/" + name + ".pub"),
                                       t.writer->reader(), read_limits{std::uint64_t(1) << 32});
  } catch (const std::exception& e) {
    if (!is(e, errc::corrupt)) throw;
    fail(errc::usage, "the repository '" + name + "' in '" + store.describe() + "' is not vouched for by the master key '" +
                          keys + "/" + name + ".pub' (" + e.what() + "). Nothing was created; give --keys DIR holding its key set");
  }
  // The certificate the manifest names, compared with FQRN.crt (whose key
  // FQRN.key is, as key_set::load checked): publishing with another one
  // would sign with a key the whitelist does not list.
  const auto& r = t.repo->format();
  const hash256 x = t.repo->head().public_key;
  auto stored = co_await store.get(r.object_key(x, object_kind::public_key));
  if (!stored) fail(errc::corrupt, store.describe() + ": the certificate object the manifest names is missing");
  auto pem = r.open_object(*stored, x, object_kind::public_key, std::nullopt, r.public_key_size());
  if (cvmfs::certificate::from_pem(to_string(pem), "the store's certificate").der() != cert_der)
    fail(errc::usage, "'" + crt + "' is not the certificate the repository '" + name + "' publishes in '" +
                          store.describe() + "'. Nothing was created; give --keys DIR holding its key set (" + name +
                          ".crt and " + name + ".key)");
  // Objects are named by their stored bytes: a file read again finds its
  // object only if compressed as it was. stratum writes libdeflate at
  // --level; cvmfs_server, zlib at level 6. The compressor that reproduces
  // a stored object's name is the repository's.
  if (auto sample = co_await sample_object(*t.repo)) {
    const auto& [content, h] = *sample;
    const auto a = m.root_catalog.algo;
    const bool ours = cvmfs::digest(deflate_object(content, compression{level, true}), a) == h;
    if (!ours && cvmfs::digest(zlib_deflate(content, cvmfs_server_level), a) == h) {
      if (level_given && level != cvmfs_server_level)
        fail(errc::usage, "the repository '" + name + "' is compressed as cvmfs_server does (zlib, level 6): --level " +
                              std::to_string(level) + " would name every file read again anew. Nothing was created");
      level = cvmfs_server_level;
      t.settings["compressor"] = "zlib";
      t.writer = std::make_unique<cvmfs::cvmfs_writer>(cvmfs::key_set::load(keys, name), a, level, true);
    }
  }
  t.key = signing_key::generate();  // recorded by the journal only; CernVM-FS signs with the key set
  t.settings.insert({{"format", "cvmfs"}, {"name", name}, {"hash", std::string(cvmfs::algorithm_name(m.root_catalog.algo))},
                {"keys", fs::absolute(keys).lexically_normal().string()}, {"level", std::to_string(level)}});
  co_return t;
}

// Objects a publish stores every time (the public key object, the format's
// implicit objects and meta-info) that the store holds already: confirmed,
// so the next publish does not send them again.
awaitable<std::size_t> confirm_fixed_objects(backend& store, const taken_over& t, journal& j) {
  const format_writer& w = *t.writer;
  std::vector<std::pair<bytes, object_kind>> fixed{{w.public_key_object(t.key), object_kind::public_key}};
  for (auto& b : w.implicit_objects()) fixed.emplace_back(std::move(b), object_kind::file);
  if (auto mi = w.meta_info()) fixed.emplace_back(std::move(*mi), object_kind::meta_info);
  std::size_t n = 0;
  for (auto& [content, kind] : fixed) {
    const hash256 h = w.names_by_content() ? w.object_hash(content) : w.object_hash(w.compress(content, kind));
    if (!co_await store.stat(w.object_key(h, kind))) continue;
    j.put(pj::object_key(h, kind), "0 1");
    ++n;
  }
  co_return n;
}

awaitable<int> do_import(parsed_args& a) {
  const std::string state = a.positional[0], spec = a.positional[1];
  require_writable_store(spec);
  refuse_non_empty(state);
  std::string source;
  if (auto s = a.get("source")) {
    // Recorded as publish records it: absolute, without a trailing '/'.
    source = fs::absolute(*s).lexically_normal().string();
    while (source.size() > 1 && source.back() == '/') source.pop_back();
    if (!fs::is_directory(source)) fail(errc::usage, "--source '" + *s + "' is not a directory");
  }
  const int level = static_cast<int>(a.number("level", cvmfs::cvmfs_writer::default_level));
  if (level < 0 || level > 12) fail(errc::usage, "--level must be 0..12");

  auto store = open_store(spec, store_use::write, ctx->io, ctx->p.blocking, remote(a));
  taken_over t;
  if (auto native = co_await store->get(manifest_key, 0, manifest_max_size)) {
    if (!a.has("keys")) fail(errc::usage, "--keys DIR is needed: the directory holding the repository's stratum.key");
    t = co_await take_native(*store, a.get_or("keys", ""));
  } else if (auto cv = co_await store->get(cvmfs::manifest_file, 0, manifest_max_size)) {
    t = co_await take_cvmfs(*store, *cv, a.get_or("keys", "/etc/cvmfs/keys"), level, a.has("level"));
  } else {
    fail(errc::usage, "store '" + store->describe() + "' holds no repository (no " + manifest_key + " nor " +
                          cvmfs::manifest_file + "). Nothing was created");
  }
  const manifest head = t.repo->head();

  // Checked: now STATE is made. The journal's meta records go last, so an
  // import stopped halfway leaves a journal a publish does not trust (it
  // then reads every file and asks the store before sending).
  std::error_code ec;
  fs::create_directories(state, ec);
  if (ec) fail(errc::usage, "cannot create STATE directory '" + state + "': " + ec.message());
  for (auto& [k, v] : t.settings) write_setting(state, k, v);
  t.key.save(state + "/keys");
  auto j = journal::open(state);
  revision_load_options o;
  o.run = 1;
  auto loaded = co_await journal_from_revision(*t.repo, head.root, head.timestamp, *j, o);
  j->put(pj::object_key(head.history, object_kind::history), "0 1");
  const std::size_t fixed = co_await confirm_fixed_objects(*store, t, *j);
  journal::batch b;
  b.put(pj::meta_key("source"), source);
  b.put(pj::meta_key("store"), store->describe());
  b.put(pj::meta_key("key"), t.key.fingerprint().hex());
  b.put(pj::meta_key("run"), "1");
  b.put(pj::meta_key("base"), manifest_id(head));
  b.put(pj::meta_key("published"), manifest_id(head));
  b.put(pj::meta_key("verify"), "0");
  b.put(pj::meta_key("state"), "finished");
  j->write(b);
  j->sync();
  j->checkpoint(true);
  if (!a.has("quiet"))
    std::fprintf(stderr,
                 "imported revision %llu of %s (%s format) into STATE '%s': %llu entries in %llu catalog(s), %llu "
                 "object(s) known; %llu file(s) will be read once by the next publish to compare them (their "
                 "catalog cannot tell a change by mtime)\n",
                 (unsigned long long)head.revision, escape_name(store->describe()).c_str(),
                 t.settings["format"].c_str(), escape_name(state).c_str(), (unsigned long long)loaded.entries,
                 (unsigned long long)loaded.catalogs, (unsigned long long)(loaded.objects + fixed + 1),
                 (unsigned long long)loaded.unsure);
  co_return ok;
}

}  // namespace

std::vector<command> import_commands() {
  return {
      {"import", "import STATE STORE [--keys DIR] [--source DIR]",
       "Makes STATE, a new publisher's state, from the repository already in STORE, as cvmfs_server\n"
       "import does: its settings, its keys and a journal of the current revision's tree. The next\n"
       "'stratum publish STATE SOURCE STORE' is then incremental: a file whose type, size, mode,\n"
       "owner, mtime (to the nanosecond), xattrs and link target match its catalog entry is not read;\n"
       "others are read, and only content the store lacks is sent. An mtime kept to the second only\n"
       "(CernVM-FS) or within 2 s of the revision's publish time cannot tell a change: those files are\n"
       "read once (docs/DESIGN.md, \"Import\").\n\n"
       "  --keys DIR          stratum's format: DIR/stratum.key, the key that signed the repository\n"
       "                      (publish --new writes it to STATE/keys). CernVM-FS: the key set\n"
       "                      DIR/FQRN.masterkey, .pub, .key and .crt (default /etc/cvmfs/keys, where\n"
       "                      cvmfs_server keeps it; FQRN from the manifest), kept where it is\n"
       "  --source DIR        the directory published next; default: the SOURCE of the first publish\n"
       "  --level N           CernVM-FS: libdeflate's level for new objects (default 1; fixed). A\n"
       "                      repository cvmfs_server wrote (zlib, level 6; found from a stored object)\n"
       "                      is compressed as it did, so files read again find their objects\n"
       "  -q, --quiet         no summary\n\n"
       "Refused, with nothing created: a STATE that holds a journal, settings or keys, a store with\n"
       "no repository, keys that are not the repository's.\n"
       "Exit 0: imported; 2: usage error; 3: failed (remove STATE and run it again).\n",
       with_store_options({{"keys", 0, true}, {"source", 0, true}, {"level", 0, true}, {"quiet", 'q'}, opt_help}), 2, 2,
       do_import, "remove STATE and run the same command again"},
  };
}

}  // namespace stratum::cmd
