#!/usr/bin/env bash
# Publishes one directory tree with stratum and its peers, side by side in one
# run, and prints wall and CPU seconds, peak RSS, stored bytes and ratios.
#
#   bench/run.sh DIR              benchmark an existing tree
#   bench/run.sh --generate       a generated tree: 20,000 small files, 4 large
#                                 compressible and 2 large incompressible ones
#   bench/run.sh --linux          the Linux 6.1 source (Debian linux-source-6.1)
#
# stratum publishes twice each round: in its own format ("stratum") and in
# the CernVM-FS format ("stratum-cvmfs": --format cvmfs, docs/FORMAT-cvmfs.md),
# each restored after.
# BENCH_BASELINE=BINARY also publishes with another stratum binary (an
# earlier commit's), interleaved, as "stratum-before".
# BENCH_RUNS=N (default 3) runs the tools N times, interleaved, and reports
# each tool's median run (by wall time): a shared VM's speed drifts by a
# third within minutes, so one run of each proves little. BENCH_WORK=DIR puts
# the scratch space (tree and outputs) elsewhere.
#
# Each round then restores what it published (stratum restore, restic
# restore), timed the same way: reading back verifies every object. Each
# output is deleted just before the same tool runs again (measure()), never
# right before another tool: ext4 goes on freeing a deleted tree after rm
# returns, which had slowed whichever tool ran next.
#
# Peers: restic 0.14 (backup to a local repository) and cp -a. The page cache
# is warmed first (one untimed read of the tree), so every tool reads from
# memory; each tool writes to the same file system under bench/work/.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_WORK:-bench/work}
source bench/tree.sh "${1:-}"

files=$(find "$src" -type f | wc -l)
bytes=$(du -sb "$src" | cut -f1)
find "$src" -type f -print0 | xargs -0 cat > /dev/null  # warm the page cache

# Readers (the checks and restores below) record trusted keys under the work
# directory, not in ~/.config: each round makes its repositories again, with
# new keys, at the same paths, which a reader's record rightly refuses.
export XDG_CONFIG_HOME="$work/config"
results=$work/results.tsv
: > "$results"
measure() {  # name, output dir, command...
  local name=$1 out=$2; shift 2
  rm -rf "$out" "$work/state-$name"
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$work/time-$name" "$@" >/dev/null 2>"$work/log-$name" || {
    echo "$name failed:" >&2; tail -5 "$work/log-$name" >&2; exit 1; }
  read -r wall user sys rss < "$work/time-$name"
  local stored; stored=$(du -sb "$out" | cut -f1)
  echo -e "$name\t$wall\t$(echo "$user + $sys" | bc)\t$((rss / 1024))\t$stored" >> "$results"
}

# restic init is not timed; measure() must not delete the repository.
measure_restic() {
  rm -rf "$work/store-restic"
  RESTIC_PASSWORD=bench restic init -q -r "$work/store-restic" >/dev/null
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$work/time-restic" env RESTIC_PASSWORD=bench restic backup -q -r "$work/store-restic" "$src" >/dev/null 2>"$work/log-restic"
  read -r wall user sys rss < "$work/time-restic"
  echo -e "restic\t$wall\t$(echo "$user + $sys" | bc)\t$((rss / 1024))\t$(du -sb "$work/store-restic" | cut -f1)" >> "$results"
}
for round in $(seq 1 "${BENCH_RUNS:-3}"); do
  measure stratum "$work/store-stratum" ./build/stratum publish --new "$work/state-stratum" "$src" "$work/store-stratum" --quiet
  # Check the repository stratum wrote, untimed.
  ./build/stratum check "$work/store-stratum" --pubkey "$work/state-stratum/keys/stratum.pub" >/dev/null 2>&1 || { echo "stratum check failed" >&2; exit 1; }
  measure stratum-cvmfs "$work/store-cvmfs" ./build/stratum publish --new "$work/state-stratum-cvmfs" "$src" "$work/store-cvmfs" \
    --format cvmfs --name bench.example.org --quiet
  if [ -n "${BENCH_BASELINE:-}" ]; then
    measure stratum-before "$work/store-before" "$BENCH_BASELINE" publish --new "$work/state-stratum-before" "$src" "$work/store-before" --quiet
  fi
  measure_restic
  measure cp "$work/copy-cp" cp -a "$src" "$work/copy-cp"
  # Restores, read back from the stores written above, each pinned to the
  # key its publisher made.
  measure restore:stratum "$work/restored-stratum" ./build/stratum restore "$work/store-stratum" "$work/restored-stratum" \
    --pubkey "$work/state-stratum/keys/stratum.pub" --quiet
  measure restore:stratum-cvmfs "$work/restored-cvmfs" ./build/stratum restore "$work/store-cvmfs" "$work/restored-cvmfs" \
    --pubkey "$work/state-stratum-cvmfs" --quiet
  if [ -n "${BENCH_BASELINE:-}" ]; then
    measure restore:stratum-before "$work/restored-before" "$BENCH_BASELINE" restore "$work/store-before" "$work/restored-before" \
      --pubkey "$work/state-stratum-before/keys/stratum.pub" --quiet
  fi
  measure restore:restic "$work/restored-restic" env RESTIC_PASSWORD=bench restic restore -q latest -r "$work/store-restic" \
    --target "$work/restored-restic"
