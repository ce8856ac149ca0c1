#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite, twice over:
#   build/       Release, as shipped: unit tests first (seconds), then the
#                end-to-end, cloud-emulator and hostile-store tests;
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (-O1): the same
#                tests, the stratum binary they run included (+3.5 minutes
#                from a clean checkout; tests/fuzz/README.md, "In CI").
# Both with -Werror. The corpus replays of tests/fuzz are unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
build=${BUILD_DIR:-build}
asan=${ASAN_BUILD_DIR:-build-asan}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRATUM_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
# -O1: ASan's advice for speed; -g1: line numbers in its reports.
cmake -S . -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" \
  -DSTRATUM_SANITIZE=ON -DSTRATUM_WERROR=ON >/dev/null
cmake --build "$asan" -j "$(nproc)"

# A sanitizer's report fails the test that ran into it: a distinct exit code
# (the stratum binary's own are 0..3), and leaks reported at exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86:detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}

(cd "$build" && ctest -j "$(nproc)" --output-on-failure --timeout 600 -L unit)
(cd "$asan" && ctest -j "$(nproc)" --output-on-failure --timeout 600 -L unit)
(cd "$build" && ctest -j "$(nproc)" --output-on-failure --timeout 600 -LE unit)
(cd "$asan" && ctest -j "$(nproc)" --output-on-failure --timeout 600 -LE unit)
