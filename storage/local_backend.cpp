// A store in a local directory: each key is a file under the root.
//
// put writes the body to an unnamed file (O_TMPFILE) in the object's own
// directory and links it into place once it is whole, so a reader (or a crash)
// never sees half an object. Linking takes one directory's lock; the classic
// temporary name + rename(2) across directories serialises every writer on
// the file system's rename lock and both directories (writers spun in
// lock_two_directories: bench/README.md, Linux source). Directory
// descriptors are kept open, so neither call walks the store's path. File
// systems without O_TMPFILE, or a machine without /proc (when linkat's
// AT_EMPTY_PATH is not permitted), get the classic path: a temporary file in
// ROOT/.stratum-tmp/, then rename. It does not
// fsync each object (one flush per file would cost ~80 us to 2 ms each);
// instead sync() flushes the whole file system once with syncfs(2), which the
// publisher calls before and after writing the manifest.
#include "storage/backend.hpp"

#include "async/error.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <sys/stat.h>
#include <unistd.h>

namespace stratum {
namespace {

namespace fs = std::filesystem;
constexpr const char* tmp_dir = ".stratum-tmp";

class local_backend final : public backend {
 public:
  local_backend(std::string root, bool create, asio::thread_pool& pool) : root_(std::move(root)), pool_(pool) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    tmp_prefix_ = root_ + "/" + tmp_dir + "/" + std::to_string(::getpid()) + "-";
    std::error_code ec;
    if (create) fs::create_directories(root_, ec);
    if (!fs::is_directory(root_, ec))
      fail(errc::usage, "store '" + root_ + "' is not a directory" + (create ? "" : " (does it exist?)"));
    fs::create_directories(root_ + "/" + tmp_dir, ec);
    if (ec) fail(errc::permanent, "store '" + root_ + "': cannot create " + tmp_dir + ": " + ec.message());
    // STRATUM_LOCAL_LINK=proc or =rename forces a way (tests cover each).
    const char* force = std::getenv("STRATUM_LOCAL_LINK");
    std::string_view forced = force ? force : "";
    if (forced != "rename") link_ = probe_unnamed(forced == "proc");
  }

  ~local_backend() override {
    for (auto& [dir, fd] : dirs_) ::close(fd);
  }

  store_caps caps() const override { return {.puts_here = true}; }

  awaitable<void> put(std::string key, put_body body) override {
    check_key(key);
    co_await run_on(pool_, [&] { write_object(key, *body.data); });
  }

  bool put_here(const std::string& key, const put_body& body) override {
    check_key(key);
    return write_object(key, *body.data);
  }

  awaitable<std::optional<bytes>> get(std::string key, std::uint64_t offset, std::uint64_t length) override {
    check_key(key);
    auto result_ = co_await run_on(pool_, [&]() -> std::optional<bytes> {
      int fd = ::open(path(key).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        fail_errno(errno, describe() + ": cannot open " + key);
      }
      struct stat st;
      ::fstat(fd, &st);
      std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
      std::uint64_t start = std::min(offset, size);
      std::uint64_t end = length == 0 ? size : std::min(size, start + length);
      bytes out(end - start);
      std::size_t done = 0;
      while (done < out.size()) {
        ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(start + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          int err = n < 0 ? errno : EIO;
          ::close(fd);
          fail_errno(err, describe() + ": cannot read " + key);
        }
        done += static_cast<std::size_t>(n);
      }
      ::close(fd);
      return out;
    });
    co_return result_;
  }

