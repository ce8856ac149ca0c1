// Objects to the store, once each (object_sink.hpp). prepare() runs on a CPU
// thread; store() and the waiters on the I/O thread.
#include "catalog/publish/object_sink.hpp"

#include "async/crash_point.hpp"
#include "async/error.hpp"
#include "catalog/publish/record.hpp"
#include "catalog/publish/run_state.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>

namespace stratum {

object_claim& object_claim::operator=(object_claim&& o) noexcept {
  if (this != &o) {
    release();
    sink_ = std::exchange(o.sink_, nullptr);
    jk_ = std::move(o.jk_);
  }
  return *this;
}

void object_claim::release() {
  if (auto* s = std::exchange(sink_, nullptr)) s->end_claim(jk_);
}

object_sink::object_sink(backend& store, run_state& run, group_writer& writes, const format_writer& fmt,
                         asio::io_context& io, publish_stats& stats)
    : store_(store), run_(run), writes_(writes), fmt_(fmt), io_(io), stats_(stats), checks_(store.caps().checks) {}

std::size_t object_sink::claims() const {
  std::lock_guard g(claimed_.mu);
  return claimed_.keys.size();
}

void object_sink::end_claim(const std::string& jk) {
  {
    std::lock_guard g(claimed_.mu);
    claimed_.keys.erase(jk);
  }
  // Off the I/O thread a claim ends only when prepare() fails: the run is
  // failing then, and the files waiting for the object end with its
  // cancellation. (A posted wake-up could outlive the sink.)
  if (io_.get_executor().running_in_this_thread()) wake(jk);
}

void object_sink::wake(const std::string& jk) {
  if (auto it = waiters_.find(jk); it != waiters_.end()) {
    it->second->cancel();
    waiters_.erase(it);
  }
}

prepared_object object_sink::prepare(byte_view data, object_kind kind) {
  const auto& fixed = run_.fixed();
  prepared_object p;
  p.kind = kind;
  // A format that names objects by their stored bytes must compress first.
  bytes stored;
  if (fmt_.names_by_content()) {
    p.h = fmt_.object_hash(data);
  } else {
    stored = fmt_.compress(data, kind);
    p.h = fmt_.object_hash(stored);
  }
  const std::string jk = pj::object_key(p.h, kind);
  if (run_.records().contains(jk)) {
    p.known = true;
    return p;
  }
  {
    std::lock_guard g(claimed_.mu);
    if (!claimed_.keys.insert(jk).second) return p;  // another file stores it
  }
  p.claim = object_claim(this, jk);
  // Another file may have stored it and let its claim go between the lookup
  // above and this claim (its confirmation is written before the claim
  // ends): then it is known, not to be stored twice.
  if (run_.records().contains(jk)) {
    p.claim.release();
    p.known = true;
    return p;
  }
  if (fmt_.names_by_content()) stored = fmt_.compress(data, kind);
  auto body = std::make_shared<const bytes>(std::move(stored));
  const std::string key = fmt_.object_key(p.h, kind);
  if (fixed.store_here) {
    p.body = put_body(std::move(body));
    // No intent record: a put from this thread leaves the object whole or
    // absent, so what an interrupted run was storing is what the store has
    // and the journal never confirmed. (An intent written here, one RocksDB
    // write per object from the CPU pool, was 30% of a Linux-tree publish.)
    p.resent = store_.put_here(key, p.body) && fixed.resumed;
  } else {
    if (!fixed.verify_with_store) p.resent = run_.begin_sending(jk);
    p.body = prepare_body(std::move(body), checks_);
  }
  return p;
}

awaitable<void> object_sink::store(prepared_object& p, journal::batch& records) {
  if (p.known) {
    ++stats_.objects_deduplicated;
    co_return;
  }
  const std::string jk = pj::object_key(p.h, p.kind);
  if (!p.body.data) {
    // Another file is storing the same content; this file is done only when
    // that object is confirmed.
    while (!run_.records().contains(jk)) {
      auto& slot = waiters_[jk];
      if (!slot) slot = std::make_shared<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
      auto t = slot;
      boost::system::error_code ec;
      co_await t->async_wait(asio::redirect_error(use_awaitable, ec));
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) throw boost::system::system_error(asio::error::operation_aborted);
    }
    ++stats_.objects_deduplicated;
    co_return;
  }
  const auto& fixed = run_.fixed();
  const std::string key = fmt_.object_key(p.h, p.kind);
  // Verifying is the one case where prepare() neither wrote the intent nor
  // stored the object (store_here is off then).
  if (fixed.verify_with_store && co_await present(key)) {
    records.put(jk, run_.confirmation(p.body.data->size()));
    ++stats_.objects_deduplicated;
    co_return;
  }
  // The intent is what lets a resumed run count what it sends again; only a
  // resumed run can find one.
  bool resent = p.resent;
  if (fixed.verify_with_store) resent = run_.begin_sending(jk);
  if (!fixed.store_here) co_await store_.put(key, p.body);
  if (resent) ++stats_.objects_resent;
  if (resent && fixed.store_here) ++stats_.in_flight_at_stop;  // found, not counted from intents
  records.put(jk, run_.confirmation(p.body.data->size()));
  ++stats_.objects_stored;
  stats_.bytes_stored += p.body.data->size();
  crash_point("upload");
}

awaitable<bool> object_sink::present(const std::string& key) {
  try {
    co_return (co_await store_.stat(key)).has_value();
  } catch (const std::exception& e) {
    // Something that is not an object (a FIFO, a symbolic link) is where
    // the object goes: the put replaces it.
    if (!is(e, errc::corrupt)) throw;
  }
  co_return false;
}

awaitable<void> object_sink::store(prepared_object& p) {
  journal::batch confirm;
  co_await store(p, confirm);
  if (!confirm.empty()) co_await writes_.write(confirm);
  p.claim.release();
}

}  // namespace stratum
