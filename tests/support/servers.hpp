// Real servers for the tests, started by the tests themselves on 127.0.0.1:
// s3rver and Azurite (the S3 and Azure emulators, installed into .tools/ by
// scripts/install-deps.sh --test) over HTTPS with a throwaway certificate,
// and Python's http.server. Each is stopped (by pid) when its object dies.
#pragma once

#include "support.hpp"

#include <string>
#include <sys/types.h>

namespace stratum::test {

// A self-signed certificate for 127.0.0.1 and localhost: dir/cert.pem and
// dir/key.pem. The certificate is its own CA (give it as --ca-file).
struct tls_files {
  std::string cert, key;
};
tls_files make_certificate(const std::string& dir);

// A port nobody listens on right now.
int free_port();

// A TCP socket listening on 127.0.0.1 at a port the kernel chose (returned
// in `port`), with SO_REUSEADDR; fails the test when it cannot be made.
int listen_loopback(int backlog, int& port);

class s3rver {
 public:
  // Starts s3rver with one bucket `bucket`, serving HTTPS with `tls` (or plain
  // HTTP when tls.cert is empty), storing under `dir`, on `port` (0: a free
  // one). REQUIREs that it answers within 20 s.
  s3rver(const std::string& dir, const std::string& bucket, const tls_files& tls, int port = 0);
  ~s3rver();
  s3rver(const s3rver&) = delete;
  s3rver& operator=(const s3rver&) = delete;

  std::string endpoint() const;  // https://127.0.0.1:PORT (or http://)
  int port() const { return port_; }
  // SIGKILL: the store goes away mid-request, as a crashed server does.
  void kill();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool tls_ = true;
};

// Azurite's blob service over HTTPS (account devstoreaccount1, the
// well-known key), with `container` created by SharedKey.
class azurite {
 public:
  static constexpr const char* account = "devstoreaccount1";
  static constexpr const char* key =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
  azurite(const std::string& dir, const std::string& container, const tls_files& tls);
  ~azurite();
  azurite(const azurite&) = delete;
  azurite& operator=(const azurite&) = delete;
  std::string endpoint() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // A container SAS signed with the account key (tests/tools/az_sas.py).
  std::string sas(const std::string& container, const std::string& permissions, const std::string& expiry) const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string ca_;
};

// A directory served by Python's http.server on 127.0.0.1, as a CernVM-FS
// Stratum 1 serves its repositories: plain `python3 -m http.server`, as a
// user would run it, unless the options ask for what that cannot do; then
// tests/tools/http_serve.py (the same file handler).
struct web_server_options {
  tls_files tls;        // HTTPS with this certificate (empty cert: plain HTTP)
  bool ranges = false;  // answer a Range with 206 (http.server sends 200 and the whole file)
  std::string log;      // append "METHOD PATH RANGE" per request to this file
  bool plain() const { return tls.cert.empty() && !ranges && log.empty(); }
};

class web_server {
 public:
  web_server(const std::string& dir, const web_server_options& o = {});
  ~web_server();
  web_server(const web_server&) = delete;
  web_server& operator=(const web_server&) = delete;
  std::string url() const;  // http://127.0.0.1:PORT (https:// with TLS)

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool tls_ = false;
};

// Where the npm-installed tools are (the checkout's .tools/ directory).
std::string tools_dir();

// One store a cloud test runs the binary against: its STORE spec, the
// options that reach it (--endpoint, --ca-file), the credentials in the
// child's environment.
struct cloud_store {
  std::string spec;
  std::vector<std::string> opts;
  run_options env;
  run_result run(std::vector<std::string> a) const {
    a.insert(a.end(), opts.begin(), opts.end());
    return run_stratum(a, env);
  }
};

// A store on s3rver (`s3://BUCKET/PREFIX`) or Azurite (`az://devstoreaccount1/
// CONTAINER/PREFIX`) over HTTPS, with the emulator's credentials.
inline cloud_store s3_store(const s3rver& server, const tls_files& tls, const std::string& spec) {
  return {spec, {"--endpoint", server.endpoint(), "--ca-file", tls.cert},
          run_options{.env = {"AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=S3RVER"}}};
}
inline cloud_store azure_store(const azurite& server, const tls_files& tls, const std::string& spec) {
  return {spec, {"--endpoint", server.endpoint(), "--ca-file", tls.cert},
          run_options{.env = {std::string("AZURE_STORAGE_KEY=") + azurite::key, "AZURE_STORAGE_SAS_TOKEN="}}};
}

}  // namespace stratum::test
