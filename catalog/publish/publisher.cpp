// A publish, start to end (publisher.hpp). This file reads as the table of
// contents of the pipeline: run() checks that STATE, SOURCE and STORE belong
// together, then publishes the files (scan.cpp on the walker thread,
// file_stage.cpp and object_sink.cpp on the I/O thread and the CPU pool),
// then the catalogs (catalog_builder.cpp), the history, and the signed
// manifest, last. Thread: the I/O thread.
#include "catalog/publish/publisher.hpp"

#include "async/crash_point.hpp"
#include "async/error.hpp"
#include "catalog/format/native_format.hpp"
#include "catalog/publish/catalog_builder.hpp"
#include "catalog/publish/file_stage.hpp"
#include "catalog/publish/object_sink.hpp"
#include "catalog/publish/head.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/publish/restart_check.hpp"
#include "catalog/publish/run_state.hpp"
#include "catalog/publish/scan.hpp"
#include "catalog/publish/rollback.hpp"
#include "catalog/publish/tag_edit.hpp"
#include "catalog/read/repository.hpp"
#include "storage/journal/group_writer.hpp"

#include <cstring>
#include <ctime>
#include <sys/stat.h>

namespace stratum {

struct publisher::impl {
  impl(publisher& self, backend& store, journal& j, asio::io_context& io, asio::thread_pool& cpu,
       asio::thread_pool& blocking, signing_key key, publish_options opt, std::unique_ptr<format_writer> fmt)
      : st(self.stats_), store(store), j(j), io(io), cpu(cpu), blocking(blocking), key(std::move(key)),
        opt(std::move(opt)), fmt(fmt ? std::move(fmt) : make_native_writer(this->opt.comp)),
        run(j, this->opt.source, store.describe(), this->key.fingerprint().hex()),
        memory(io.get_executor(), this->opt.memory) {}

  publish_stats& st;  // I/O thread only
  backend& store;
  journal& j;
  asio::io_context& io;
  asio::thread_pool& cpu;
  asio::thread_pool& blocking;
  signing_key key;
  publish_options opt;
  std::unique_ptr<format_writer> fmt;
  run_state run;
  budget memory;
  // Made once the run's settings are fixed (store_here decides where the
  // journal writes go).
  std::unique_ptr<group_writer> writes;
  std::unique_ptr<object_sink> sink;

  // What the store's revision was made from besides the tree — the
  // layout's inputs and the owner maps — for the next run's "nothing
  // changed"; recorded just before run.finish (a kill in between costs the
  // next run a catalog rebuild).
  void note_made_from() {
    journal::batch b;
    b.put(pj::meta_key("layout"), opt.layout_id);
    b.put(pj::meta_key("owners"), opt.owners.text());
    j.write(b);
  }

  publish_result finished(const manifest& m, bool unchanged, const catalog_stats& totals, const layout_stats& layout = {}) {
    publish_result r;
    r.m = m;
    r.root_text = fmt->hash_text(m.root);
    r.unchanged = unchanged;
    r.totals = totals;
    r.layout = layout;
    r.problems = run.problems();
    st.phase = "done";
    return r;
  }

