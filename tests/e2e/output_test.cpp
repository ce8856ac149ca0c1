// End-to-end: what the commands print (cmd/) — JSON that stays valid
// whatever bytes a name holds, and the advice after a fatal error with its
// exit code, for publish and load alike.
#include "support.hpp"
#include "servers.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace stratum::test;

namespace {

std::string hex_of(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += {digits[c >> 4], digits[c & 15]};
  return out;
}

// A plain-HTTP server that answers every request with 403, as S3 and Azure
// answer a wrong key: a fatal error without retries and without a real store.
class refusing_server {
 public:
  refusing_server() {
    fd_ = listen_loopback(16, port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~refusing_server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string head;
      char buf[4096];
      ssize_t n;
      while (head.find("\r\n\r\n") == std::string::npos && (n = ::read(c, buf, sizeof buf)) > 0) head.append(buf, n);
      ++requests_;
      const std::string body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
                               "<Message>Server failed to authenticate the request.</Message></Error>";
      const std::string answer = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n"
                                 "x-ms-error-code: AuthenticationFailed\r\nConnection: close\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n" + body;
      [[maybe_unused]] auto w = ::write(c, answer.data(), answer.size());
      ::close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("publish and load both end a fatal error with exit 3 and the advice to run the same command again") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a", "a"}});
  refusing_server server;
  const std::string sas = "sv=2022-11-02&sr=c&sp=rwl&sig=NOT-A-REAL-SIGNATURE";
  struct attempt {
    const char* name;
    std::vector<std::string> args;
    const char* reason;  // how the store's refusal is explained
  };
  const std::vector<attempt> attempts = {
      {"load", {"load", "--new", d / "st-load", d / "src", "devstoreaccount1", "repo", sas, "--endpoint", server.endpoint()},
       "not authorised"},
      {"publish", {"publish", "--new", d / "st-publish", d / "src", "s3://bucket/repo", "--endpoint", server.endpoint()},
       "access denied"},
  };
  run_options o;
  o.env = {"AWS_ACCESS_KEY_ID=wrong", "AWS_SECRET_ACCESS_KEY=wrong-secret"};
  for (auto& a : attempts) {
    INFO("command: " << a.name);
    const int before = server.requests();
    auto r = run_stratum(a.args, o);
    INFO(r.err);
    CHECK(r.code == 3);
    CHECK(server.requests() > before);  // it did reach the store and was refused
    CHECK(r.err.find("stratum " + std::string(a.name) + ": ") != std::string::npos);
    CHECK(r.err.find(a.reason) != std::string::npos);
    CHECK(r.err.find("run the same command again to resume") != std::string::npos);
    CHECK(r.err.find("NOT-A-REAL-SIGNATURE") == std::string::npos);  // the SAS is never printed
    CHECK(r.err.find("wrong-secret") == std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("publish --json and info --json stay valid JSON whatever bytes the store's name holds") {
  temp_dir d;
  make_tree(d / "src", {{'f', "a", "a"}});
  // 0x7f, a byte that is never UTF-8, a control character, a line break, a
  // backslash, an encoded UTF-16 surrogate, and valid UTF-8 (é).
  const std::string store = d / "store-\x7f-\xff-\x01-\n-\\-\xed\xa0\x80-caf\xc3\xa9";
  // What JSON readers get: the name as the text output shows it.
  const std::string shown = d.path + "/store-\\x7f-\\xff-\\x01-\\n-\\\\-\\xed\\xa0\\x80-caf\xc3\xa9";
  auto pub = run_stratum({"publish", "--new", d / "st", d / "src", store, "--json"});
  INFO(pub.err);
  REQUIRE(pub.code == 0);
  auto info = run_stratum({"info", store, "--json"});
  INFO(info.err);
  REQUIRE(info.code == 0);
  // The text output shows the name the same way.
  CHECK(run_stratum({"info", store}).out.find("store:           " + shown + "\n") != std::string::npos);
  for (const std::string* out : {&pub.out, &info.out}) {
    INFO("output: " << *out);
    // Boost.JSON's parser checks the UTF-8 as well as the syntax.
    boost::system::error_code ec;
    auto v = boost::json::parse(*out, ec);
    REQUIRE_MESSAGE(!ec, ec.message());
    REQUIRE(v.is_object());
    REQUIRE(v.as_object().contains("store"));
    CHECK(std::string(v.at("store").as_string()) == shown);
    CHECK(v.at("revision").to_number<std::uint64_t>() == 1);
    // A second reader: Python's json, decoding strict UTF-8 first.
    write_file(d / "out.json", *out);
    CHECK(shell("python3 -c 'import json, sys; o = json.loads(open(sys.argv[1], \"rb\").read().decode(\"utf-8\")); "
                "print(o[\"store\"].encode(\"utf-8\").hex())' " +
                d / "out.json") == hex_of(shown) + "\n");
  }
}

TEST_CASE("error messages show control characters escaped, as names are shown") {
  // An unknown option is quoted back; a store's names reach messages the
  // same way, so neither may carry a terminal control sequence.
  auto r = run_stratum({"ls", "--x\x1b]0;owned\x07", "store"});
  CHECK(r.code == 2);
  CHECK(r.err.find('\x1b') == std::string::npos);
  CHECK(r.err.find("--x\\x1b]0;owned\\x07") != std::string::npos);
  temp_dir d;
  auto missing = run_stratum({"ls", d / "no\x1b[2Jstore"});
  CHECK(missing.code != 0);
  CHECK(missing.err.find('\x1b') == std::string::npos);
  CHECK(missing.err.find("no\\x1b[2Jstore") != std::string::npos);
}
