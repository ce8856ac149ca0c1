#!/usr/bin/env bash
# Installs, with apt-get, whatever a fresh Debian 12 machine lacks to build and
# test stratum. Idempotent: packages already present are not fetched again.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   also what the test suite needs
#   scripts/install-deps.sh --bench  also the peers the benchmark compares with
set -euo pipefail

pkgs=(g++ cmake ninja-build pkg-config ccache
      libboost1.81-dev liburing-dev librocksdb-dev libssl-dev zlib1g-dev
      libdeflate-dev doctest-dev attr)
for arg in "$@"; do
  case "$arg" in
    --test)  pkgs+=(python3 openssl) ;;
    --bench) pkgs+=(restic time bc) ;;
    *) echo "install-deps.sh: unknown option '$arg' (use --test or --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
