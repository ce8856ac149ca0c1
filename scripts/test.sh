#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: the unit
# tests first (seconds), then end-to-end and cloud-emulator tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest -j "$(nproc)" --output-on-failure --timeout 600 -L unit
ctest -j "$(nproc)" --output-on-failure --timeout 600 -LE unit
