// `stratum tag`: lists and inspects the tags of a repository (STORE alone,
// read like every read command) and adds or removes them (STATE STORE, the
// publisher's: catalog/publish/tag_edit.hpp does the edit), as
// `cvmfs_server tag` does. Thread: the main thread, which runs the io_context.
#include "async/error.hpp"
#include "catalog/format/native_format.hpp"
#include "catalog/publish/tag_edit.hpp"
#include "cmd/command.hpp"
#include "cmd/format_choice.hpp"
#include "cmd/json.hpp"
#include "cmd/state_settings.hpp"
#include "storage/journal/journal.hpp"

#include <cstdio>
#include <filesystem>

namespace stratum::cmd {
namespace {

void print_tags(const std::vector<tag>& tags, const format_reader& f) {
  std::printf("%-24s %8s  %-19s  %s\n", "NAME", "REVISION", "TIME (UTC)", "ROOT CATALOG / DESCRIPTION");
  for (const auto& t : tags)
    std::printf("%-24s %8llu  %s  %s%s%s\n", escape_name(t.name).c_str(), (unsigned long long)t.revision,
                time_string(t.timestamp).c_str(), f.hash_text(t.root).c_str(), t.description.empty() ? "" : "  ",
                escape_name(t.description).c_str());
}

void print_tag(const tag& t, const format_reader& f) {
  std::printf("name:            %s\nrevision:        %llu\ntime:            %s UTC\nroot catalog:    %s\n"
              "root size:       %llu\ndescription:     %s\n",
              escape_name(t.name).c_str(), (unsigned long long)t.revision, time_string(t.timestamp).c_str(),
              f.hash_text(t.root).c_str(), (unsigned long long)t.root_size, escape_name(t.description).c_str());
}

// `tag STORE` and `tag -i NAME STORE`: reads only.
awaitable<int> show(parsed_args& a) {
  if (a.positional.size() != 1) fail(errc::usage, "listing or inspecting tags takes STORE alone");
  std::unique_ptr<backend> store;
  auto repo = co_await open_repo(a.positional[0], a, store);
  const auto& h = repo->history();
  std::vector<tag> shown = h.tags;
  if (auto name = a.get("inspect")) {
    const tag* t = h.find(*name);
    if (!t) fail(errc::usage, "no tag '" + *name + "' in '" + store->describe() + "' (its tags: " + tag_names(h) + ")");
    shown = {*t};
  }
  if (a.has("json")) std::fputs(tags_json(store->describe(), repo->head().revision, shown, repo->format()).c_str(), stdout);
  else if (a.has("inspect")) print_tag(shown.front(), repo->format());
  else print_tags(shown, repo->format());
  co_return ok;
}

awaitable<int> do_tag(parsed_args& a) {
  const bool edit = a.has("add") || a.has("remove");
  if (!edit) {
    for (const char* o : {"message", "revision", "root", "key"})
      if (a.has(o)) fail(errc::usage, std::string("--") + o + " belongs to -a NAME (adding a tag)");
    co_return co_await show(a);
  }
  if (a.has("inspect")) fail(errc::usage, "-i inspects a tag; it does not go with -a or -r");
  if (a.positional.size() < 2) fail(errc::usage, "adding or removing tags takes STATE STORE");
  tag_request r;
  r.add = a.get("add");
  r.message = a.get_or("message", "");
  if (a.has("revision")) r.revision = a.number("revision", 0);
  r.root = a.get("root");
  // -r NAME, and more names after STATE STORE.
  if (auto first = a.get("remove")) r.remove.push_back(*first);
  if (a.positional.size() > 2) {
    if (!a.has("remove")) fail(errc::usage, "wrong number of arguments: extra names are tags to remove, after -r NAME");
    r.remove.insert(r.remove.end(), a.positional.begin() + 2, a.positional.end());
  }
  const std::string state = a.positional[0], spec = a.positional[1];
  if (!std::filesystem::is_directory(state)) fail(errc::usage, "STATE '" + state + "' is not a directory");
  require_writable_store(spec);
  auto fmt = chosen_format(a, state, false);
  signing_key key;
  if (!fmt) {
    key = state_signing_key(a, state);
  }
  tag_edit_options o;
  o.expiry_seconds = expiry_seconds(a, state, 0);
  auto j = journal::open(state);  // its lock: no publish of this STATE runs meanwhile
  auto store = open_store(spec, store_use::write, ctx->io, ctx->p.blocking, remote(a));
  const auto writer = fmt ? std::move(fmt) : make_native_writer(compression{});
  auto m = co_await edit_tags(*store, *j, *writer, key, ctx->p.cpu, r, o);
  if (!a.has("quiet")) {
    if (r.add) std::fprintf(stderr, "tagged %s as '%s'\n", escape_name(store->describe()).c_str(), r.add->c_str());
    for (const auto& n : r.remove) std::fprintf(stderr, "removed tag '%s'\n", escape_name(n).c_str());
    std::fprintf(stderr, "signed revision %llu of %s again with the new history\n", (unsigned long long)m.revision,
                 escape_name(store->describe()).c_str());
  }
  co_return ok;
}

}  // namespace

std::vector<command> tag_commands() {
  return {
      {"tag", "tag STORE | tag -i NAME STORE | tag STATE STORE -a NAME [-m TEXT] [--revision N | --root HASH] | tag STATE STORE -r NAME...",
       "Lists the tags of the repository in STORE (name, revision, time, root catalog, description),\n"
       "inspects one (-i NAME), or, given the publisher's STATE, adds or removes tags as\n"
       "cvmfs_server tag does. An edit writes a new history and the manifest again, signed, with the\n"
       "same revision number and root catalog (docs/DESIGN.md, \"Tags\").\n\n"
       "  -i, --inspect NAME  show one tag\n"
       "  -x, --json          machine-readable output (one JSON object)\n"
       "  -a, --add NAME      add tag NAME: letters, digits, '.', '_' and '-'; a tag does not move, so\n"
       "                      an existing NAME is refused\n"
       "  -m, --message TEXT  the new tag's description\n"
       "  --revision N        tag revision N instead of the current one (one the history knows)\n"
       "  --root HASH         tag the revision with this root catalog (one the history knows)\n"
       "  -r, --remove NAME   remove tag NAME; names after STATE STORE are removed too. trunk and\n"
       "                      trunk-previous cannot be removed\n"
       "  --key FILE          signing key (default STATE/keys/stratum.key)\n"
       "  --expiry DAYS       the manifest's validity, as for publish (default: what STATE recorded)\n"
       "  -q, --quiet         no message\n\n"
       "Exit 0: done; 2: usage error (an unknown tag, a name not allowed, trunk), nothing changed;\n"
       "3: failed (run the same command again).\n",
       with_read_options({{"inspect", 'i', true}, {"json", 'x'}, {"add", 'a', true}, {"message", 'm', true},
                          {"revision", 0, true}, {"root", 0, true}, {"remove", 'r', true}, {"key", 0, true},
                          {"expiry", 0, true}, {"quiet", 'q'}, opt_help}),
       1, 64, do_tag, "see with 'stratum tag STORE' whether the change was made, and run the same command again if not"},
  };
}

}  // namespace stratum::cmd
