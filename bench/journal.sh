#!/usr/bin/env bash
# What the journal buys, side by side with restic in one run:
#
#   1. kill and resume: a publish SIGKILLed three times (each attempt after
#      30% of an uninterrupted run's wall time) and then finished, added up,
#      against one uninterrupted publish;
#   2. republishing the unchanged tree against `restic backup` with a parent
#      snapshot of the same unchanged tree;
#   3. republishing after 1% of the files changed (a line appended to every
#      100th file), against restic on the same change.
#
#   bench/journal.sh DIR | --generate | --linux
#
# The tree is a hard-linked copy under bench/work/, so the changes in step 3
# (each changed file is rewritten to a new inode) never touch the original.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_WORK:-bench/work}
source bench/tree.sh "${1:-}"

tree=$work/journal-tree
# Outputs are removed when the run ends, not before the next one starts: ext4
# skips recently freed inodes when it allocates (for up to 5 minutes), and
# deleting 80,000 objects just before a publish slows its writes by half.
cleanup() { rm -rf "$work"/j-*; }
trap cleanup EXIT
cleanup
rm -rf "$tree" && cp -al "$src" "$tree"
files=$(find "$tree" -type f | wc -l)
bytes=$(du -sb "$tree" | cut -f1)
find "$tree" -type f -print0 | xargs -0 cat > /dev/null  # warm the page cache

results=$work/journal.tsv
: > "$results"
# timed NAME COMMAND...: appends "NAME wall cpu rss exit" to the results.
timed() {
  local name=$1; shift
  local code=0
  /usr/bin/time -f "%e %U %S %M" -o "$work/j-time" "$@" >"$work/j-out-$name" 2>"$work/j-log-$name" || code=$?
  read -r wall user sys rss < <(tail -1 "$work/j-time")
  echo -e "$name\t$wall\t$(echo "$user + $sys" | bc)\t$((rss / 1024))\t$code" >> "$results"
  echo "$wall"
}
stratum=./build/stratum

# 1. One uninterrupted publish, then one killed three times and finished.
full=$(timed full $stratum publish --new "$work/j-state" "$tree" "$work/j-store" --quiet)
after=$(echo "$full * 0.3" | bc)
total=0
for i in 1 2 3; do
  new=""; [ "$i" = 1 ] && new=--new
  t=$(timed "killed-$i" timeout -s KILL "$after" $stratum publish $new "$work/j-state-k" "$tree" "$work/j-store-k" --quiet)
  total=$(echo "$total + $t" | bc)
done
t=$(timed resumed $stratum publish "$work/j-state-k" "$tree" "$work/j-store-k" --quiet)
total=$(echo "$total + $t" | bc)
XDG_CONFIG_HOME="$work/config" $stratum check "$work/j-store-k" --pubkey "$work/j-state-k" >/dev/null || { echo "check of the resumed repository failed" >&2; exit 1; }

# 2. Unchanged: stratum's next publish against restic with a parent snapshot.
timed stratum-unchanged $stratum publish "$work/j-state" "$tree" "$work/j-store" --json >/dev/null
export RESTIC_PASSWORD=bench
restic init -q -r "$work/j-restic" >/dev/null
restic backup -q -r "$work/j-restic" "$tree" >/dev/null  # the parent, untimed
timed restic-unchanged restic backup -q -r "$work/j-restic" "$tree" >/dev/null

# 3. 1% of the files changed.
changed=0; changed_bytes=0
while IFS= read -r -d '' f; do
  { cat "$f"; echo "changed by bench/journal.sh"; } > "$f.bench-new" && mv "$f.bench-new" "$f"
  changed=$((changed + 1)); changed_bytes=$((changed_bytes + $(stat -c %s "$f")))
done < <(find "$tree" -type f -print0 | sort -z | awk 'BEGIN { RS = "\0"; ORS = "\0" } NR % 100 == 0')
timed stratum-1pct $stratum publish "$work/j-state" "$tree" "$work/j-store" --json >/dev/null
timed restic-1pct restic backup -q -r "$work/j-restic" "$tree" >/dev/null
field() { sed "s/.*\"$2\":\([0-9]*\).*/\1/" "$work/j-out-$1"; }

echo
echo "tree: $src — $files files, $(numfmt --to=iec "$bytes")B; $(nproc) cores; warm page cache"
echo "unchanged: stratum read $(field stratum-unchanged files_read) files, stored $(field stratum-unchanged objects_stored) objects"
echo "1% changed: $changed files, $(numfmt --to=iec "$changed_bytes")B; stratum read $(field stratum-1pct files_read) files," \
     "stored $(field stratum-1pct objects_stored) objects, $(numfmt --to=iec "$(field stratum-1pct bytes_stored)")B"
echo
python3 - "$results" "$total" <<'PY'
import sys
rows = {l.split("\t")[0]: l.rstrip("\n").split("\t") for l in open(sys.argv[1])}
total = float(sys.argv[2])
w = lambda n: float(rows[n][1])
print("| run | wall s | CPU s | peak RSS MiB | exit |")
print("|---|---:|---:|---:|---:|")
for n, r in rows.items():
    print("| %s | %.2f | %.2f | %s | %s |" % (n, float(r[1]), float(r[2]), r[3], r[4]))
print()
print("kill and resume: 3 killed attempts + the final one = %.2f s = %.2f× one uninterrupted publish (%.2f s)" % (total, total / w("full"), w("full")))
print("unchanged: stratum %.2f s, restic with parent %.2f s: %.2f×" % (w("stratum-unchanged"), w("restic-unchanged"), w("stratum-unchanged") / w("restic-unchanged")))
print("1%% changed: stratum %.2f s, restic %.2f s: %.2f×; stratum 1%% vs full publish: %.3f×" % (
    w("stratum-1pct"), w("restic-1pct"), w("stratum-1pct") / w("restic-1pct"), w("stratum-1pct") / w("full")))
PY