  awaitable<std::optional<object_info>> stat(std::string key) override {
    check_key(key);
    auto result_ = co_await run_on(pool_, [&]() -> std::optional<object_info> {
      struct stat st;
      if (::stat(path(key).c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        fail_errno(errno, describe() + ": cannot stat " + key);
      }
      return object_info{key, static_cast<std::uint64_t>(st.st_size)};
    });
    co_return result_;
  }

  awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit) override {
    auto result_ = co_await run_on(pool_, [&] {
      std::vector<object_info> out;
      // Start at the deepest directory the prefix names.
      auto slash = prefix.rfind('/');
      std::string dir = slash == std::string::npos ? "" : prefix.substr(0, slash);
      std::error_code ec;
      fs::path start = dir.empty() ? fs::path(root_) : fs::path(root_) / dir;
      if (!fs::is_directory(start, ec)) return out;
      for (auto it = fs::recursive_directory_iterator(start, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::string key = it->path().lexically_relative(root_).string();
        if (key == tmp_dir) {
          it.disable_recursion_pending();
          continue;
        }
        if (!it->is_regular_file(ec) || key.compare(0, prefix.size(), prefix) != 0) continue;
        out.push_back({key, static_cast<std::uint64_t>(it->file_size(ec))});
      }
      if (ec) fail(errc::transient, describe() + ": cannot list '" + prefix + "': " + ec.message());
      std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.key < b.key; });
      if (out.size() > limit) out.resize(limit);
      return out;
    });
    co_return result_;
  }

  awaitable<void> remove(std::string key) override {
    check_key(key);
    co_await run_on(pool_, [&] {
      if (::unlink(path(key).c_str()) != 0 && errno != ENOENT) fail_errno(errno, describe() + ": cannot remove " + key);
    });
  }

