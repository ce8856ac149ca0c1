#!/usr/bin/env bash
# Garbage collection of a repository with 20 revisions of a changing tree,
# side by side with peers in one run: time, objects deleted per second and
# peak RSS (issue 18 item 4).
#
#   bench/gc.sh                       the local store and the S3 sink
#   BENCH_GC_FILES=N                  files of the tree (default 20000; 0 skips
#                                     the local store)
#   BENCH_GC_REVISIONS=N              revisions (default 20); each rewrites
#                                     10% of the files, removes 0.5%, adds 0.5%
#   BENCH_GC_S3_FILES=N               the tree published to the S3 sink
#                                     (default 5000; 0 skips the S3 part)
#   BENCH_RTT_MS=N                    the sink's delay per request (default 30)
#   BENCH_GC_BIG=N                    also N small files (1000000 for the
#                                     issue's target) in catalogs of 1000, two
#                                     revisions rewriting half, then gc: peak RSS
#   BENCH_SWISSKNIFE=PATH             cvmfs_swissknife (CernVM-FS 2.12, built
#                                     from source: not in Debian); without it
#                                     its column is skipped
#   BENCH_WORK=DIR                    scratch space (default bench/work)
#
# Local store: the same revisions are published in stratum's format and in
# the CernVM-FS format (--format cvmfs), and backed up as restic snapshots.
# Both stratum repositories run gc once after the first revision (nothing to
# delete) so their manifests say garbage-collectable, as cvmfs_server's
# CVMFS_GARBAGE_COLLECTION=true does: swissknife refuses a repository
# without it. Then every object is aged one hour (gc keeps objects newer
# than its start, and every one here was just written) and each collector
# keeps the current revision and the tagged ones (trunk-previous):
#   stratum gc STATE STORE --keep-since now --json
#   cvmfs_swissknife gc -h 0 on a copy of the CernVM-FS-format store, as
#     cvmfs_server gc -r 0 runs it (it keeps the named tags too)
#   restic forget --keep-last 1 --prune (restic has no tags here: it keeps
#     one snapshot; it repacks what is partly used, which gc never does)
# S3 sink (bench/s3_sink.sh): the revisions are published there and stratum
# gc deletes with DeleteObjects (1000 keys a request); the peer is rclone
# deleting the same keys (copied under another prefix) at its best:
# --fast-list (one listing), 256 checkers and 256 transfers (deletes run
# --transfers at a time). rclone has no batch delete
# (rclone/rclone#8160): one DELETE a key.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_WORK:-bench/work}
files=${BENCH_GC_FILES:-20000}
revisions=${BENCH_GC_REVISIONS:-20}
s3_files=${BENCH_GC_S3_FILES:-5000}
big=${BENCH_GC_BIG:-0}
rtt_ms=${BENCH_RTT_MS:-30}
swissknife=${BENCH_SWISSKNIFE:-}
fqrn=bench.example.org
bash scripts/install-deps.sh --bench
command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] && command -v rclone >/dev/null || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx libnginx-mod-http-lua rclone >/dev/null
}
bash scripts/build.sh --target stratum >/dev/null
mkdir -p "$work"
work=$(cd "$work" && pwd)
stratum=$PWD/build/stratum
export XDG_CONFIG_HOME="$work/config" RESTIC_PASSWORD=bench
results=$work/gc.tsv
: > "$results"

quiet() {  # command... : its output to $work/log, shown if it fails
  "$@" >"$work/log" 2>&1 || { echo "failed: $*" >&2; tail -5 "$work/log" >&2; exit 1; }
}
objects() { find "$1" -type f | wc -l; }
age() { find "$1" -type f -exec touch -h -d '-1 hour' {} +; }
# name, objects dir (what is counted before and after), command...
measure() {
  local name=$1 dir=$2; shift 2
  local before bytes_before; before=$(objects "$dir"); bytes_before=$(du -sb "$dir" | cut -f1)
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$work/time-$name" "$@" >"$work/out-$name" 2>"$work/log-$name" || {
    echo "$name failed:" >&2; tail -5 "$work/log-$name" >&2; exit 1; }
  read -r wall user sys rss < "$work/time-$name"
  echo -e "$name\t$wall\t$(echo "$user + $sys" | bc)\t$((rss / 1024))\t$before\t$(objects "$dir")\t$bytes_before\t$(du -sb "$dir" | cut -f1)" >> "$results"
}
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(str(d[k]) for k in sys.argv[2:]))' "$@"; }

