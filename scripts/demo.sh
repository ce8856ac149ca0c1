#!/usr/bin/env bash
# Installs what is missing, builds, publishes a sample tree (this source tree)
# to a local store in demo/, and lists it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh --target stratum
rm -rf demo && mkdir -p demo/sample
cp -a async io storage catalog cmd tests docs README.md CMakeLists.txt demo/sample/
./build/stratum publish --new demo/state demo/sample demo/store
./build/stratum info demo/store
./build/stratum ls -l demo/store
