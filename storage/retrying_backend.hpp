// Retries with backoff and an adaptive limit on requests in flight, around
// any backend (retrying_backend.cpp says how).
#pragma once

#include "storage/backend.hpp"

#include <chrono>

namespace stratum {

struct retry_policy {
  unsigned max_attempts = 10;                  // then the transient error stops the run (resumable)
  std::chrono::milliseconds base{100};         // first backoff
  std::chrono::milliseconds cap{20000};        // longest backoff
  unsigned max_in_flight = 512;                // the window's ceiling (--max-requests)
  unsigned min_in_flight = 4;                  // throttling never goes below
};

std::unique_ptr<backend> make_retrying_backend(std::unique_ptr<backend> inner, asio::io_context& io, const retry_policy& p);

}  // namespace stratum
