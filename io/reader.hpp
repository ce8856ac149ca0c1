// Reading source files without blocking the I/O thread.
//
// Two implementations behind one interface: io_uring (one ring per reader,
// completions bridged into Asio through an eventfd; small files are read with
// one linked open -> read -> close submission on registered file slots), and
// a blocking thread pool for when io_uring is unavailable (seccomp,
// kernel.io_uring_disabled) or not wanted (--reader threads).
#pragma once

#include "async/async.hpp"
#include "io/file_stat.hpp"
#include "io/io.hpp"

#include <functional>
#include <memory>

namespace stratum {

struct whole_read {
  read_buffer data;  // what was read; shorter than asked if the file shrank
  int error = 0;     // -errno of the first failing step, 0 on success (as every io/ call)
};

// All methods must be called from the reader's I/O thread (the io_context it
// was made with) and may run concurrently with each other. None throws for a
// file's own failure: errors come back as values (negative errno), since an
// unreadable source file is an expected outcome that the caller reports.
// A file is named as the *at() calls name it: `path` relative to the
// directory open at `dir`, or AT_FDCWD and an absolute path (a path of
// PATH_MAX bytes or more works only relative to a directory near it); `dir`
// must stay open until the call completes.
class file_reader {
 public:
  virtual ~file_reader() = default;
  // Opens the file, reads up to `size` bytes from offset 0 and closes it. The
  // caller stats the path afterwards to tell whether the file changed while
  // it was read (a statx in the chain would go to an io-wq worker thread:
  // io_uring always runs statx there).
  virtual awaitable<whole_read> read_small(int dir, std::string path, std::size_t size) = 0;
  // Opens the file read-only (O_NOFOLLOW). Returns a descriptor or -errno.
  virtual awaitable<int> open(int dir, std::string path) = 0;
  // Reads into `into` at `offset`; returns bytes read (0 at end) or -errno.
  // `into` must stay valid until the call completes.
  virtual awaitable<long> read_at(int fd, std::uint64_t offset, std::span<std::uint8_t> into) = 0;
  virtual awaitable<void> close(int fd) = 0;
  // statx of the file without following symlinks; -errno on failure.
  virtual awaitable<int> stat(int dir, std::string path, file_stat& out) = 0;
  virtual const char* name() const = 0;
};

enum class reader_kind { automatic, uring, threads };

// Makes a reader on `io`. `automatic` tries io_uring and falls back to the
// thread pool, calling `log` once with the reason; `uring` fails (throws) if
// io_uring cannot be set up. `max_open` bounds files open at once.
std::unique_ptr<file_reader> make_file_reader(asio::io_context& io, asio::thread_pool& blocking, reader_kind kind,
                                              unsigned max_open, const std::function<void(const std::string&)>& log);

std::unique_ptr<file_reader> make_thread_reader(asio::thread_pool& blocking);
// Throws std::system_error when io_uring is unavailable.
std::unique_ptr<file_reader> make_uring_reader(asio::io_context& io, unsigned max_open);

}  // namespace stratum
