// Files handed to the kernel's page cache ahead of their reads
// (page_cache_push.hpp). Thread: the push thread; queue() on the I/O thread.
#define FUSE_USE_VERSION 314
#include "cmd/page_cache_push.hpp"

#include <fuse_lowlevel.h>

#include <boost/asio/steady_timer.hpp>
#include <cerrno>

namespace stratum::cmd {

void page_cache_push::queue(std::uint64_t ino, std::shared_ptr<const cached_object> obj, int retries) {
  if (obj->size > 0) asio::post(thread_, [this, ino, obj = std::move(obj), retries] { push(ino, obj, retries); });
}

void page_cache_push::push(std::uint64_t ino, std::shared_ptr<const cached_object> o, int retries) {
  const cached_object& obj = *o;
  // libfuse reads the bytes from the cache's file (its pages are in memory:
  // they were just written or checked) and writes them to /dev/fuse.
  fuse_bufvec bv = FUSE_BUFVEC_INIT(obj.size);
  bv.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  bv.buf[0].fd = obj.fd();
  bv.buf[0].pos = static_cast<off_t>(obj.offset);
  const int r = se_ ? fuse_lowlevel_notify_store(se_, ino, 0, &bv, static_cast<fuse_buf_copy_flags>(0)) : -ENOTCONN;
  if (r == 0) {
    ++pushed_;
  } else if (r == -ENOENT && retries > 0) {
    auto t = std::make_shared<asio::steady_timer>(thread_, std::chrono::milliseconds(2 << (2 * (3 - std::min(retries, 3)))));
    t->async_wait([this, t, ino, o = std::move(o), retries](const boost::system::error_code& ec) {
      if (!ec) push(ino, o, retries - 1);
    });
  } else if (r == -ENOENT) {
    ++refused_;
  } else if (failed_++ == 0) {
    first_error_ = -r;
  }
}

void page_cache_push::stop() {
  thread_.stop();
  thread_.join();
}

}  // namespace stratum::cmd
