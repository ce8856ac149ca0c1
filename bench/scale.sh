#!/usr/bin/env bash
# Publishing at scale (issue 19, item 5), in one run:
#
#   1. the RSS curve: `stratum publish --new --autocatalogs` (local store)
#      of the generated tree at 100k and 1M files (and 10M with SCALE_10M=1:
#      ~40 GB of disk and ~10.5M inodes for the tree alone), peak RSS and wall;
#   2. the 1M-file tree side by side with restic: publish against
#      `restic backup`, then the unchanged republish against restic's
#      unchanged re-backup (the same paths, so restic takes the first
#      snapshot as its parent and skips unchanged files by their metadata).
#
#   bench/scale.sh
#
# Trees come from bench/scale_tree.cpp (a deep shape, a directory of 100,000
# files, one of 100,000 subdirectories; 0..4 KiB files from a pool of 65,536
# contents; no catalog markers: --autocatalogs places the catalogs) under SCALE_TREES (default /tmp/scale/100k, /tmp/scale/1m,
# /tmp/scale/10m), made once and kept: a tree of the right count is reused.
# Outputs go under BENCH_WORK (default bench/work) and are deleted at the end.
# The page cache is warmed (one untimed walk and read) before each tool.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_WORK:-bench/work}
trees=${SCALE_TREES:-/tmp/scale}
stratum=./build/stratum
mkdir -p "$work" "$trees"
export XDG_CONFIG_HOME="$work/config"

g++ -O2 -std=c++20 -o "$work/scale_tree" bench/scale_tree.cpp
tree_of() {  # name files -> path of the tree, generated if missing
  local dir=$trees/$1
  local done_mark=$trees/.$1.complete-$2  # beside the tree, not in it
  if [ ! -f "$done_mark" ]; then
    rm -rf "$dir"
    "$work/scale_tree" "$dir" "$2" >/dev/null
    touch "$done_mark"
  fi
  echo "$dir"
}
warm() { find "$1" -type f -print0 | xargs -0 cat > /dev/null; }

results=$work/scale.tsv
: > "$results"
cleanup() { rm -rf "$work"/sc-*; }
trap cleanup EXIT
cleanup
# timed NAME COMMAND...: appends "NAME wall cpu rss_mib" to the results.
timed() {
  local name=$1; shift
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$work/sc-time" "$@" >/dev/null 2>"$work/sc-log-$name" || {
    echo "$name failed:" >&2; tail -5 "$work/sc-log-$name" >&2; exit 1; }
  read -r wall user sys rss < "$work/sc-time"
  echo -e "$name\t$wall\t$(echo "$user + $sys" | bc)\t$((rss / 1024))" >> "$results"
}

# 1. The RSS curve.
sizes="100k:100000 1m:1000000"
[ "${SCALE_10M:-0}" = 1 ] && sizes="$sizes 10m:10000000"
for s in $sizes; do
  name=${s%%:*}; n=${s##*:}
  src=$(tree_of "$name" "$n")
  warm "$src"
  timed "curve-$name" $stratum publish --new "$work/sc-state-$name" "$src" "$work/sc-store-$name" --autocatalogs --quiet
  $stratum list-catalogs "$work/sc-store-$name" -e --pubkey "$work/sc-state-$name" |
    awk -v n="$name" '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { v = $i; break }; c++; if (v > max) max = v } END { print "  " n ": " c " catalogs, the heaviest " max " entries" }' >&2
  rm -rf "$work/sc-state-$name" "$work/sc-store-$name"
done

# 2. 1M files against restic: publish, then the unchanged republish.
src=$(tree_of 1m 1000000)
rm -rf "$work/sc-state-1m" "$work/sc-store-1m"
warm "$src"
timed stratum $stratum publish --new "$work/sc-state" "$src" "$work/sc-store" --autocatalogs --quiet
timed stratum-unchanged $stratum publish "$work/sc-state" "$src" "$work/sc-store" --quiet
export RESTIC_PASSWORD=bench
restic init -q -r "$work/sc-restic" >/dev/null
warm "$src"
timed restic restic backup -q -r "$work/sc-restic" "$src"
timed restic-unchanged restic backup -q -r "$work/sc-restic" "$src"

echo
echo "trees under $trees; $(nproc) cores; warm page cache; stratum $(git rev-parse --short HEAD), restic $(restic version | cut -d' ' -f2)"
echo
python3 - "$results" <<'PY'
import sys
rows = {r[0]: r for r in (l.rstrip("\n").split("\t") for l in open(sys.argv[1]))}
print("| files | wall s | CPU s | peak RSS MiB |")
print("|---|---:|---:|---:|")
for name in ("100k", "1m", "10m"):
    r = rows.get("curve-" + name)
    if r: print("| %s | %.2f | %.2f | %d |" % (name, float(r[1]), float(r[2]), int(r[3])))
print()
print("| 1M files | wall s | CPU s | peak RSS MiB | wall vs restic |")
print("|---|---:|---:|---:|---:|")
for a, b in (("stratum", "restic"), ("restic", "restic"), ("stratum-unchanged", "restic-unchanged"), ("restic-unchanged", "restic-unchanged")):
    r, p = rows[a], rows[b]
    print("| %s | %.2f | %.2f | %d | %.2f× |" % (a, float(r[1]), float(r[2]), int(r[3]), float(r[1]) / float(p[1])))
PY
