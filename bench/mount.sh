#!/usr/bin/env bash
# Reading a published tree through `stratum mount` (issue 20), side by side
# with `restic mount` of the same tree's snapshot and with the source tree
# read directly, in one run: `tar -cf - DIR | cat >/dev/null` cold (page
# cache dropped) and then warm, throughput and the mount process's peak RSS.
#
#   bench/mount.sh [DIR | --generate | --linux]   default --linux (bench/tree.sh)
#   bench/mount.sh [TREE] --s3                    the 30 ms S3 sink instead (below)
#   STRATUM_MOUNT_SKIP=1     no stratum at all (not built, published or
#                            mounted): the direct and restic rows only, to
#                            check the script before `stratum mount` exists
#   BENCH_RTT_MS=N           the sink's delay per request (default 30; --s3)
#   BENCH_WORK=DIR           scratch space (default bench/work)
#   BENCH_RUNS=N             local cases: runs each, medians reported (default 3)
#   WARM_RUNS=N              warm tars after each cold one (default 5; restic 1)
#
# Local part: the tree is published with `stratum publish --new` into a
# local store and backed up with `restic backup` into a local repository
# (untimed, as bench/run.sh does). Then, one case after the other:
#   direct   the source tree itself
#   stratum  stratum mount STORE MNT --cache DIR --pubkey STATE -f, run in the
#            background; the tree is MNT itself. Each run is a new mount
#            whose --cache DIR is emptied before its cold tar and kept for
#            its warm one.
#   restic   restic mount RMNT; the tree is RMNT/snapshots/latest/<the tree's
#            absolute path>. restic's own cache stays as restic keeps it.
# Each mount is started and waited for (mountpoint -q, then the tree's
# directory visible: "mount s") before anything is timed. A cold run is
# `sync; echo 3 > /proc/sys/vm/drop_caches` then the tar; the warm run is the
# same tar right after (WARM_RUNS times); each case runs BENCH_RUNS times (default 3) and the
# medians are reported (peak RSS: the largest). Why not `tar -cf /dev/null`: GNU tar does not read
# file data when the archive is /dev/null (docs/DESIGN.md). Peak RSS is
# VmHWM of the mount process, read just before `fusermount3 -u`. Mounts are
# ended on exit, also after a failure (the process is killed by its pid if
# it outlives its unmount by 10 s).
#
# --s3: the tree is published to the S3 sink of bench/s3_sink.sh (nginx on
# loopback, BENCH_RTT_MS per request) and mounted from there with
# --endpoint; reported: the time until the mount is up, the time to the
# first byte of the deepest file of the tree (`head -c1`, cold), then a full
# tar cold and warm.
#
# Results: a table on stdout, rows in $work/mount.tsv (case, cold s, warm s,
# bytes, files, peak RSS KiB, mount s; the --s3 part adds first-byte s).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_WORK:-bench/work}
tree_arg=--linux s3=0
for a in "$@"; do
  case "$a" in
    --s3) s3=1 ;;
    *) tree_arg=$a ;;
  esac