  awaitable<void> sync() override {
    co_await run_on(pool_, [&] {
      int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) fail_errno(errno, describe() + ": cannot open for sync");
      int r = ::syncfs(fd);
      int err = errno;
      ::close(fd);
      if (r != 0) fail_errno(err, describe() + ": syncfs failed");
    });
  }

  std::string describe() const override { return root_; }

 private:
  std::string path(const std::string& key) const { return root_ + "/" + key; }

  void check_key(const std::string& key) const {
    bool bad = key.empty() || key.front() == '/' || key.find('\0') != std::string::npos;
    for (std::size_t pos = 0; !bad && pos <= key.size();) {
      auto next = key.find('/', pos);
      if (next == std::string::npos) next = key.size();
      auto part = std::string_view(key).substr(pos, next - pos);
      bad = part.empty() || part == "." || part == ".." || part == tmp_dir;
      pos = next + 1;
    }
    if (bad) fail(errc::usage, describe() + ": invalid object key '" + key + "'");
  }

  // Writes all of `data` to fd; on failure closes fd and throws.
  void write_all(int fd, const std::string& key, const bytes& data, const std::string& unlink_on_error) {
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        if (!unlink_on_error.empty()) ::unlink(unlink_on_error.c_str());
        fail_errno(err, describe() + ": cannot write " + key);
      }
      done += static_cast<std::size_t>(n);
    }
  }

  // How an unnamed file gets its name.
  enum class link_mode { none, empty_path, proc };

  // Links the unnamed file `fd` as `name` in directory `dirfd` (AT_FDCWD:
  // `name` is a path). Returns 0 or errno.
  static int link_unnamed(link_mode mode, int fd, int dirfd, const char* name) {
    int r;
    if (mode == link_mode::empty_path) r = ::linkat(fd, "", dirfd, name, AT_EMPTY_PATH);
    else r = ::linkat(AT_FDCWD, ("/proc/self/fd/" + std::to_string(fd)).c_str(), dirfd, name, AT_SYMLINK_FOLLOW);
    return r == 0 ? 0 : errno;
  }

  // Whether unnamed files can be created in the store and linked into it:
  // directly (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH before Linux 6.10), or
  // through /proc/self/fd.
  link_mode probe_unnamed(bool proc_only) const {
    std::string probe = tmp_prefix_ + "probe";
    for (auto mode : {link_mode::empty_path, link_mode::proc}) {
      if (proc_only && mode != link_mode::proc) continue;
      int fd = ::open((root_ + "/" + tmp_dir).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) return link_mode::none;
      ::unlink(probe.c_str());
      bool ok = link_unnamed(mode, fd, AT_FDCWD, probe.c_str()) == 0;
      ::close(fd);
      if (ok) {
        ::unlink(probe.c_str());
        return mode;
      }
    }
    return link_mode::none;
  }

  // A descriptor of the directory `dir` (relative to the root), opened once
  // and kept (a store has a few hundred), creating it if needed; saves
  // walking the path on every object. -errno on failure.
  int directory(const std::string& dir) {
    std::lock_guard g(dirs_mu_);
    if (auto it = dirs_.find(dir); it != dirs_.end()) return it->second;
    std::string full = dir.empty() ? root_ : root_ + "/" + dir;
    int fd = ::open(full.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      std::error_code ec;
      fs::create_directories(full, ec);
      fd = ::open(full.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0) return -errno;
    dirs_.emplace(dir, fd);
    return fd;
  }

  // A fresh name in ROOT/.stratum-tmp/.
  std::string temp_name() { return tmp_prefix_ + std::to_string(counter_++); }

  // Renames the temporary file `tmp` to the object's name, creating its
  // directory if needed. Returns whether an object of that name was there
  // (it is replaced).
  bool rename_into_place(const std::string& tmp, const std::string& key) {
    std::string dest = path(key);
    auto no_replace = [&] { return ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE) == 0 ? 0 : errno; };
    int err = no_replace();
    if (err == ENOENT) {
      std::error_code ec;
      fs::create_directories(fs::path(dest).parent_path(), ec);
      err = ec ? ec.value() : no_replace();
    }
    bool replaced = false;
    if (err == EEXIST || err == EINVAL) {  // EINVAL: the file system cannot refuse to replace
      replaced = err == EEXIST || ::access(dest.c_str(), F_OK) == 0;
      err = ::rename(tmp.c_str(), dest.c_str()) == 0 ? 0 : errno;
    }
    if (err) {
      ::unlink(tmp.c_str());
      fail_errno(err, describe() + ": cannot store " + key);
    }
    return replaced;
  }

  // Returns whether an object of that name was there already (replaced).
  bool write_object(const std::string& key, const bytes& data) {
    if (link_ == link_mode::none) {
      std::string tmp = temp_name();
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) fail_errno(errno, describe() + ": cannot create a temporary file for " + key);
      write_all(fd, key, data, tmp);
      if (::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        fail_errno(err, describe() + ": cannot write " + key);
      }
      return rename_into_place(tmp, key);
    }
    auto slash = key.rfind('/');
    std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
    int dirfd = directory(slash == std::string::npos ? std::string() : key.substr(0, slash));
    if (dirfd < 0) fail_errno(-dirfd, describe() + ": cannot create the directory of " + key);
    int fd = ::openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) fail_errno(errno, describe() + ": cannot create a file for " + key);
    write_all(fd, key, data, {});
    bool replaced = false;
    if (int err = link_unnamed(link_, fd, dirfd, name.c_str())) {
      if (err != EEXIST) {
        ::close(fd);
        fail_errno(err, describe() + ": cannot store " + key);
      }
      // An object of that name is there already — perhaps cut short by a
      // power loss. The new one replaces it whole.
      std::string tmp = temp_name();
      if ((err = link_unnamed(link_, fd, AT_FDCWD, tmp.c_str()))) {
        ::close(fd);
        fail_errno(err, describe() + ": cannot store " + key);
      }
      replaced = rename_into_place(tmp, key);
    }
    if (::close(fd) != 0) fail_errno(errno, describe() + ": cannot write " + key);
    return replaced;
  }

  std::string root_;
  std::string tmp_prefix_;  // ROOT/.stratum-tmp/PID-
  asio::thread_pool& pool_;
  std::atomic<std::uint64_t> counter_{0};
  link_mode link_ = link_mode::none;  // none: temporary name + rename
  std::mutex dirs_mu_;
  std::unordered_map<std::string, int> dirs_;  // directory (relative) -> descriptor
};

}  // namespace

std::unique_ptr<backend> make_local_backend(const std::string& root, bool create, asio::thread_pool& blocking) {
  return std::make_unique<local_backend>(root, create, blocking);
}

}  // namespace stratum
