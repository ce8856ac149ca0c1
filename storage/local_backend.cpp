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
//
// The directory may be writable by others (issue 16), so nothing in it is
// taken for what its name says: every directory below the root is opened
// one component at a time relative to its parent with O_NOFOLLOW, so a
// symbolic link planted in the store never sends a read, a listing or a
// write elsewhere; an object is opened with O_NONBLOCK|O_NOFOLLOW and
// refused (errc::corrupt) unless fstat says it is a regular file, so a FIFO
// where an object should be cannot block a reader in open(2) or read(2).
// Threads: every method runs on the blocking pool (put_here on the caller's
// thread); the directory cache is guarded by a mutex.
#include "storage/backend.hpp"

#include "async/error.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
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

// What a file type is called in messages ("... is not a regular file (a FIFO)").
std::string type_name(mode_t m) {
  if (S_ISREG(m)) return "a regular file";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISLNK(m)) return "a symbolic link";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  return "of an unknown type";
}

// The directory part of a key ("" for a key at the root) and its name.
std::pair<std::string, std::string> split_key(const std::string& key) {
  auto slash = key.rfind('/');
  if (slash == std::string::npos) return {std::string(), key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

class local_backend final : public backend {
 public:
  local_backend(std::string root, bool create, asio::thread_pool& pool) : root_(std::move(root)), pool_(pool) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    tmp_prefix_ = std::to_string(::getpid()) + "-";
    std::error_code ec;
    if (create) fs::create_directories(root_, ec);
    if (!fs::is_directory(root_, ec))
      fail(errc::usage, "store '" + root_ + "' is not a directory" + (create ? "" : " (does it exist?)"));
    // The root is the user's own path (it may be a symbolic link); what lies
    // below it is the store's.
    const int root_fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) fail_errno(errno, "store '" + root_ + "': cannot open");
    dirs_.emplace(std::string(), root_fd);
    root_fd_ = root_fd;
  }
  ~local_backend() override {
    for (auto& [dir, fd] : dirs_) ::close(fd);
    if (tmp_fd_ >= 0) ::close(tmp_fd_);
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
      auto [dir, name] = split_key(key);
      const int dfd = directory_of(key, dir, false);
      if (dfd < 0) return std::nullopt;
      // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
      // writer, for ever. O_NOFOLLOW: a symbolic link is not an object.
      int fd = ::openat(dfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
      if (fd < 0) {
        const int err = errno;
        if (err == ENOENT) return std::nullopt;
        if (err == ELOOP || err == ENXIO) not_regular(key, kind_at(dfd, name));  // ENXIO: a socket
        fail_errno(err, describe() + ": cannot open " + key);
      }
      struct stat st;
      if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        fail_errno(err, describe() + ": cannot stat " + key);
      }
      if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        not_regular(key, type_name(st.st_mode));
      }
      std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
      std::uint64_t start = std::min(offset, size);
      std::uint64_t end = length == 0 ? size : start + std::min(size - start, length);
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
      auto [dir, name] = split_key(key);
      const int dfd = directory_of(key, dir, false);
      if (dfd < 0) return std::nullopt;
      struct stat st;
      if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return std::nullopt;
        fail_errno(errno, describe() + ": cannot stat " + key);
      }
      // What get() would refuse is not an object (check lists it).
      if (!S_ISREG(st.st_mode)) not_regular(key, type_name(st.st_mode));
      return object_info{key, static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec};
    });
    co_return result_;
  }

  awaitable<std::vector<object_info>> list(std::string prefix, std::size_t limit) override {
    auto result_ = co_await run_on(pool_, [&] {
      std::vector<object_info> out;
      // Start at the deepest directory the prefix names; nothing below a
      // symbolic link or a non-directory is listed.
      auto slash = prefix.rfind('/');
      std::string dir = slash == std::string::npos ? "" : prefix.substr(0, slash);
      int dfd;
      {
        std::lock_guard g(dirs_mu_);
        dfd = directory_locked(dir, false);
      }
      if (dfd >= 0) list_below(dfd, dir, prefix, out);
      std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.key < b.key; });
      if (out.size() > limit) out.resize(limit);
      return out;
    });
    co_return result_;
  }

  awaitable<void> remove(std::string key) override {
    check_key(key);
    co_await run_on(pool_, [&] {
      auto [dir, name] = split_key(key);
      const int dfd = directory_of(key, dir, false);
      if (dfd < 0) return;  // not there
      if (::unlinkat(dfd, name.c_str(), 0) != 0 && errno != ENOENT) fail_errno(errno, describe() + ": cannot remove " + key);
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

  [[noreturn]] void not_regular(const std::string& key, const std::string& kind) const {
    fail(errc::corrupt, describe() + ": " + key + " is not a regular file (" + kind + "); remove it or restore the object");
  }

  // What `name` in directory `dfd` is, for a message (without following it).
  static std::string kind_at(int dfd, const std::string& name) {
    struct stat st;
    if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return "cannot tell: " + std::string(std::strerror(errno));
    return type_name(st.st_mode);
  }

  // A descriptor of the store's directory `dir` (relative to the root),
  // opened once and kept (a store has a few hundred), one component at a
  // time below its parent's descriptor with O_NOFOLLOW, so a symbolic link
  // in the store is never followed; with `create`, missing components are
  // made. -errno on failure: -ENOENT missing, -ENOTDIR a component that is
  // not a directory (a symbolic link included). Call with dirs_mu_ held.
  int directory_locked(const std::string& dir, bool create) {
    if (auto it = dirs_.find(dir); it != dirs_.end()) return it->second;
    auto slash = dir.rfind('/');
    const std::string parent = slash == std::string::npos ? std::string() : dir.substr(0, slash);
    const std::string name = slash == std::string::npos ? dir : dir.substr(slash + 1);
    const int pfd = directory_locked(parent, create);
    if (pfd < 0) return pfd;
    constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    int fd = ::openat(pfd, name.c_str(), flags);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(pfd, name.c_str(), 0755) != 0 && errno != EEXIST) return -errno;
      fd = ::openat(pfd, name.c_str(), flags);
    }
    if (fd < 0) return errno == ELOOP ? -ENOTDIR : -errno;
    dirs_.emplace(dir, fd);
    return fd;
  }

  // The directory of `key` for reading or writing it; throws for anything
  // but a missing directory (-ENOENT, returned when not `create`). A
  // component that is not a directory is the store's damage: errc::corrupt
  // naming it.
  int directory_of(const std::string& key, const std::string& dir, bool create) {
    std::lock_guard g(dirs_mu_);
    const int fd = directory_locked(dir, create);
    if (fd >= 0 || fd == -ENOENT) return fd;
    if (fd == -ENOTDIR) {
      // Name the component that is not a directory.
      std::string at;
      for (std::size_t pos = 0; pos <= dir.size();) {
        auto next = dir.find('/', pos);
        if (next == std::string::npos) next = dir.size();
        const std::string sub = dir.substr(0, next);
        const int parent = directory_locked(at, false);
        if (parent >= 0) {
          struct stat st;
          const std::string name = dir.substr(pos, next - pos);
          if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
            fail(errc::corrupt, describe() + ": " + sub + " is not a directory (" + type_name(st.st_mode) + "), so " + key +
                                    " cannot be there; remove it");
        }
        at = sub;
        pos = next + 1;
      }
    }
    fail_errno(-fd, describe() + ": cannot open the directory of " + key);
  }

  // Appends the regular files below the directory `dfd` (`rel` from the
  // root) whose keys start with `prefix`. Symbolic links, FIFOs and other
  // non-files are not objects and are left out; subdirectories are opened
  // with O_NOFOLLOW and only where the prefix can match below them.
  void list_below(int dfd, const std::string& rel, const std::string& prefix, std::vector<object_info>& out) const {
    const int fd = ::openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail(errc::transient, describe() + ": cannot list '" + prefix + "': " + std::strerror(errno));
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      fail(errc::transient, describe() + ": cannot list '" + prefix + "': " + std::strerror(errno));
    }
    struct closer {
      DIR* d;
      ~closer() { ::closedir(d); }
    } close_it{d};
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == ".." || (rel.empty() && name == tmp_dir)) continue;
      const std::string key = rel.empty() ? name : rel + "/" + name;
      unsigned char type = e->d_type;
      struct stat st;
      bool have_stat = false;
      if (type == DT_UNKNOWN || type == DT_REG) {
        if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone since
        have_stat = true;
        type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_UNKNOWN;
      }
      if (type == DT_REG && have_stat && key.compare(0, prefix.size(), prefix) == 0) {
        out.push_back({key, static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec});
      } else if (type == DT_DIR) {
        const std::string below = key + "/";
        const std::size_t n = std::min(below.size(), prefix.size());
        if (below.compare(0, n, prefix, 0, n) != 0) continue;  // the prefix cannot match below it
        const int sub = ::openat(::dirfd(d), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (sub < 0) continue;  // replaced by something else since
        struct sub_closer {
          int fd;
          ~sub_closer() { ::close(fd); }
        } close_sub{sub};
        list_below(sub, key, prefix, out);
      }
    }
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
        if (!unlink_on_error.empty()) ::unlinkat(tmp_fd_, unlink_on_error.c_str(), 0);
        fail_errno(err, describe() + ": cannot write " + key);
      }
      done += static_cast<std::size_t>(n);
    }
  }

  // How an unnamed file gets its name.
  enum class link_mode { none, empty_path, proc };

  // Links the unnamed file `fd` as `name` in directory `dirfd`. Returns 0 or
  // errno.
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
    const std::string probe = tmp_prefix_ + "probe";
    for (auto mode : {link_mode::empty_path, link_mode::proc}) {
      if (proc_only && mode != link_mode::proc) continue;
      int fd = ::openat(tmp_fd_, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) return link_mode::none;
      ::unlinkat(tmp_fd_, probe.c_str(), 0);
      bool ok = link_unnamed(mode, fd, tmp_fd_, probe.c_str()) == 0;
      ::close(fd);
      if (ok) {
        ::unlinkat(tmp_fd_, probe.c_str(), 0);
        return mode;
      }
    }
    return link_mode::none;
  }

  // A fresh name in ROOT/.stratum-tmp/.
  std::string temp_name() { return tmp_prefix_ + std::to_string(counter_++); }

  // Renames the temporary file `tmp` (in .stratum-tmp) to the object's name
  // in directory `dirfd`. Returns whether an object of that name was there
  // (it is replaced: a FIFO or a symbolic link planted there too).
  bool rename_into_place(const std::string& tmp, int dirfd, const std::string& name, const std::string& key) {
    auto no_replace = [&] { return ::renameat2(tmp_fd_, tmp.c_str(), dirfd, name.c_str(), RENAME_NOREPLACE) == 0 ? 0 : errno; };
    int err = no_replace();
    bool replaced = false;
    if (err == EEXIST || err == EINVAL) {  // EINVAL: the file system cannot refuse to replace
      replaced = err == EEXIST || ::faccessat(dirfd, name.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
      err = ::renameat(tmp_fd_, tmp.c_str(), dirfd, name.c_str()) == 0 ? 0 : errno;
    }
    if (err) {
      ::unlinkat(tmp_fd_, tmp.c_str(), 0);
      fail_errno(err, describe() + ": cannot store " + key);
    }
    return replaced;
  }

  // Makes ROOT/.stratum-tmp and picks how files get their names, before the
  // first write; a reader never writes, so it can read a store it may not
  // write to (read-only, another user's) and leaves no trace in it. A
  // failure is thrown to the writer and tried again by the next.
  void ready_to_write() {
    std::call_once(write_setup_, [&] {
      const int root_fd = root_fd_;
      if (::mkdirat(root_fd, tmp_dir, 0755) == 0 || errno == EEXIST)
        tmp_fd_ = ::openat(root_fd, tmp_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (tmp_fd_ < 0) {
        const int err = errno;
        const std::string kind = err == ENOTDIR || err == ELOOP ? kind_at(root_fd, tmp_dir) : "";
        if (!kind.empty())
          fail(errc::corrupt, "store '" + root_ + "': " + tmp_dir + " is not a directory (" + kind + "); remove it");
        fail_errno(err, "store '" + root_ + "': cannot create " + tmp_dir);
      }
      // STRATUM_LOCAL_LINK=proc or =rename forces a way (tests cover each).
      const char* force = std::getenv("STRATUM_LOCAL_LINK");
      std::string_view forced = force ? force : "";
      if (forced != "rename") link_ = probe_unnamed(forced == "proc");
    });
  }

  // Returns whether an object of that name was there already (replaced).
  bool write_object(const std::string& key, const bytes& data) {
    ready_to_write();
    auto [dir, name] = split_key(key);
    const int dirfd = directory_of(key, dir, true);
    if (link_ == link_mode::none) {
      std::string tmp = temp_name();
      int fd = ::openat(tmp_fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0) fail_errno(errno, describe() + ": cannot create a temporary file for " + key);
      write_all(fd, key, data, tmp);
      if (::close(fd) != 0) {
        int err = errno;
        ::unlinkat(tmp_fd_, tmp.c_str(), 0);
        fail_errno(err, describe() + ": cannot write " + key);
      }
      return rename_into_place(tmp, dirfd, name, key);
    }
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
      if ((err = link_unnamed(link_, fd, tmp_fd_, tmp.c_str()))) {
        ::close(fd);
        fail_errno(err, describe() + ": cannot store " + key);
      }
      replaced = rename_into_place(tmp, dirfd, name, key);
    }
    if (::close(fd) != 0) fail_errno(errno, describe() + ": cannot write " + key);
    return replaced;
  }

  std::string root_;
  std::string tmp_prefix_;  // PID-, names in .stratum-tmp
  int root_fd_ = -1;        // ROOT (also in dirs_, which owns it)
  int tmp_fd_ = -1;         // ROOT/.stratum-tmp
  asio::thread_pool& pool_;
  std::atomic<std::uint64_t> counter_{0};
  link_mode link_ = link_mode::none;  // none: temporary name + rename
  std::once_flag write_setup_;         // tmp_fd_ and link_, set once before the first write
  std::mutex dirs_mu_;
  std::unordered_map<std::string, int> dirs_;  // directory (relative, "" the root) -> descriptor
};

}  // namespace

std::unique_ptr<backend> make_local_backend(const std::string& root, bool create, asio::thread_pool& blocking) {
  return std::make_unique<local_backend>(root, create, blocking);
}

}  // namespace stratum