  awaitable<publish_result> go() {
    // 1. STATE, SOURCE and STORE belong together; start, resume or refuse.
    st.phase = "checking the store";
    std::unique_ptr<repository> previous;
    run.check_belongs(opt.fresh);
    if (opt.fresh) {
      auto any = co_await store.list("", 1);
      if (!any.empty())
        fail(errc::usage, "store '" + store.describe() + "' is not empty (it holds '" + any.front().key +
                              "'): --new needs an empty store; to publish the next revision, run without --new");
      run.start(1, "", false, true);
    } else {
      try {
        previous = co_await open_own(store, cpu, *fmt, key);
      } catch (const std::exception& e) {
        if (!is(e, errc::not_found)) throw;
      }
      const std::string current = previous ? manifest_id(previous->head()) : "";
      if (!run.meta("store")) {
        if (!previous) fail(errc::usage, "store '" + store.describe() + "' holds no repository yet: run with --new to create one");
        if (opt.log)
          opt.log("STATE '" + j.where() + "' has no journal of this store: every file is read once, and objects "
                  "already in the store are found there and not sent again");
        run.start(1, current, true, true);
      } else if (run.running()) {
        auto intent = run.meta("intent");
        if (intent && !current.empty() && *intent == current) {
          // The interrupted run wrote its manifest; only its bookkeeping is left.
          note_made_from();
          run.finish(current);
          catalog_stats totals;
          if (auto v = j.get(pj::catalog_key(""))) totals = pj::decode_catalog_record(*v, pj::catalog_key("")).stats;
          auto r = finished(previous->head(), false, totals);
          r.already_published = true;
          co_return r;
        }
        if (current != run.meta_or("base", "")) run.moved_on(current, run.meta_or("base", ""));
        run.resume();
        st.resumed = true;
      } else {
        // A tag edit or rollback killed once its manifest was written left
        // it to us (a rollback's also rebases the journal first).
        adopt_tag_edit(j, current);
        if (previous) co_await adopt_rollback(j, *previous, current);
        if (current != run.meta_or("published", "")) run.moved_on(current, run.meta_or("published", ""));
        run.start(run.recorded_run() + 1, current, false, false);
      }
    }
    // A tag names one revision for good: reusing a name would move it and
    // lose its description without a word.
    if (opt.tag && previous)
      if (auto* t = previous->history().find(*opt.tag))
        fail(errc::usage, "tag '" + *opt.tag + "' already names revision " + std::to_string(t->revision) + " of '" +
                              store.describe() + "': tags do not move; choose another name. Nothing was published");
    // The run's settings are fixed from here on.
    const std::size_t unconfirmed = run.open_intents(store.caps().puts_here);
    if (st.resumed) {
      // Objects a store writing from the calling thread had in flight are
      // found as they are stored again (object_sink::prepare); other stores'
      // are their unconfirmed intents.
      st.in_flight_at_stop = unconfirmed;
      if (opt.log)
        opt.log("resuming the interrupted publish of '" + opt.source + "'" +
                (run.fixed().store_here ? std::string()
                                        : " (" + std::to_string(unconfirmed) + " object(s) were being sent when it stopped)"));
      if (run.restarted()) {
        st.phase = "checking objects after a restart";
        st.objects_lost_in_restart = co_await recheck_after_restart(run, store, *fmt, opt.log);
        run.note_boot();
      }
    }
    writes = std::make_unique<group_writer>(j, io, blocking, !run.fixed().store_here);
    sink = std::make_unique<object_sink>(store, run, *writes, *fmt, io, st);

    // 2. The public key, so readers can verify the manifest.
    {
      auto pub = co_await run_on(cpu, [&] { return sink->prepare(fmt->public_key_object(key), object_kind::public_key); });
      co_await sink->store(pub);
      // Objects the format's catalogs name with no file behind them.
      for (const auto& content : fmt->implicit_objects()) {
        auto o = co_await run_on(cpu, [&] { return sink->prepare(content, object_kind::file); });
        co_await sink->store(o);
      }
      if (auto meta = fmt->meta_info()) {
        auto o = co_await run_on(cpu, [&] { return sink->prepare(*meta, object_kind::meta_info); });
        co_await sink->store(o);
      }
    }

    // 3. The files.
    if (run.meta_or("phase", "files") == "files") {
      co_await publish_files();
      run.set_phase("catalogs");
      // The files' records (tens of MB for a large tree) start moving into a
      // table file while the catalogs are built; finish() flushes the rest.
      j.checkpoint(false);
    }
    const bool want_tag = opt.tag.has_value();
    const bool layout_changed = run.meta_or("layout", "") != opt.layout_id;
    // Maps set or forgotten since the current revision was made (catalog-chown,
    // --reset) change its entries even when the source did not change.
    const bool owners_moved = run.meta_or("owners", owner_map{}.text().c_str()) != opt.owners.text();
    if (previous && !run.dirty() && !want_tag && !layout_changed && !owners_moved) {
      // Nothing changed since the last revision: publish nothing.
      run.finish(manifest_id(previous->head()));
      auto root = co_await previous->load_catalog(previous->head().root);
      co_return finished(previous->head(), true, root->stats);
    }

    // 4. The catalogs, nested ones first, encoded with the new revision's
    // number and time (a format may write them into its catalogs).
    st.phase = "planning catalogs";
    layout_stats layout =
        co_await run_on(cpu, [&] { return plan_catalogs(j, run.fixed().run, opt.layout, *fmt); });
    st.phase = "building catalogs";
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    const std::uint64_t next_revision = previous ? previous->head().revision + 1 : 1;
    std::optional<hash256> previous_root;
    if (previous) previous_root = previous->head().root;
    catalog_builder catalogs(run, *sink, *fmt, cpu, st, catalog_context{.revision = next_revision, .timestamp = now},
                             previous_root);
    catalogs.apply_owners(opt.owners);
    auto top = co_await catalogs.build("");
    if (previous && top.h == previous->head().root && !want_tag) {
      note_made_from();
      run.finish(manifest_id(previous->head()));
      co_return finished(previous->head(), true, top.stats, layout);
    }

    // 5. The history.
    st.phase = "writing history";
    history h = next_history(previous.get(), top.h, top.size, now, opt.tag, opt.tag_message);
    const std::uint64_t revision = h.revisions.back().revision;
    std::uint64_t history_size = 0;
    auto hp = co_await run_on(cpu, [&] {
      auto encoded = fmt->encode_history(h);
      history_size = encoded.size();
      return sink->prepare(encoded, object_kind::history);
    });
    co_await sink->store(hp);

    // 6. The manifest, last. It records what the root catalog and the
    // history inflate to, so a reader inflates exactly that much.
    st.phase = "writing the manifest";
    manifest m{.revision = revision, .timestamp = now, .root = top.h, .history = hp.h, .public_key = key.fingerprint(),
               .root_size = top.size, .history_size = history_size};
    if (opt.expiry_seconds > 0) m.expires = now + opt.expiry_seconds;
    // Once collected, always collectable: a reader must not trust an old
    // revision to be whole.
    m.garbage_collectable = previous && previous->head().garbage_collectable;
    // The intent tells a resumed run that a manifest it finds is its own.
    run.set_intent(manifest_id(m));
    co_await write_head(store, *fmt, key, m, now, nullptr, "before-manifest", "after-manifest");
    note_made_from();
    run.finish(manifest_id(m));
    co_return finished(m, false, top.stats, layout);
  }

