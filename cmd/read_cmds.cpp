// The commands that read a repository: ls, cat, restore, check, info, diff
// and keygen. Thread: the main thread, which runs the io_context.
#include "async/error.hpp"
#include "catalog/read/differ.hpp"
#include "catalog/read/restorer.hpp"
#include "cmd/command.hpp"
#include "cmd/json.hpp"

#include <cstdio>
#include <unistd.h>

namespace stratum::cmd {
namespace {

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
  // Messages quote names from the store: escaped like the names, so a crafted
  // name cannot send escape sequences to the terminal.
  for (auto& p : r.problems) std::fprintf(stderr, "%s: %s\n", escape_name(p.path).c_str(), escape_name(p.message).c_str());
  std::fprintf(stderr, "%s: %llu catalogs, %llu objects (%s)%s: %zu problem(s)\n", escape_name(store->describe()).c_str(),
               (unsigned long long)r.catalogs, (unsigned long long)r.objects, human_bytes(static_cast<double>(r.bytes)).c_str(),
               o.integrity ? " re-hashed" : " present", r.problems.size());
  co_return r.problems.empty() ? ok : problems;
}

awaitable<int> do_info(parsed_args& a) {
  std::unique_ptr<backend> store;
  auto repo = co_await open_repo(a.positional[0], a, store);
  auto root = co_await repo->load_root(repo->head().root);
  const auto& m = repo->head();
  const auto& s = root->stats;
  if (a.has("json")) {
    std::fputs(info_json(store->describe(), m, s, repo->history().tags.size()).c_str(), stdout);
    co_return ok;
  }
  const auto& f = repo->format();
  const std::string anchor_fp = sha256(repo->anchor()).hex();
  std::printf("store:           %s\nformat:          %s\nrevision:        %llu\npublished:       %s UTC\nroot catalog:    %s\n"
              "history:         %s\n%s%s (signature verified)\n"
              "files:           %llu (%s), %llu chunked into %llu chunks\ndirectories:     %llu\n"
              "symlinks:        %llu\nspecial files:   %llu\nnested catalogs: %llu\n",
              escape_name(store->describe()).c_str(), std::string(f.name()).c_str(), (unsigned long long)m.revision,
              time_string(m.timestamp).c_str(), f.hash_text(m.root).c_str(), f.hash_text(m.history).c_str(),
              // CernVM-FS signs with the certificate the whitelist lists.
              f.anchor_required() ? "certificate:     " : "signing key:     ", f.hash_text(m.public_key).c_str(),
              (unsigned long long)s.regular,
              human_bytes(static_cast<double>(s.bytes)).c_str(), (unsigned long long)s.chunked, (unsigned long long)s.chunks,
              (unsigned long long)s.directories, (unsigned long long)s.symlinks, (unsigned long long)s.specials,
              (unsigned long long)s.nested);
  // What a CernVM-FS client must be given: the master public key, kept
  // beside the trust record once a read was given it.
  if (f.anchor_required()) {
    const std::string kept = default_known_file().empty() ? "" : anchor_file(default_known_file(), sha256(repo->anchor()));
    std::printf("master key:      %s (SHA-256 %s; CVMFS_PUBLIC_KEY for clients; its publisher has it in STATE/keys)\n",
                kept.empty() ? "(not kept)" : escape_name(kept).c_str(), anchor_fp.c_str());
  }
  if (m.garbage_collectable)
    std::printf("collectable:     yes (stratum gc deletes old untagged revisions: an older revision may be gone)\n");
  for (auto& t : repo->history().tags)
    std::printf("tag:             %s -> revision %llu (%s)%s%s\n", t.name.c_str(), (unsigned long long)t.revision,
                time_string(t.timestamp).c_str(), t.description.empty() ? "" : ": ", escape_name(t.description).c_str());
  co_return ok;
}

awaitable<int> do_diff(parsed_args& a) {
  std::unique_ptr<backend> store;
  auto repo = co_await open_repo(a.positional[0], a, store);
  const std::string from = a.positional.size() > 1 ? a.positional[1] : "trunk-previous";
  const std::string to = a.positional.size() > 2 ? a.positional[2] : "trunk";
  auto d = co_await diff(*repo, revision_root(*repo, from), revision_root(*repo, to));
  if (a.has("json")) {
    std::fputs(diff_json(store->describe(), from, to, d).c_str(), stdout);
    co_return ok;
  }
  std::string out;
  for (const auto& c : d.changes) {
    out += char(c.kind);
    out += ' ';
    out += escape_name(c.path.empty() ? "." : c.path);
    if (c.kind == path_change::modified) {
      std::string what;
      for (auto& n : change_names(c.changes)) what += (what.empty() ? "" : ", ") + n;
      out += " (" + what + ")";
    }
    out += '\n';
  }
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) fail(errc::permanent, "cannot write to standard output");
  co_return ok;
}

