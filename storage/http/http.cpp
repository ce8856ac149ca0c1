#include "storage/http/http.hpp"

#include "async/error.hpp"
#include "storage/system_error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>

namespace stratum {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

// A body longer than this is an error: no object of a store is larger
// (stratum's are at most 16 MiB chunks; S3's single PUT at most 5 GiB).
constexpr std::uint64_t max_body_ever = std::uint64_t(1) << 32;
// A body's first piece when its length is not known (chunked, or up to the
// end of the connection), and how much of a length a server claims is
// reserved at once: above stratum's 16 MiB chunks and the manifest's and
// catalogs' usual sizes, so that one read takes a whole object.
constexpr std::uint64_t first_piece = 64u << 10;
constexpr std::uint64_t reserve_most = 64u << 20;

// Counts a connection in http_client::connections().open from its TCP
// connect until it is closed or destroyed, whatever ends it (an exception,
// a failed handshake, a coroutine destroyed with it).
class open_count {
 public:
  open_count() = default;
  open_count(const open_count&) = delete;
  open_count& operator=(const open_count&) = delete;
  ~open_count() { stop(); }
  void start(std::size_t& n) {
    stop();
    n_ = &n;
    ++n;
  }
  void stop() {
    if (n_) --*n_;
    n_ = nullptr;
  }

