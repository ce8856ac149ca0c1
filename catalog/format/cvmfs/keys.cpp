// A CernVM-FS repository's key files and its certificate (keys.hpp), through
// OpenSSL 3. Thread: any.
#include "catalog/format/cvmfs/keys.hpp"

#include "async/error.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <future>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stratum::cvmfs {
namespace {

X509* raw(const std::shared_ptr<void>& p) { return static_cast<X509*>(p.get()); }
std::shared_ptr<void> own(X509* x) {
  return std::shared_ptr<void>(x, [](void* p) { X509_free(static_cast<X509*>(p)); });
}
struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;

std::string bio_text(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

void check(int ok, const char* what) {
  if (ok <= 0) fail(errc::permanent, std::string("cannot make the repository certificate (") + what + "): " + openssl_error());
}

// Key files are a few KiB; anything much larger is not one.
constexpr std::size_t max_key_file = 64 * 1024;

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

std::string read_key_file(const std::string& path, const std::string& role) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) fail(errc::usage, "key file '" + path + "' (" + role + ") does not exist; give the directory that holds the repository's keys");
    fail(errc::usage, "cannot read key file '" + path + "' (" + role + "): " + std::strerror(e));
  }
  fd_closer guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    fail(errc::usage, "key file '" + path + "' (" + role + ") is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > max_key_file)
    fail(errc::usage, "key file '" + path + "' (" + role + ") is too large to be a key (" + std::to_string(st.st_size) + " bytes)");
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errc::usage, "cannot read key file '" + path + "' (" + role + "): " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_key_file) fail(errc::usage, "key file '" + path + "' (" + role + ") is too large to be a key");
  }
  return text;
}

void write_key_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) fail(errc::usage, "'" + path + "' exists already; refusing to overwrite a key file");
    fail(errc::usage, "cannot create key file '" + path + "': " + std::strerror(errno));
  }
  fd_closer guard{fd};
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(errno, "cannot write key file '" + path + "'");
    done += static_cast<std::size_t>(n);
  }
  // The mode is set after the bytes are in (a private key is never readable by
  // others on the way), and set exactly: the umask plays no part.
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) fail_errno(errno, "cannot finish key file '" + path + "'");
}

}  // namespace

void check_fqrn(std::string_view fqrn) {
  auto ok_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; };
  bool ok = !fqrn.empty() && fqrn.size() <= 60 && std::isalnum(static_cast<unsigned char>(fqrn[0]));
  for (char c : fqrn) ok = ok && ok_char(c);
  if (!ok)
    fail(errc::usage, "invalid repository name '" + std::string(fqrn) +
                          "': CernVM-FS accepts 1 to 60 characters, the first a letter or digit, the rest letters, digits, '_', '.' or '-' "
                          "(e.g. 'software.example.org')");
}

certificate certificate::self_signed(std::string_view fqrn, const rsa_key& key) {
  // cvmfs_server cuts long names so the CN stays under X.509's 64-character limit.
  std::string cn(fqrn.substr(0, 30));
  if (fqrn.size() > 30) cn += "[...]";
  cn += " CernVM-FS Release Managers";

  X509* x = X509_new();
  if (!x) fail(errc::permanent, "OpenSSL: out of memory");
  certificate c;
  c.x509_ = own(x);
  // Version 1 (value 0) and a random 159-bit serial: what `openssl x509 -req`
  // makes from a request without extensions.
  check(X509_set_version(x, 0), "version");
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), BN_free);
  check(serial && BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "serial");
  check(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x)) != nullptr, "serial");
  check(X509_gmtime_adj(X509_getm_notBefore(x), 0) != nullptr, "validity");
  check(X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600) != nullptr, "validity");
  X509_NAME* name = X509_get_subject_name(x);
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0), "subject");
  check(X509_set_issuer_name(x, name), "issuer");
  check(X509_set_pubkey(x, static_cast<EVP_PKEY*>(key.evp())), "public key");
  check(X509_sign(x, static_cast<EVP_PKEY*>(key.evp()), EVP_sha256()), "signature");

  bio_ptr b(BIO_new(BIO_s_mem()));
  check(b && PEM_write_bio_X509(b.get(), x), "PEM");
  c.pem_ = bio_text(b.get());
  EVP_PKEY* pub = X509_get_pubkey(x);
  check(pub != nullptr, "public key");
  c.key_ = rsa_key::adopt(pub);
  return c;
}

certificate certificate::from_pem(std::string_view pem, const std::string& what) {
  bio_ptr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!b) fail(errc::permanent, "OpenSSL: out of memory");
  // The _AUX reader, as CernVM-FS's client reads the X object: it takes
  // "TRUSTED CERTIFICATE" blocks too.
  X509* x = PEM_read_bio_X509_AUX(b.get(), nullptr, nullptr, nullptr);
  if (!x) fail(errc::corrupt, what + " holds no PEM X.509 certificate (" + openssl_error() + ")");
  certificate c;
  c.x509_ = own(x);
  c.pem_ = std::string(pem);
  EVP_PKEY* pub = X509_get_pubkey(x);
  if (!pub) fail(errc::corrupt, what + ": the certificate's public key cannot be read (" + openssl_error() + ")");
  c.key_ = rsa_key::adopt(pub);
  if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA) fail(errc::corrupt, what + ": the certificate's key is not RSA; CernVM-FS signs with RSA only");
  return c;
}