done
skip=${STRATUM_MOUNT_SKIP:-0}
[ "$skip" = 1 ] && [ "$s3" = 1 ] && { echo "mount.sh: --s3 measures only stratum; unset STRATUM_MOUNT_SKIP" >&2; exit 2; }
[ "$skip" = 1 ] && export BENCH_NO_BUILD=1
source bench/tree.sh "$tree_arg"
command -v fusermount3 >/dev/null || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends fuse3 >/dev/null
}
stratum=$PWD/build/stratum
export XDG_CONFIG_HOME="$work/mount-config" RESTIC_PASSWORD=bench
files=$(find "$src" -type f | wc -l)
bytes=$(find "$src" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
results=$work/mount.tsv
: > "$results"

quiet() {  # command... : its output to $work/mount-log, shown if it fails
  "$@" >"$work/mount-log" 2>&1 || { echo "failed: $*" >&2; tail -5 "$work/mount-log" >&2; exit 1; }
}
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
dropped=yes
cold() {  # empties the page cache, dentries and inodes (FUSE's too)
  sync
  { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null || dropped="NO (no permission to write /proc/sys/vm/drop_caches)"
}
tar_seconds() {  # DIR: prints the seconds `tar -cf - DIR | cat >/dev/null` took
  local t0; t0=$(now)
  if ! (set -o pipefail; tar -cf - -C "$1" . 2>"$work/mount-tar-log" | cat >/dev/null); then
    echo "tar of $1 failed:" >&2; tail -5 "$work/mount-tar-log" >&2; exit 1
  fi
  since "$t0"
}

# Mounts: started in the background, ended by end_mount or on exit.
declare -A mount_pid=()
end_mount() {  # MNT
  local m=$1 pid=${mount_pid[$1]:-}
  if mountpoint -q "$m" 2>/dev/null; then
    fusermount3 -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  fi
  if [ -n "$pid" ]; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "mount.sh: the mount process $pid outlived the unmount of $m by 10 s: killed" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  fi
  unset "mount_pid[$m]"
}
cleanup() {
  for m in "${!mount_pid[@]}"; do end_mount "$m"; done
  if [ -n "${ngx:-}" ]; then  # the S3 sink (bench/s3_sink.sh)
    nginx -p "$ngx" -c "$ngx/nginx.conf" -s quit 2>/dev/null || true; sleep 0.5; rm -rf "$sink"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # so that the EXIT trap unmounts
# start_mount MNT TREE LOG COMMAND...: runs COMMAND in the background and
# waits until MNT is a mount point and TREE (under it) is a directory; sets
# $up to the seconds that took. (Not called in $(...): a subshell would keep
# the pid.)
start_mount() {
  local m=$1 tree=$2 log=$3; shift 3
  mkdir -p "$m"
  mountpoint -q "$m" && { echo "mount.sh: $m is still mounted from an earlier run: fusermount3 -u $m" >&2; exit 1; }
  local t0; t0=$(now)
  "$@" >"$log" 2>&1 &
  mount_pid[$m]=$!
  for _ in $(seq 1200); do
    kill -0 "${mount_pid[$m]}" 2>/dev/null || { echo "mount.sh: $1 ended before $m was mounted:" >&2; tail -5 "$log" >&2; exit 1; }
    mountpoint -q "$m" && [ -d "$tree" ] && { up=$(since "$t0"); return; }
    sleep 0.05
  done
  echo "mount.sh: $m not mounted after 60 s: $*" >&2; tail -5 "$log" >&2; exit 1
}
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# case, cold s, warm s, peak RSS KiB, mount s[, first-byte s]
row() { echo -e "$1\t$2\t$3\t$bytes\t$files\t$4\t$5${6:+\t$6}${7:+\t$7}" >> "$results"; }
seen_files() { find "$1" -type f | wc -l; }
# Each local case is measured BENCH_RUNS times (default 3) and its median
# cold and median warm reported: one warm tar of the same tree, same code,
# varies by a third on this VM (1.30-1.77 s direct, back to back).
runs=${BENCH_RUNS:-3}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# Warm tars are cheap and noisier still: after each cold tar, WARM_RUNS
# (default 5) warm ones for the tree itself and for stratum (restic: one,
# at 30 s each), the median of all of them reported.
warm_runs=${WARM_RUNS:-5}
colds=() warms=()
cold_warm() {  # TREE [WARM TARS]: one cold tar and warm ones, added to colds and warms
  cold; colds+=("$(tar_seconds "$1")")
  for _ in $(seq "${2:-$warm_runs}"); do warms+=("$(tar_seconds "$1")"); done
}
# end_case CASE MNT TREE: the mount's peak RSS (the largest over the runs,
# in $rss_most), a check of what it shows, then unmount.
rss_most=0
end_case() {
  local name=$1 at=$2 tree=$3 rss seen
  rss=$(peak_rss_kib "${mount_pid[$at]}")
  [ "$rss" -gt "$rss_most" ] && rss_most=$rss
  seen=$(seen_files "$tree")
  end_mount "$at"
  [ "$seen" = "$files" ] || echo "mount.sh: WARNING: $name mount shows $seen regular files, the source has $files" >&2
}

if [ "$s3" = 0 ]; then
  # Publish and back up, untimed.
  if [ "$skip" != 1 ]; then
    rm -rf "$work/mount-state" "$work/mount-store" "$work/mount-config"
    quiet "$stratum" publish --new "$work/mount-state" "$src" "$work/mount-store" --quiet
  fi
  rm -rf "$work/mount-restic"
  quiet restic init -q -r "$work/mount-restic"
  quiet restic backup -q -r "$work/mount-restic" "$src"

  # 1. The source tree, directly.
  colds=() warms=()
  for _ in $(seq "$runs"); do cold_warm "$src"; done
  row direct "$(median "${colds[@]}")" "$(median "${warms[@]}")" 0 0

  # 2. stratum mount of the local store: each run a new mount with an
  # empty cache.
  if [ "$skip" != 1 ]; then
    mnt=$work/mount-mnt
    colds=() warms=() rss_most=0
    for _ in $(seq "$runs"); do
      rm -rf "$work/mount-cache"
      start_mount "$mnt" "$mnt" "$work/mount-log-stratum" \
        "$stratum" mount "$work/mount-store" "$mnt" --cache "$work/mount-cache" --pubkey "$work/mount-state" -f
      cold_warm "$mnt"
      end_case stratum "$mnt" "$mnt"
    done
    row stratum "$(median "${colds[@]}")" "$(median "${warms[@]}")" "$rss_most" "$up"
  fi

  # 3. restic mount of the snapshot, one mount for the runs (its own cache
  # of the repository stays as restic keeps it). restic keeps the tree's
  # absolute path.
  rmnt=$work/mount-rmnt
  start_mount "$rmnt" "$rmnt/snapshots/latest" "$work/mount-log-restic" restic -r "$work/mount-restic" mount "$rmnt"
  rtree=$rmnt/snapshots/latest$src
  if [ ! -d "$rtree" ]; then
    rtree=$(find "$rmnt/snapshots/latest/" -maxdepth 12 -type d -name "$(basename "$src")" -print -quit)
    [ -n "$rtree" ] || { echo "mount.sh: the tree is not under $rmnt/snapshots/latest/" >&2; exit 1; }
  fi
  colds=() warms=() rss_most=0
  for _ in $(seq "$runs"); do cold_warm "$rtree" 1; done
  end_case restic "$rmnt" "$rtree"
  row restic "$(median "${colds[@]}")" "$(median "${warms[@]}")" "$rss_most" "$up"
else
  # The S3 sink: nginx with the Lua module (as bench/gc.sh installs it).
  command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || {
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx libnginx-mod-http-lua >/dev/null
  }
  rtt_ms=${BENCH_RTT_MS:-30}
  source bench/s3_sink.sh
  trap cleanup EXIT  # s3_sink.sh set its own; cleanup() stops the sink too
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
  rm -rf "$work/mount-s3-state" "$work/mount-config"
  t0=$(now)
  quiet "$stratum" publish --new "$work/mount-s3-state" "$src" s3://bucket/mount --endpoint "$endpoint" --quiet
  published=$(since "$t0")
  # The deepest non-empty file of the tree (the first of those in name
  # order): its first byte needs every catalog on the way down.
  deep=$(cd "$src" && find . -type f -size +0 -printf '%d\t%P\n' | sort -t$'\t' -k1,1nr -k2,2 | awk -F'\t' 'NR == 1 {print $2}')  # not head: SIGPIPE under pipefail
  mnt=$work/mount-s3-mnt
  rm -rf "$work/mount-s3-cache"
  start_mount "$mnt" "$mnt" "$work/mount-log-s3" "$stratum" mount s3://bucket/mount "$mnt" --endpoint "$endpoint" \
    --cache "$work/mount-s3-cache" --pubkey "$work/mount-s3-state" -f
  cold
  t0=$(now); head -c1 "$mnt/$deep" >/dev/null; first=$(since "$t0")
  # The tar is cold again: the page cache dropped, the first file's chunks
  # stay in --cache (one file of $files).
  cold; c=$(tar_seconds "$mnt"); w=$(tar_seconds "$mnt")
  rss=$(peak_rss_kib "${mount_pid[$mnt]}")
  end_mount "$mnt"
  inflight=$(grep -o 'requests in flight: peak [0-9]*, mean [0-9.]*' "$work/mount-log-s3" | tail -1 | sed 's/.*peak \([0-9]*\), mean \([0-9.]*\)/\1\/\2/')
  row s3:stratum "$c" "$w" "$rss" "$up" "$first" "$inflight"
fi

echo
echo "tree: $src — $files files, $bytes bytes ($(numfmt --to=iec "$bytes")B); $(nproc) cores; page cache dropped before each cold run: $dropped"
[ "$s3" = 1 ] && {
  echo "S3 sink: nginx on loopback, $rtt_ms ms per request; publish to it took ${published} s"
  echo "first byte: head -c1 of $deep (depth $(awk -F/ '{print NF}' <<<"$deep"))"
  # The mount logs its store's requests in flight when it ends.
  echo "stratum mount, $(grep -o 'requests in flight: .*' "$work/mount-log-s3" | tail -1)"
}
echo
python3 - "$results" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
by = {r[0]: r for r in rows}
def ratio(a, b):
    return "%.2f×" % (a / b) if b > 0 else ""
s3 = any(r[0].startswith("s3:") for r in rows)
print("| case | mount s | cold s | warm s | MB/s cold | MB/s warm | cold throughput vs restic mount | warm time vs direct | peak RSS MiB |%s" % (
      " first byte s | requests in flight (peak/mean) |" if s3 else ""))
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|%s" % ("---:|---:|" if s3 else ""))
for r in rows:
    name, cold, warm, nbytes, rss, up = r[0], float(r[1]), float(r[2]), int(r[3]), int(r[5]), float(r[6])
    restic_cold = float(by["restic"][1]) if "restic" in by else 0
    direct_warm = float(by["direct"][2]) if "direct" in by else 0
    print("| %s | %s | %.2f | %.2f | %.1f | %.1f | %s | %s | %s |%s" % (
        name, "%.2f" % up if name != "direct" else "", cold, warm, nbytes / 1e6 / cold, nbytes / 1e6 / warm,
        ratio(restic_cold, cold) if restic_cold else "", ratio(warm, direct_warm) if direct_warm else "",
        "%.0f" % (rss / 1024) if rss else "", " %.3f | %s |" % (float(r[7]), r[8] if len(r) > 8 else "") if len(r) > 7 else ""))
if "stratum" in by and "restic" in by and "direct" in by:
    s = by["stratum"]
    print()
    print("stratum mount: cold throughput %.2f× restic mount's (target ≥ 3×); warm %.2f× the direct read's time "
          "(target ≤ 1.5×); peak RSS %.0f MiB (target ≤ 256)" % (float(by["restic"][1]) / float(s[1]),
          float(s[2]) / float(by["direct"][2]), int(s[5]) / 1024))
PY
echo
[ "$skip" = 1 ] && echo "STRATUM_MOUNT_SKIP=1: stratum was not built, published or mounted"
[ "$s3" = 0 ] && {
  echo "all cases: tar -cf - -C DIR . | cat >/dev/null; cold: sync; echo 3 > /proc/sys/vm/drop_caches; median of $runs runs (BENCH_RUNS), warm: of $warm_runs tars after each (WARM_RUNS; restic 1)"
  [ "$skip" = 1 ] || echo "stratum: stratum mount STORE MNT --cache DIR --pubkey STATE -f (cache emptied before the cold run)"
  echo "restic: restic $(restic version | cut -d' ' -f2) mount RMNT; tree at RMNT/snapshots/latest${rtree#"$rmnt/snapshots/latest"}"
}
[ "$s3" = 1 ] && echo "s3:stratum: stratum mount s3://bucket/mount MNT --endpoint URL --cache DIR --pubkey STATE -f"
true
