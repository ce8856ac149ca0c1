// Bodies with the digests their store checks (prepare_body, backend.hpp).
// Thread: any; called on the CPU pool right after a body is made.
#include "storage/backend.hpp"

#include <openssl/evp.h>

namespace stratum {

put_body prepare_body(shared_bytes data, const put_checks& checks) {
  put_body b(std::move(data));
  if (checks.sha256) b.sha256 = sha256(*b.data);
  if (b.data->size() <= checks.md5_max) {
    std::array<std::uint8_t, 16> d;
    unsigned n = 0;
    if (EVP_Digest(b.data->data(), b.data->size(), d.data(), &n, EVP_md5(), nullptr) == 1 && n == d.size()) b.md5 = d;
  }
  return b;
}

}  // namespace stratum