done

echo
echo "tree: $src — $files files, $(numfmt --to=iec "$bytes")B; $(nproc) cores; warm page cache"
echo
python3 - "$results" <<'PY'
import sys
runs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
names = list(dict.fromkeys(r[0] for r in runs))
def median(name):
    mine = sorted((r for r in runs if r[0] == name), key=lambda r: float(r[1]))
    return mine[len(mine) // 2]
rows = [median(n) for n in names]
by = {r[0]: r for r in rows}
print("runs per tool: %d; wall s of each run: %s" % (len(runs) // len(names),
      "; ".join("%s %s" % (n, " ".join(r[1] for r in runs if r[0] == n)) for n in names)))
print()
s = by["stratum"]
print("| tool | wall s | CPU s | peak RSS MiB | stored MiB | wall vs stratum | stored vs stratum |")
print("|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    if r[0].startswith("restore:"): continue
    print("| %s | %.2f | %.2f | %d | %.1f | %.2f× | %.2f× |" % (r[0], float(r[1]), float(r[2]), int(r[3]), int(r[4]) / 2**20,
          float(r[1]) / float(s[1]), int(r[4]) / int(s[4])))
sr = by["restore:stratum"]
print()
print("| restore | wall s | CPU s | peak RSS MiB | wall vs stratum | CPU vs stratum |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    if not r[0].startswith("restore:"): continue
    print("| %s | %.2f | %.2f | %d | %.2f× | %.2f× |" % (r[0][8:], float(r[1]), float(r[2]), int(r[3]),
          float(r[1]) / float(sr[1]), float(r[2]) / float(sr[2])))
rs = by["restic"]
print()
print("stratum/restic: wall %.2f×, CPU %.2f×, stored %.2f×, peak RSS %d MiB" % (
    float(s[1]) / float(rs[1]), float(s[2]) / float(rs[2]), int(s[4]) / int(rs[4]), int(s[3])))
c = by["stratum-cvmfs"]
print("stratum-cvmfs/stratum: wall %.2f×, CPU %.2f×, stored %.2f×; stratum-cvmfs/restic: wall %.2f×" % (
    float(c[1]) / float(s[1]), float(c[2]) / float(s[2]), int(c[4]) / int(s[4]), float(c[1]) / float(rs[1])))
PY

# Delete the outputs now rather than before the next run: ext4 without a
# journal skips recently freed inodes for minutes (bench/README.md).
rm -rf "$work/store-cvmfs" "$work/state-stratum-cvmfs" "$work/restored-cvmfs"
rm -rf "$work/store-stratum" "$work/state-stratum" "$work/store-restic" "$work/copy-cp" "$work/store-before" "$work/state-stratum-before" \
  "$work/config" "$work/restored-stratum" "$work/restored-before" "$work/restored-restic"