  // The walker thread and the file stage, joined by a bounded channel.
  awaitable<void> publish_files() {
    // A bad SOURCE is a usage error with nothing read.
    struct stat s;
    if (::stat(opt.source.c_str(), &s) != 0) fail(errc::usage, "source '" + opt.source + "': " + std::strerror(errno));
    if (!S_ISDIR(s.st_mode)) fail(errc::usage, "source '" + opt.source + "' is not a directory: give the directory to publish");
    auto reader = make_file_reader(io, blocking, opt.reader, opt.max_files, opt.log);
    st.reader = reader->name();
    st.phase = "publishing files";
    // 64 listings in the channel bound the scan's lead over the readers (and
    // its memory) while leaving the workers always something to do.
    walk_channel walked(io, 64);
    scan_stage scan(run, opt.source, walked, blocking);
    file_stage files(run, *sink, *writes, *reader, memory, io, cpu, opt, st);
    scan.start();
    co_await files.run(walked);
    if (auto e = scan.error()) std::rethrow_exception(e);
  }
};

publisher::publisher(backend& store, journal& j, asio::io_context& io, asio::thread_pool& cpu, asio::thread_pool& blocking,
                     signing_key key, publish_options opt, std::unique_ptr<format_writer> fmt)
    : impl_(std::make_unique<impl>(*this, store, j, io, cpu, blocking, std::move(key), std::move(opt), std::move(fmt))) {}

publisher::~publisher() = default;

awaitable<publish_result> publisher::run() { return impl_->go(); }

}  // namespace stratum
