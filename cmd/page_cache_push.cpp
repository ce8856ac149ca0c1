// Files handed to the kernel's page cache ahead of their reads
// (page_cache_push.hpp). Thread: the push thread; later() on the I/O thread.
#define FUSE_USE_VERSION 314
#include "cmd/page_cache_push.hpp"

#include <fuse_lowlevel.h>

namespace stratum::cmd {

void page_cache_push::later(std::uint64_t ino, std::shared_ptr<const cached_object> obj) {
  if (obj->size > 0) asio::post(thread_, [this, ino, obj = std::move(obj)] { push(ino, *obj); });
}

void page_cache_push::push(std::uint64_t ino, const cached_object& obj) {
  // libfuse reads the bytes from the cache's file (its pages are in memory:
  // they were just written or checked) and writes them to /dev/fuse.
  fuse_bufvec bv = FUSE_BUFVEC_INIT(obj.size);
  bv.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  bv.buf[0].fd = obj.fd();
  bv.buf[0].pos = static_cast<off_t>(obj.offset);
  if (se_ && fuse_lowlevel_notify_store(se_, ino, 0, &bv, static_cast<fuse_buf_copy_flags>(0)) == 0) ++pushed_;
  else ++refused_;
}

void page_cache_push::stop() {
  thread_.stop();
  thread_.join();
}

}  // namespace stratum::cmd