awaitable<int> do_keygen(parsed_args& a) {
  signing_key::generate().save(a.positional[0]);
  std::fprintf(stderr, "wrote %s/stratum.key (private, keep it safe) and %s/stratum.pub\n", a.positional[0].c_str(), a.positional[0].c_str());
  co_return ok;
}

}  // namespace

const char* const read_options_help =
    "\nA store may be written by others, so a reader bounds what it takes from it: the manifest is read\n"
    "up to 64 KiB, and every catalog and the history inflate to exactly the size the publisher recorded.\n"
    "Those of repositories written by older versions carry no size, and are inflated up to:\n"
    "  --max-catalog-size MIB   the largest such catalog or history to accept (default 64); raise it\n"
    "                      for a trusted repository with larger catalogs\n";

std::vector<command> read_commands() {
  return {
      {"ls", "ls STORE [PATH] [--tag NAME] [-l]",
       "Lists a directory of the current (or tagged) revision. Names are printed with \\n, \\t, \\\\\n"
       "and \\xHH escapes for bytes that are not printable UTF-8.\n\n"
       "  -l, --long          mode, uid, gid, size, mtime (UTC, ns)\n",
       with_read_options({opt_tag, {"long", 'l'}, opt_help}), 1, 2, do_ls},
      {"cat", "cat STORE PATH [--tag NAME]", "Writes a file's content (verified) to standard output.\n",
       with_read_options({opt_tag, opt_help}), 2, 2, do_cat},
      {"restore", "restore STORE DEST [--tag NAME] [--path SUBTREE] [--force]",
       "Recreates the revision (or SUBTREE of it) in DEST, which must be empty or missing.\n\n"
       "  --force             restore into a non-empty DEST: regular files and empty directories in the\n"
       "                      way are replaced, anything else (a symlink) is left alone and reported\n"
       "  --owners / --no-owners   set uid/gid (default: when run as root)\n",
       with_read_options({opt_tag, {"path", 0, true}, {"force"}, {"owners"}, {"no-owners"}, {"quiet", 'q'}, opt_help}), 2, 2,
       do_restore},
      {"check", "check STORE [-i] [-s SUBTREE]",
       "Verifies the manifest signature and every catalog of the current and tagged revisions (including\n"
       "everything restore would refuse), and that every object they name exists. Exit 1 and a list of\n"
       "problems if anything is wrong, 3 if the repository cannot be verified at all.\n\n"
       "  -i, --integrity     also fetch every object and re-hash its data\n"
       "  -s, --subtree PATH  only objects below PATH (a path no revision holds is a usage error)\n",
       with_read_options({{"integrity", 'i'}, {"subtree", 's', true}, opt_help}), 1, 1, do_check},
      {"info", "info STORE [--json]",
       "Shows the manifest, revision, statistics and tags.\n\n"
       "  --json              as one JSON object (the store's name as in the text output: \\n, \\t,\n"
       "                      \\\\ and \\xHH for bytes that are not printable UTF-8)\n",
       with_read_options({{"json"}, opt_help}), 1, 1, do_info},
      {"diff", "diff STORE [FROM [TO]] [--json]",
       "Lists what changed from revision FROM (default trunk-previous) to TO (default trunk), each a tag\n"
       "name or a revision number (a CernVM-FS history knows tagged revisions only). One line a path, in\n"
       "the repository's path order, names escaped as ls prints them:\n"
       "  A PATH              added (every path below an added directory too)\n"
       "  R PATH              removed (likewise)\n"
       "  M PATH (WHAT, ...)  modified: content, size, type, mode, owner, mtime, xattrs, target, device\n"
       "Nested catalogs the two revisions share are not read. Differences are not an error (exit 0).\n\n"
       "  --json              as one JSON object: arrays added, removed and modified ({path, changes})\n",
       with_read_options({{"json"}, opt_help}), 1, 3, do_diff},
      {"keygen", "keygen DIR", "Writes a new Ed25519 key pair: DIR/stratum.key and DIR/stratum.pub.\n", {opt_help}, 1, 1,
       do_keygen}
  };
}

}  // namespace stratum::cmd
