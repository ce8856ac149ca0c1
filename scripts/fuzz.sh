#!/usr/bin/env bash
# Runs one libFuzzer target (tests/fuzz/README.md) for SECONDS under nice -n 19,
# then merges what it found into tests/fuzz/corpus/TARGET/ (-merge=1: the
# smallest set of inputs that keeps the coverage). Commit the corpus after.
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   scripts/fuzz.sh --list
# Builds build-fuzz/ with clang (-DSTRATUM_FUZZ=ON) under the shared build lock.
# A crash leaves its input in build-fuzz/artifacts/TARGET/ and exits non-zero;
# once fixed, copy it into the corpus as regression-<what> (merges keep those).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(decode_catalog decode_history parse_manifest decode_entry decode_catalog_record inflate
  s3_xml azure_xml http_fields http_store cvmfs_catalog)
if [ "${1:-}" = --list ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
if [ $# -lt 2 ] || [[ ! " ${targets[*]} " = *" $1 "* ]] || ! [[ $2 =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options]  (TARGET: ${targets[*]})" >&2
  exit 2
fi
target=$1 seconds=$2
shift 2
build=build-fuzz
bin=$build/tests/fuzz
bash scripts/install-deps.sh --fuzz
# The lock only when there is something to build (ninja -n: a dry run).
if [ ! -f $build/build.ninja ] ||
   ! cmake --build $build --target fuzz_$target fuzz_seeds -- -n | grep -q 'no work to do'; then
  flock /tmp/stratum-build.lock bash -c "
    [ -f $build/build.ninja ] || cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_COMPILER=clang++ -DSTRATUM_FUZZ=ON -DSTRATUM_WERROR=ON >/dev/null
    cmake --build $build -j \$(nproc) --target fuzz_$target fuzz_seeds"
fi

corpus=tests/fuzz/corpus/$target
work=$build/work/$target          # what this run finds, before the merge
artifacts=$build/artifacts/$target/
mkdir -p "$corpus" "$work" "$artifacts" "$build/logs"
if [ -z "$(ls -A "$corpus")" ]; then
  seeds=$(mktemp -d)
  "$bin/fuzz_seeds" "$seeds"
  cp "$seeds/$target"/* "$corpus/"
  rm -rf "$seeds"
fi

log=$build/logs/$target.log
start=$(date +%s)
rc=0
# -timeout: an input that takes 10 s is a finding (a hang), not a slow case.
nice -n 19 "$bin/fuzz_$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$artifacts" "$@" "$work" "$corpus" 2>"$log" || rc=$?
end=$(date +%s)
grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: $target failed after $((end - start)) s (exit $rc); see $log and $artifacts" >&2
  exit $rc
fi

# Merge into a fresh directory, keep regression inputs by name, replace the corpus.
merged=$(mktemp -d)
nice -n 19 "$bin/fuzz_$target" -merge=1 "$merged" "$corpus" "$work" 2>>"$log"
# Boost.URL's many branches make the merges of azure_xml and http_fields keep
# ~1,300 inputs for their hit counts; past 400, merge again on edges alone
# (-use_counters=0: a few hundred inputs, the same edges), so a committed
# corpus stays a few hundred files.
if [ "$(ls "$merged" | wc -l)" -gt 400 ]; then
  edges=$(mktemp -d)
  nice -n 19 "$bin/fuzz_$target" -merge=1 -use_counters=0 "$edges" "$merged" 2>>"$log"
  rm -rf "$merged" && merged=$edges
fi
cp "$corpus"/regression-* "$merged/" 2>/dev/null || true
rm -rf "$corpus" && mkdir -p "$corpus" && cp "$merged"/* "$corpus/" && rm -rf "$merged" "$work"
echo "fuzz.sh: $target ran $((end - start)) s, no finding; corpus $(ls "$corpus" | wc -l) files, $(du -sk "$corpus" | cut -f1) KiB ($log)"