# 1. The changing tree, published each revision in both formats and backed
# up by restic (BENCH_GC_FILES=0 skips the local part).
if [ "$files" -gt 0 ]; then
src=$work/gc-tree
rm -rf "$src" "$work"/gc-state-* "$work"/gc-store-* "$work/gc-restic" "$work/config"
restic init -q -r "$work/gc-restic" >/dev/null
for rev in $(seq 0 $((revisions - 1))); do
  python3 bench/gc_tree.py "$src" "$files" "$rev"
  if [ "$rev" = 0 ]; then
    quiet "$stratum" publish --new "$work/gc-state-stratum" "$src" "$work/gc-store-stratum" --quiet
    quiet "$stratum" publish --new "$work/gc-state-cvmfs" "$src" "$work/gc-store-cvmfs" --format cvmfs --name $fqrn --quiet
    for f in stratum cvmfs; do quiet "$stratum" gc "$work/gc-state-$f" "$work/gc-store-$f" --keep-since now --quiet; done
  else
    for f in stratum cvmfs; do quiet "$stratum" publish "$work/gc-state-$f" "$src" "$work/gc-store-$f" --quiet; done
  fi
  quiet restic backup -q -r "$work/gc-restic" "$src"
done
tree_files=$(objects "$src")

# 2. Collect. The copy for swissknife is made before stratum collects.
age "$work/gc-store-stratum/data"; age "$work/gc-store-cvmfs/data"
if [ -n "$swissknife" ] && [ -x "$swissknife" ]; then
  rm -rf "$work/gc-store-swissknife" "$work/gc-swissknife-tmp"
  cp -a "$work/gc-store-cvmfs" "$work/gc-store-swissknife"
  mkdir -p "$work/gc-swissknife-tmp"
  sha1sum "$work/gc-store-swissknife/.cvmfsreflog" | cut -c1-40 > "$work/gc-reflog.chksum"
  # swissknife writes its statistics to /var/spool/cvmfs/FQRN/stats.db, as on
  # a Stratum 0; without the directory it aborts.
  mkdir -p /var/spool/cvmfs/$fqrn
  sk_dir=$work/gc-store-swissknife
  swissknife_cmd=("$swissknife" gc -r "file://$sk_dir" -u "local,$work/gc-swissknife-tmp,$sk_dir" -n $fqrn
    -k "$work/gc-state-cvmfs/keys/$fqrn.pub" -t "$work/gc-swissknife-tmp" -R "$work/gc-reflog.chksum" -h 0)
  measure cvmfs_swissknife "$sk_dir/data" "${swissknife_cmd[@]}"
fi
measure stratum "$work/gc-store-stratum/data" "$stratum" gc "$work/gc-state-stratum" "$work/gc-store-stratum" --keep-since now --json
measure stratum-cvmfs "$work/gc-store-cvmfs/data" "$stratum" gc "$work/gc-state-cvmfs" "$work/gc-store-cvmfs" --keep-since now --json
if [ -d "$work/gc-store-swissknife" ]; then
  # The same objects must be left: compare the two stores' object names.
  diff <(cd "$work/gc-store-cvmfs" && find data -type f | sort) <(cd "$work/gc-store-swissknife" && find data -type f | sort) >/dev/null &&
    same="yes" || same="NO: they differ"
fi
measure restic "$work/gc-restic/data" restic forget -q -r "$work/gc-restic" --keep-last 1 --prune
# Every revision kept still reads back whole.
quiet "$stratum" check -i "$work/gc-store-stratum" --pubkey "$work/gc-state-stratum/keys/stratum.pub"
quiet "$stratum" check -i "$work/gc-store-cvmfs" --pubkey "$work/gc-state-cvmfs"
fi

# 3. The S3 sink.
if [ "$s3_files" -gt 0 ]; then
  source bench/s3_sink.sh
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
  unset AWS_CA_BUNDLE  # rclone cannot take one with its own transport
  export RCLONE_CONFIG_SINK_TYPE=s3 RCLONE_CONFIG_SINK_PROVIDER=Other RCLONE_CONFIG_SINK_ACCESS_KEY_ID=bench \
         RCLONE_CONFIG_SINK_SECRET_ACCESS_KEY=bench RCLONE_CONFIG_SINK_ENDPOINT=$endpoint RCLONE_CONFIG_SINK_FORCE_PATH_STYLE=true
  s3src=$work/gc-s3-tree
  rm -rf "$s3src" "$work/gc-s3-state"
  for rev in $(seq 0 $((revisions - 1))); do
    python3 bench/gc_tree.py "$s3src" "$s3_files" "$rev"
    if [ "$rev" = 0 ]; then
      quiet "$stratum" publish --new "$work/gc-s3-state" "$s3src" s3://bucket/stratum --endpoint "$endpoint" --quiet
      quiet "$stratum" gc "$work/gc-s3-state" s3://bucket/stratum --endpoint "$endpoint" --keep-since now --quiet
    else
      quiet "$stratum" publish "$work/gc-s3-state" "$s3src" s3://bucket/stratum --endpoint "$endpoint" --quiet
    fi
  done
  age "$sink/bucket/stratum/data"
  rm -rf "$sink/bucket/before" && cp -a "$sink/bucket/stratum" "$sink/bucket/before"
  rm -f "$work/gc-s3-deleted"
  measure s3:stratum "$sink/bucket/stratum/data" "$stratum" gc "$work/gc-s3-state" s3://bucket/stratum --endpoint "$endpoint" \
    --keep-since now --json --deletion-log "$work/gc-s3-deleted"
  # rclone's prefix holds exactly the keys stratum deleted.
  rm -rf "$sink/bucket/rclone" && mkdir -p "$sink/bucket/rclone"
  (cd "$sink/bucket/before" && grep -v '^#' "$work/gc-s3-deleted" | xargs cp --parents -a -t "$sink/bucket/rclone")
  rm -rf "$sink/bucket/before"
  [ "$(id -u)" -eq 0 ] && chown -R www-data "$sink/bucket/rclone"
  rclone_best=(--fast-list --checkers 256 --transfers 256 --s3-list-version 2)
  measure s3:rclone "$sink/bucket/rclone" rclone delete sink:bucket/rclone "${rclone_best[@]}"
