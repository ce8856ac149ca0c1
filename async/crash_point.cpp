// Named crash points for the kill tests (crash_point.hpp). Thread: any; the
// counter is atomic.
#include "async/crash_point.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

namespace stratum {
namespace {

struct target {
  std::string name;
  long count = 0;
};

const target* armed() {
  static const target* t = [] () -> const target* {
    const char* v = std::getenv("STRATUM_CRASH_AT");
    if (!v || !*v) return nullptr;
    auto* x = new target;
    std::string s(v);
    auto colon = s.rfind(':');
    x->name = s.substr(0, colon);
    x->count = colon == std::string::npos ? 1 : std::atol(s.c_str() + colon + 1);
    return x;
  }();
  return t;
}

std::atomic<long> hits{0};

}  // namespace

void crash_point(const char* name) {
  const target* t = armed();
  if (!t || t->name != name) return;
  if (hits.fetch_add(1) + 1 >= t->count) ::kill(::getpid(), SIGKILL);
}

}  // namespace stratum
