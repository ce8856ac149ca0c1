#include "io/reader.hpp"

namespace stratum {

std::unique_ptr<file_reader> make_file_reader(asio::io_context& io, asio::thread_pool& blocking, reader_kind kind,
                                              unsigned max_open, const std::function<void(const std::string&)>& log) {
  if (kind == reader_kind::threads) return make_thread_reader(blocking);
  try {
    return make_uring_reader(io, max_open);
  } catch (const std::exception& e) {
    if (kind == reader_kind::uring) throw;
    if (log) log(std::string("io_uring unavailable (") + e.what() + "); reading files with a thread pool");
    return make_thread_reader(blocking);
  }
}

}  // namespace stratum
