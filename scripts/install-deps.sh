#!/usr/bin/env bash
# Installs, with apt-get, whatever a fresh Debian 12 machine lacks to build and
# test stratum. Idempotent: packages already present are not fetched again.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   also what the test suite needs
#   scripts/install-deps.sh --bench  also the peers the benchmark compares with
#   scripts/install-deps.sh --fuzz   also clang and libFuzzer (scripts/fuzz.sh)
set -euo pipefail

pkgs=(g++ cmake ninja-build pkg-config ccache
      libboost1.81-dev liburing-dev librocksdb-dev libssl-dev zlib1g-dev
      libdeflate-dev libisal-dev libgoogle-perftools-dev libpugixml-dev libsqlite3-dev doctest-dev attr
      libfuse3-dev fuse3)
for arg in "$@"; do
  case "$arg" in
    # Node.js runs s3rver and Azurite (the emulators, from npm, below);
    # botocore, awscli and rclone check stratum against other clients.
    --test)  pkgs+=(python3 openssl nodejs python3-botocore awscli rclone); test=1 ;;
    --bench) pkgs+=(restic time bc) ;;
    # libFuzzer comes with clang's runtime libraries; only scripts/fuzz.sh
    # needs them (CI replays the corpora with g++, tests/fuzz/README.md).
    --fuzz)  pkgs+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps.sh: unknown option '$arg' (use --test, --bench or --fuzz)" >&2; exit 2 ;;
  esac
done

test=${test:-0}
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps.sh: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$test" = 1 ]; then
  # Debian's nodejs comes without npm (NodeSource's includes it).
  command -v npm >/dev/null || $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null
  # Test servers from npm, pinned (docs/TESTING.md), into .tools/ of the
  # checkout; the tests find them there.
  tools=$(cd "$(dirname "$0")/.." && pwd)/.tools
  if [ ! -x "$tools/node_modules/.bin/s3rver" ] || [ ! -x "$tools/node_modules/.bin/azurite-blob" ]; then
    # azurite 3.35.0: 3.36 and later need Node >= 21.
    echo "install-deps.sh: npm install s3rver@3.7.1 azurite@3.35.0 into $tools" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error s3rver@3.7.1 azurite@3.35.0 >/dev/null
  fi
fi
