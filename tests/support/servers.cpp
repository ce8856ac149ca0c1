#include "servers.hpp"

#include "support.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace stratum::test {

std::string tools_dir() {
  if (const char* t = std::getenv("STRATUM_TOOLS")) return t;
  return std::string(STRATUM_SOURCE_DIR) + "/.tools";
}

tls_files make_certificate(const std::string& dir) {
  std::filesystem::create_directories(dir);
  tls_files f{dir + "/cert.pem", dir + "/key.pem"};
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout '" + f.key + "' -out '" + f.cert +
                    "' -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1";
  REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "openssl could not make a test certificate");
  return f;
}

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

int listen_loopback(int backlog, int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  port = ntohs(a.sin_port);
  REQUIRE(::listen(fd, backlog) == 0);
  return fd;
}

namespace {

bool accepts(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

// Starts `args` (args[0] is the program) with its output discarded and
// `env` (NAME=VALUE) added; waits until it accepts connections on `port`.
pid_t spawn_server(const std::vector<std::string>& args, const std::vector<std::string>& env, int port) {
  REQUIRE_MESSAGE(::access(args[0].c_str(), X_OK) == 0, (args[0] + " is missing: run scripts/install-deps.sh --test"));
  pid_t pid = ::fork();
  if (pid == 0) {
    for (auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 400 && !accepts(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE_MESSAGE(accepts(port), (args[0] + " did not start on port " + std::to_string(port)));
  return pid;
}

void stop_server(pid_t pid, int signal = SIGTERM) {
  if (pid <= 0) return;
  ::kill(pid, signal);
  int status;
  ::waitpid(pid, &status, 0);
}

}  // namespace

s3rver::s3rver(const std::string& dir, const std::string& bucket, const tls_files& tls, int port)
    : port_(port ? port : free_port()), tls_(!tls.cert.empty()) {
  std::filesystem::create_directories(dir);
  std::vector<std::string> args = {tools_dir() + "/node_modules/.bin/s3rver", "-d", dir, "-a", "127.0.0.1", "-p",
                                   std::to_string(port_), "--silent", "--configure-bucket", bucket};
  if (tls_) args.insert(args.end(), {"--cert", tls.cert, "--key", tls.key});
  // Paginated listings fail with 500 without the legacy provider (docs/TESTING.md).
  pid_ = spawn_server(args, {"NODE_OPTIONS=--openssl-legacy-provider"}, port_);
}

s3rver::~s3rver() { stop_server(pid_); }

void s3rver::kill() {
  stop_server(pid_, SIGKILL);
  pid_ = -1;
}

std::string s3rver::endpoint() const { return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_); }

azurite::azurite(const std::string& dir, const std::string& container, const tls_files& tls) : port_(free_port()), ca_(tls.cert) {
  std::filesystem::create_directories(dir);
  pid_ = spawn_server({tools_dir() + "/node_modules/.bin/azurite-blob", "--blobHost", "127.0.0.1", "--blobPort", std::to_string(port_),
                       "--location", dir, "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--cert", tls.cert, "--key", tls.key},
                      {}, port_);
  const std::string make = "/usr/bin/python3 " + std::string(STRATUM_SOURCE_DIR) + "/tests/tools/az_container.py " + endpoint() + " " +
                           account + " '" + key + "' " + container + " '" + ca_ + "'";
  int rc = -1;
  for (int i = 0; i < 40 && rc != 0; ++i) {
    rc = std::system(make.c_str());
    if (rc != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE_MESSAGE(rc == 0, "could not create the Azurite container");
}

azurite::~azurite() { stop_server(pid_); }

web_server::web_server(const std::string& dir, const web_server_options& o) : port_(free_port()), tls_(!o.tls.cert.empty()) {
  std::vector<std::string> args;
  if (o.plain()) {
    args = {"/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, std::to_string(port_)};
  } else {
    args = {"/usr/bin/python3", std::string(STRATUM_SOURCE_DIR) + "/tests/tools/http_serve.py", dir, std::to_string(port_)};
    if (tls_) args.insert(args.end(), {"--cert", o.tls.cert, "--key", o.tls.key});
    if (o.ranges) args.push_back("--ranges");
    if (!o.log.empty()) args.insert(args.end(), {"--log", o.log});
  }
  pid_ = spawn_server(args, {}, port_);
}

web_server::~web_server() { stop_server(pid_); }

std::string web_server::url() const { return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_); }

std::string azurite::sas(const std::string& container, const std::string& permissions, const std::string& expiry) const {
  const std::string cmd = "/usr/bin/python3 " + std::string(STRATUM_SOURCE_DIR) + "/tests/tools/az_sas.py " + account + " '" + key +
                          "' " + container + " " + permissions + " " + expiry;
  std::string out = shell(cmd);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  REQUIRE(!out.empty());
  return out;
}

}  // namespace stratum::test