 private:
  std::size_t* n_ = nullptr;
};

struct connection {
  open_count counted;  // first: destroyed last, after the sockets close
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::string head;  // the request head being sent (its capacity is reused)
  // In the pool: when it went back, and until when it may be taken again.
  std::chrono::steady_clock::time_point idle_since, reuse_before;
  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  void close() {
    if (!plain && !secure) return;
    boost::system::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().socket().close(ec);
    counted.stop();
  }
};

bool is_ip(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

int session_slot() {
  static const int slot = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}

class client_impl final : public http_client {
 public:
  client_impl(asio::io_context& io, const http_endpoint& ep, const http_options& o) try
      : io_(io), ep_(ep), opt_(o), host_header_(ep.host_header()), ctx_(ssl::context::tls_client) {
    if (!ep_.tls) return;
    ctx_.set_verify_mode(ssl::verify_peer);
    // Resume TLS sessions: a new connection presents the latest ticket the
    // server gave and skips decoding and verifying its certificate chain.
    // (Asio keeps its verify callback in the context's app data: ours goes
    // in an index of its own.)
    SSL_CTX* native = ctx_.native_handle();
    SSL_CTX_set_ex_data(native, session_slot(), this);
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(native, [](SSL* s, SSL_SESSION* session) {
      auto* self = static_cast<client_impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), session_slot()));
      if (!self) return 0;  // the client is gone (an SSL can outlive it): OpenSSL frees the session
      self->session_.reset(session);
      return 1;  // the reference is ours
    });
    boost::system::error_code ec;
    if (opt_.ca_file.empty()) ctx_.set_default_verify_paths(ec);
    else ctx_.load_verify_file(opt_.ca_file, ec);
    if (ec)
      fail(errc::usage, opt_.ca_file.empty() ? "cannot load the system's CA certificates: " + ec.message()
                                             : "cannot load --ca-file '" + opt_.ca_file + "': " + ec.message());
  } catch (const boost::system::system_error& e) {
    fail_system(e.code(), "cannot set up TLS for " + ep.url());
  }

  ~client_impl() override {
    SSL_CTX_set_ex_data(ctx_.native_handle(), session_slot(), nullptr);
    for (auto& c : idle_) c->close();
    idle_.clear();  // before counts_, which they count themselves out of
  }

  const http_endpoint& endpoint() const override { return ep_; }
  counts connections() const override { return counts_; }

  awaitable<http_response> request(const http_request& r) override {
    // A kept-alive connection the server has closed fails at once. The
    // request then goes out once more, on a new connection (every request
    // this client sends is idempotent), and the connections that went idle
    // before that one are closed: the server will have closed them too.
    // A timeout is a real failure, for the caller to retry.
    bool fresh_only = false;
    for (;;) {
      std::unique_ptr<connection> c = fresh_only ? nullptr : take_idle();
      const bool reused = c != nullptr;
      const auto idle_since = reused ? c->idle_since : std::chrono::steady_clock::time_point{};
      http_response resp;
      bool keep = false, answered = false;
      boost::system::error_code failure;
      const char* stage = "connect to";
      try {
        if (!c) {
          c = std::make_unique<connection>();
          co_await connect(*c, stage);
          ++counts_.opened;
        }
        stage = "talk to";
        keep = co_await exchange(*c, r, resp, answered);
      } catch (const boost::system::system_error& e) {
        failure = e.code();
      }
      if (!failure) {
        if (keep) put_idle(std::move(c), resp);
        else drop(c);
        co_return resp;
      }
      if (c) drop(c);
      if (reused && !answered && failure != beast::error::timeout) {
        drop_idle_since(idle_since);
        fresh_only = true;
        continue;
      }
      fail_system(failure, std::string("cannot ") + stage + " " + ep_.url());
    }
  }

 private:
  // The connection that went idle last, unless it has been idle too long;
  // those past their time are closed on the way.
  std::unique_ptr<connection> take_idle() {
    const auto now = std::chrono::steady_clock::now();
    // The pool is in the order connections went idle, so the oldest go first.
    while (!idle_.empty() && now >= idle_.front()->reuse_before) {
      drop(idle_.front());
      idle_.pop_front();
    }
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (now < c->reuse_before) return c;
      drop(c);
    }
    return nullptr;
  }

  void put_idle(std::unique_ptr<connection> c, const http_response& resp) {
    c->idle_since = std::chrono::steady_clock::now();
    c->reuse_before = c->idle_since + std::min(opt_.max_idle, server_keep_alive(resp));
    idle_.push_back(std::move(c));
  }

  // What the server says it keeps an idle connection for (Keep-Alive:
  // timeout=N), less a fifth for the clocks and the round trip; the maximum
  // when it says nothing.
  static std::chrono::milliseconds server_keep_alive(const http_response& resp) {
    auto v = resp.header("Keep-Alive");
    if (!v) return std::chrono::milliseconds::max();
    auto at = v->find("timeout=");
    if (at == std::string::npos) return std::chrono::milliseconds::max();
    const char* p = v->data() + at + 8;
    unsigned seconds = 0;
    auto [end, ec] = std::from_chars(p, v->data() + v->size(), seconds);
    if (ec != std::errc() || end == p) return std::chrono::milliseconds::max();
    return std::chrono::milliseconds(std::uint64_t(seconds) * 800);
  }

  // Closes the pooled connections that went idle at or before `t`.
  void drop_idle_since(std::chrono::steady_clock::time_point t) {
    while (!idle_.empty() && idle_.front()->idle_since <= t) {
      drop(idle_.front());
      idle_.pop_front();
    }
  }

  void drop(std::unique_ptr<connection>& c) {
    c->close();
    c.reset();
  }

  awaitable<void> connect(connection& c, const char*& stage) {
    if (!resolved_) {
      stage = "resolve";
      tcp::resolver resolver(io_);
      resolved_ = co_await resolver.async_resolve(ep_.host, ep_.port, use_awaitable);
    }
    stage = "connect to";
    if (ep_.tls) {
      c.secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, ctx_);
      auto* ssl_handle = c.secure->native_handle();
      if (!is_ip(ep_.host)) SSL_set_tlsext_host_name(ssl_handle, ep_.host.c_str());
      c.secure->set_verify_callback(ssl::host_name_verification(ep_.host));
      if (session_ && SSL_SESSION_is_resumable(session_.get())) SSL_set_session(ssl_handle, session_.get());
    } else {
      c.plain = std::make_unique<beast::tcp_stream>(io_);
    }
    c.lowest().expires_after(opt_.timeout);
    co_await c.lowest().async_connect(*resolved_, use_awaitable);
    c.counted.start(counts_.open);
    c.lowest().socket().set_option(tcp::no_delay(true));
    if (ep_.tls) {
      stage = "set up TLS with";
      c.lowest().expires_after(opt_.timeout);
      co_await c.secure->async_handshake(ssl::stream_base::client, use_awaitable);
      if (SSL_session_reused(c.secure->native_handle())) ++counts_.resumed;
    }
  }

  template <class Stream>
  awaitable<bool> exchange_on(Stream& s, connection& c, const http_request& r, http_response& out, bool& answered) {
    // The request head is written by hand into the connection's buffer:
    // Beast's serializer allocates a node per header field, which showed in
    // the I/O thread's profile (bench/README.md, S3).
    std::string& head = c.head;
    head.clear();
    auto line = [&](std::string_view name, std::string_view value) {
      if (value.find_first_of("\r\n") != std::string_view::npos)
        fail(errc::permanent, "HTTP header '" + std::string(name) + "' for " + ep_.url() + " holds a line break");
      head.append(name).append(": ").append(value).append("\r\n");
    };
    head.append(r.method).append(" ").append(r.target).append(" HTTP/1.1\r\n");
    line("Host", host_header_);
    line("User-Agent", "stratum");
    for (auto& [k, v] : r.headers) line(k, v);
    if (r.more_headers)
      for (auto& [k, v] : *r.more_headers) line(k, v);
    if (r.body || r.method == "PUT" || r.method == "POST") line("Content-Length", std::to_string(r.body ? r.body->size() : 0));
    head.append("\r\n");
    // A small body joins the head: one write, one TLS record. (A gather
    // write of head and a large body through Beast's ssl_stream sent the
    // head alone and stalled; tests/azure_test's Put Block found it.)
    const bool joined = r.body && head.size() + r.body->size() <= 16384;
    if (joined) head.append(reinterpret_cast<const char*>(r.body->data()), r.body->size());
    c.lowest().expires_after(opt_.timeout);
    co_await asio::async_write(s, asio::buffer(head), use_awaitable);
    if (r.body && !joined) co_await asio::async_write(s, asio::buffer(*r.body), use_awaitable);
    // The body is read into out.body piece by piece (buffer_body), so that
    // reading can stop at r.max_body: a server that sends more than that —
    // the whole object for a Range it ignores, or far more than any object
    // holds — costs no more memory than was asked for. The vector grows
    // with what arrives (each piece at most what is there already), and a
    // Content-Length the server claims is believed, to reserve room, up to
    // `reserve_most` only.
    bhttp::response_parser<bhttp::buffer_body> p;
    const std::uint64_t most = r.max_body > 0 ? r.max_body : max_body_ever;
    p.body_limit(boost::none);  // `most` is enforced below
    if (r.method == "HEAD") p.skip(true);
    co_await bhttp::async_read_header(s, c.buffer, p, use_awaitable);
    answered = true;
    if (auto length = p.content_length_remaining(); length && !p.is_done())
      out.body.reserve(std::min({*length, most, reserve_most}));
    bool whole = true;
    std::size_t n = 0;
    while (!p.is_done()) {
      if (n >= most) {
        if (r.max_body == 0) throw boost::system::system_error(bhttp::error::body_limit);
        whole = false;  // the rest stays unread: the connection is closed
        break;
      }
      std::uint64_t room = std::min<std::uint64_t>(most - n, std::max<std::uint64_t>({first_piece, n, out.body.capacity() - n}));
      if (auto length = p.content_length_remaining(); length && *length > 0) room = std::min(room, *length);
      out.body.resize(n + room);
      p.get().body().data = out.body.data() + n;
      p.get().body().size = room;
      auto [ec, got] = co_await bhttp::async_read(s, c.buffer, p, asio::as_tuple(use_awaitable));
      n += room - p.get().body().size;
      if (ec && ec != bhttp::error::need_buffer) throw boost::system::system_error(ec);
    }
    out.body.resize(n);
    out.body_cut = !whole;
    auto& m = p.get();
    out.status = m.result_int();
    for (auto& f : m) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    co_return whole && m.keep_alive();
  }

  awaitable<bool> exchange(connection& c, const http_request& r, http_response& out, bool& answered) {
    if (c.secure) co_return co_await exchange_on(*c.secure, c, r, out, answered);
    co_return co_await exchange_on(*c.plain, c, r, out, answered);
  }

  asio::io_context& io_;
  http_endpoint ep_;
  http_options opt_;
  std::string host_header_;
  ssl::context ctx_;
  struct session_free {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
  };
  std::unique_ptr<SSL_SESSION, session_free> session_;  // the latest the server gave, for the next connection
  counts counts_;  // before idle_: pooled connections count themselves out of it
  std::deque<std::unique_ptr<connection>> idle_;  // in the order they went idle
  std::optional<tcp::resolver::results_type> resolved_;
};

}  // namespace

std::unique_ptr<http_client> make_http_client(asio::io_context& io, const http_endpoint& ep, const http_options& o) {
  return std::make_unique<client_impl>(io, ep, o);
}

}  // namespace stratum
