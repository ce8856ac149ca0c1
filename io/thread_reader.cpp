// The fallback reader: blocking system calls on the blocking pool.
#include "io/reader.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace stratum {
namespace {

long full_pread(int fd, std::uint8_t* p, std::size_t n, std::uint64_t off) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, p + done, n - done, static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (r == 0) break;
    done += r;
  }
  return static_cast<long>(done);
}

class thread_reader final : public file_reader {
 public:
  explicit thread_reader(asio::thread_pool& pool) : pool_(pool) {}

  awaitable<whole_read> read_small(int dir, std::string path, std::size_t size) override {
    auto result_ = co_await run_on(pool_, [&] {
      whole_read r;
      int fd = ::openat(dir, path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        r.error = -errno;
        return r;
      }
      r.data.resize(size);
      long n = full_pread(fd, r.data.data(), size, 0);
      ::close(fd);
      if (n < 0) {
        r.error = static_cast<int>(n);
        r.data.clear();
        return r;
      }
      r.data.resize(n);
      return r;
    });
    co_return result_;
  }

  awaitable<int> open(int dir, std::string path) override {
    auto result_ = co_await run_on(pool_, [&] {
      int fd = ::openat(dir, path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      return fd < 0 ? -errno : fd;
    });
    co_return result_;
  }

  awaitable<long> read_at(int fd, std::uint64_t offset, std::span<std::uint8_t> into) override {
    auto result_ = co_await run_on(pool_, [&] { return full_pread(fd, into.data(), into.size(), offset); });
    co_return result_;
  }

  awaitable<void> close(int fd) override {
    co_await run_on(pool_, [&] { return ::close(fd); });
  }

  awaitable<int> stat(int dir, std::string path, file_stat& out) override {
    file_stat st;
    int r = co_await run_on(pool_, [&] { return stat_at(dir, path.c_str(), st); });
    if (r == 0) out = st;
    co_return r;
  }

  const char* name() const override { return "threads"; }

 private:
  asio::thread_pool& pool_;
};

}  // namespace

std::unique_ptr<file_reader> make_thread_reader(asio::thread_pool& blocking) {
  return std::make_unique<thread_reader>(blocking);
}

}  // namespace stratum