bytes certificate::der() const {
  unsigned char* buf = nullptr;
  const int n = i2d_X509(raw(x509_), &buf);
  if (n < 0) fail(errc::permanent, "cannot encode the certificate as DER: " + openssl_error());
  bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

hash256 certificate::hash(algorithm a) const { return digest(der(), a); }

std::string certificate::fingerprint(algorithm a) const { return fingerprint_text(hash(a), a); }

std::string certificate::subject() const {
  bio_ptr b(BIO_new(BIO_s_mem()));
  if (!b || X509_NAME_print_ex(b.get(), X509_get_subject_name(raw(x509_)), 0, XN_FLAG_ONELINE) < 0) return "?";
  return bio_text(b.get());
}

std::string fingerprint_text(const hash256& h, algorithm a) {
  const std::string t = to_text(h, a);
  std::string out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (i > 0 && i < 2 * digest_size && i % 2 == 0) out += ':';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(t[i])));
  }
  return out;
}

std::optional<std::pair<hash256, algorithm>> parse_fingerprint(std::string_view line) {
  std::string s;
  for (char c : line) {
    if (c == ' ' || c == '\t' || c == '#') break;
    if (c != ':') s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return from_text(s);
}

key_set key_set::generate(std::string_view fqrn) {
  check_fqrn(fqrn);
  key_set k;
  k.fqrn = fqrn;
  // Two 2048-bit keys take ~0.2 s each, before anything else of a first
  // publish can start: made on two threads at once.
  auto master = std::async(std::launch::async, [] { return rsa_key::generate(); });
  k.repository = rsa_key::generate();
  k.master = master.get();
  k.master_public = rsa_key::from_public_pem(k.master->public_pem(), "the new master public key");
  k.cert = certificate::self_signed(fqrn, *k.repository);
  return k;
}

key_set key_set::load(const std::string& dir, std::string_view fqrn, key_parts parts) {
  check_fqrn(fqrn);
  const std::string base = dir + "/" + std::string(fqrn);
  const auto wanted = [&](key_parts p) { return (static_cast<unsigned>(parts) & static_cast<unsigned>(p)) != 0; };
  key_set k;
  k.fqrn = fqrn;
  const std::string pub = base + ".pub", crt = base + ".crt";
  k.master_public = rsa_key::from_public_pem(read_key_file(pub, "master public key"), "'" + pub + "'");
  const std::string crt_text = read_key_file(crt, "repository certificate");
  try {
    k.cert = certificate::from_pem(crt_text, "'" + crt + "'");
  } catch (const std::exception& e) {
    if (!is(e, errc::corrupt)) throw;
    fail(errc::usage, e.what());  // a bad file the user named is a usage error, not a corrupt repository
  }
  if (wanted(key_parts::master)) {
    const std::string path = base + ".masterkey";
    k.master = rsa_key::from_private_pem(read_key_file(path, "master private key"), "'" + path + "'");
    if (!k.master->same_public(k.master_public))
      fail(errc::usage, "'" + path + "' and '" + pub + "' are not the same key pair; a whitelist signed with it would not verify");
  }
  if (wanted(key_parts::repository)) {
    const std::string path = base + ".key";
    k.repository = rsa_key::from_private_pem(read_key_file(path, "repository private key"), "'" + path + "'");
    if (!k.repository->same_public(k.cert.public_key()))
      fail(errc::usage, "'" + path + "' is not the key of certificate '" + crt + "'; a manifest signed with it would not verify");
  }
  return k;
}

void key_set::save(const std::string& dir) const {
  check_fqrn(fqrn);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail_errno(errno, "cannot create key directory '" + dir + "'");
  struct file {
    std::string path, text;
    mode_t mode;
  };
  std::vector<file> files;
  const std::string base = dir + "/" + fqrn;
  if (master) files.push_back({base + ".masterkey", master->private_pem(), 0400});
  files.push_back({base + ".pub", master_public.public_pem(), 0444});
  if (repository) files.push_back({base + ".key", repository->private_pem(), 0400});
  files.push_back({base + ".crt", cert.pem(), 0444});
  // All absent first, so a refusal leaves no half-written set behind.
  for (const auto& f : files) {
    struct stat st {};
    if (::lstat(f.path.c_str(), &st) == 0) fail(errc::usage, "'" + f.path + "' exists already; refusing to overwrite a key file");
  }
  for (const auto& f : files) write_key_file(f.path, f.text, f.mode);
  const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    ::fsync(d);
    ::close(d);
  }
}

}  // namespace stratum::cvmfs
