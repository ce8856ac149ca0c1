// Real servers for the tests, started by the tests themselves on 127.0.0.1:
// s3rver (the S3 emulator, installed into .tools/ by scripts/install-deps.sh
// --test) over HTTPS with a throwaway certificate. Each is stopped (by pid)
// when its object dies.
#pragma once

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

class s3rver {
 public:
  // Starts s3rver with one bucket `bucket`, serving HTTPS with `tls` (or plain
  // HTTP when tls.cert is empty), storing under `dir`. REQUIREs that it
  // answers within 20 s.
  s3rver(const std::string& dir, const std::string& bucket, const tls_files& tls);
  ~s3rver();
  s3rver(const s3rver&) = delete;
  s3rver& operator=(const s3rver&) = delete;

  std::string endpoint() const;  // https://127.0.0.1:PORT (or http://)
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool tls_ = true;
};

// Where the npm-installed tools are (the checkout's .tools/ directory).
std::string tools_dir();

}  // namespace stratum::test