fi

# 4. Many objects: peak RSS.
if [ "$big" -gt 0 ]; then
  bsrc=$work/gc-big-tree
  rm -rf "$bsrc" "$work/gc-big-state" "$work/gc-big-store"
  python3 bench/gc_tree.py "$bsrc" "$big" 0 0.5 64
  quiet "$stratum" publish --new "$work/gc-big-state" "$bsrc" "$work/gc-big-store" --quiet
  # Two revisions each rewriting half (the odd files, then the even ones):
  # gc keeps the last two (trunk-previous is a tag), and the first
  # revision's odd files are the garbage.
  for rev in 1 2; do
    python3 bench/gc_tree.py "$bsrc" "$big" $rev 0.5 64
    quiet "$stratum" publish "$work/gc-big-state" "$bsrc" "$work/gc-big-store" --quiet
  done
  rm -rf "$bsrc"  # not needed by gc; frees the memory of a tmpfs
  age "$work/gc-big-store/data"
  measure big:stratum "$work/gc-big-store/data" "$stratum" gc "$work/gc-big-state" "$work/gc-big-store" --keep-since now --json
fi

echo
[ "$files" -gt 0 ] && echo "tree: $files files in catalogs of ~1000, $revisions revisions (each rewrites 10%, removes 0.5%, adds 0.5%; $tree_files files at the end); $(nproc) cores; local store in $work"
[ -n "${same:-}" ] && echo "stratum-cvmfs and cvmfs_swissknife leave the same objects: $same"
echo
python3 - "$results" "$work" <<'PY'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
work = sys.argv[2]
def out(name):
    try: return json.load(open("%s/out-%s" % (work, name)))
    except Exception: return None
print("| collector | wall s | CPU s | peak RSS MiB | objects before → after | deleted | deleted/s | MiB before → after | mark s | sweep s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
by = {}
for name, wall, cpu, rss, ob, oa, bb, ba in rows:
    by[name] = (float(wall), int(ob) - int(oa))
    j = out(name) if name.split(":")[-1].startswith("stratum") else None
    deleted = int(ob) - int(oa)
    print("| %s | %.2f | %.2f | %s | %s → %s | %d | %.0f | %.1f → %.1f | %s | %s |" % (
        name, float(wall), float(cpu), rss, ob, oa, deleted, deleted / float(wall), int(bb) / 2**20, int(ba) / 2**20,
        "%.2f" % j["mark_seconds"] if j else "", "%.2f" % j["sweep_seconds"] if j else ""))
print()
def ratio(a, b, what):
    if a in by and b in by: print("%s/%s: wall %.2f×, deleted/s %.2f× (%s)" % (a, b, by[a][0] / by[b][0],
        (by[a][1] / by[a][0]) / (by[b][1] / by[b][0]) if by[b][1] else float("nan"), what))
ratio("stratum-cvmfs", "cvmfs_swissknife", "same repository, same objects deleted")
ratio("stratum", "restic", "restic's objects are packs: compare wall time")
ratio("s3:stratum", "s3:rclone", "same keys")
PY
echo
[ "$files" -gt 0 ] && {
  echo "stratum: stratum gc STATE STORE --keep-since now --json  (stratum-cvmfs: the same on the --format cvmfs --name $fqrn repository)"
  [ -n "${swissknife_cmd:-}" ] && echo "cvmfs_swissknife: ${swissknife_cmd[*]}" | sed "s|$work|WORK|g"
  echo "restic: restic forget -r REPO --keep-last 1 --prune  (restic $(restic version | cut -d' ' -f2))"
}
[ "$s3_files" -gt 0 ] && {
  echo "s3:stratum: $s3_files files, $revisions revisions, nginx sink with $rtt_ms ms a request: stratum gc STATE s3://bucket/stratum --endpoint URL --keep-since now --json --deletion-log FILE"
  echo "s3:rclone: rclone $(rclone version | head -1 | cut -d' ' -f2) delete sink:bucket/rclone ${rclone_best[*]}  (the keys stratum deleted, copied under bucket/rclone)"
}
[ "$big" -gt 0 ] && echo "big:stratum: $big files of ≤ 64 bytes in catalogs of 1000, then two revisions each rewriting half (0.5% removed and added); stratum gc --keep-since now --json"
true
