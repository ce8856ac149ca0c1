#!/usr/bin/env bash
# Many small files to an S3 endpoint with a cloud-like round trip, side by
# side with rclone in one run.
#
# The sink is nginx on loopback: WebDAV PUT stores the bodies, a Lua block
# sleeps 30 ms before every request (the round trip to a cloud region) and
# answers a bucket listing with an empty ListBucketResult. Its one worker
# spends ~110 us of CPU per PUT, on the same two cores as the client.
#
# rclone runs as it does best for small files to S3: one request per file
# (--s3-no-check-bucket, --s3-no-head: no HEAD after each PUT, --no-check-dest:
# no listing or HEAD of the destination), as stratum sends one PUT per file.
# The table's labels name the flags; the commands are printed under it.
#
#   bench/s3.sh [FILES]      default 20000 files of 1-8 KiB
#   BENCH_QUICK=1            skip rclone with its default 4 transfers (~3 min)
#   BENCH_RUNS=N             runs of stratum and rclone --transfers 512 (default 3)
#   BENCH_RTT_MS=N           the sink's delay per request (default 30 ms)
#   BENCH_TLS=1              HTTPS with a throwaway CA (--ca-file, --ca-cert), as
#                            real S3 is: each connection's TLS state costs memory
#   BENCH_BASELINE=BINARY    also run another stratum binary (an earlier
#                            commit's), interleaved, as "stratum-before"
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mkdir -p "${BENCH_WORK:-bench/work}" && cd "${BENCH_WORK:-bench/work}" && pwd)
count=${1:-20000}
rtt_ms=${BENCH_RTT_MS:-30}
bash scripts/install-deps.sh --bench
command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] && command -v rclone >/dev/null || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx libnginx-mod-http-lua rclone >/dev/null
}
bash scripts/build.sh --target stratum >/dev/null

src=$work/small-$count
if [ ! -d "$src" ]; then
  python3 - "$src" "$count" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2]); rnd = random.Random(7)
words = ["w%d" % i for i in range(3000)]
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 200)); os.makedirs(d, exist_ok=True)
    size = rnd.randint(1024, 8192)
    text = " ".join(rnd.choice(words) for _ in range(size // 4))[:size]
    with open(os.path.join(d, "f%05d" % i), "w") as f: f.write(text)
PY
fi
find "$src" -type f -print0 | xargs -0 cat > /dev/null

# nginx with the Lua module, its own prefix, a free port. Its files go to
# tmpfs when there is one: what is measured is the client, and a disk file
# system that just freed 40,000 inodes creates new ones slowly (ext4 without
# a journal skips recently freed inodes), which once made a run 2.7x slower.
ngx=$work/nginx
sink=$( [ -d /dev/shm ] && mktemp -d /dev/shm/stratum-s3-sink.XXXXXX || echo "$work/sink" )
rm -rf "$ngx" "$work/sink" && mkdir -p "$ngx/tmp" "$ngx/logs" "$sink/bucket"
ln -s "$sink" "$ngx/data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user=""; [ "$(id -u)" -eq 0 ] && { user="user www-data;"; chown -R www-data "$sink" "$ngx/tmp" "$ngx/logs"; }
scheme=http ssl="" ssl_files="" stratum_tls=() rclone_tls=()
if [ "${BENCH_TLS:-0}" = 1 ]; then
  (cd "$ngx" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
     -days 2 -subj /CN=stratum-bench-ca &&
   openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 &&
   openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 \
     -extfile <(echo "subjectAltName=IP:127.0.0.1")) 2>/dev/null
  scheme=https ssl=" ssl" ssl_files="ssl_certificate $ngx/srv.pem; ssl_certificate_key $ngx/srv.key;"
  stratum_tls=(--ca-file "$ngx/ca.pem") rclone_tls=(--ca-cert "$ngx/ca.pem")
fi
cat > "$ngx/nginx.conf" <<EOF
$user
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
worker_rlimit_nofile 65536;
error_log $ngx/logs/error.log warn;
pid $ngx/nginx.pid;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $ngx/tmp;
  client_max_body_size 0;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$port$ssl backlog=4096;
    $ssl_files
    root $ngx/data;
    location / {
      access_by_lua_block {
        ngx.sleep($(echo "scale=3; $rtt_ms / 1000" | bc))
        local uri = ngx.var.uri
        if ngx.req.get_method() == "GET" and (uri == "/bucket" or uri == "/bucket/") then
          ngx.header["Content-Type"] = "application/xml"
          ngx.say('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>')
          return ngx.exit(200)
        end
      }
      dav_methods PUT DELETE MKCOL;
      create_full_put_path on;
    }
  }
}
EOF
nginx -p "$ngx" -c "$ngx/nginx.conf"
trap 'nginx -p "$ngx" -c "$ngx/nginx.conf" -s quit 2>/dev/null || true; sleep 0.5; rm -rf "$sink"' EXIT
sleep 0.5
endpoint=$scheme://127.0.0.1:$port

results=$work/s3.tsv
: > "$results"
run() {  # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/s3-time" "$@" >"$work/s3-out-$name" 2>"$work/s3-log-$name" || {
    echo "$name failed:" >&2; tail -5 "$work/s3-log-$name" >&2; exit 1; }
  read -r wall user sys rss < "$work/s3-time"
  echo -e "$name\t$wall\t$(echo "$user + $sys" | bc)\t$((rss / 1024))" >> "$results"
}

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
unset AWS_CA_BUNDLE
export RCLONE_CONFIG_SINK_TYPE=s3 RCLONE_CONFIG_SINK_PROVIDER=Other RCLONE_CONFIG_SINK_ACCESS_KEY_ID=bench \
       RCLONE_CONFIG_SINK_SECRET_ACCESS_KEY=bench RCLONE_CONFIG_SINK_ENDPOINT=$endpoint RCLONE_CONFIG_SINK_FORCE_PATH_STYLE=true
# One request per file (the header says why); the labels say so.
rclone_per_file=(--s3-no-check-bucket --s3-no-head --no-check-dest)
rclone_best=(--transfers 512 --checkers 64 "${rclone_per_file[@]}")
best_label=rclone-512-nohead default_label=rclone-4-nohead
# This machine's speed drifts by a third within minutes, so each client runs
# BENCH_RUNS times (default 3), interleaved, and the median run is reported.
: > "$work/s3-inflight"
for i in $(seq "${BENCH_RUNS:-3}"); do
  rm -rf "$work/s3-state" "$sink/bucket/stratum" "$sink/bucket/$best_label"
  run stratum ./build/stratum publish --new "$work/s3-state" "$src" s3://bucket/stratum --endpoint "$endpoint" "${stratum_tls[@]}" --json --quiet
  sed 's/.*"requests_in_flight_peak":\([0-9]*\).*"requests_in_flight_mean":\([0-9]*\).*"requests_in_flight_sustained":\([0-9]*\).*/\1 \2 \3/' "$work/s3-out-stratum" >> "$work/s3-inflight"
  stored=$(sed 's/.*"objects_stored":\([0-9]*\).*/\1/' "$work/s3-out-stratum")
  rm -rf "$work/s3-state-cvmfs" "$sink/bucket/stratum-cvmfs"
  run stratum-cvmfs ./build/stratum publish --new "$work/s3-state-cvmfs" "$src" s3://bucket/stratum-cvmfs --endpoint "$endpoint" \
    "${stratum_tls[@]}" --format cvmfs --name bench.example.org --json --quiet
  run $best_label rclone copy "$src" sink:bucket/$best_label "${rclone_best[@]}" "${rclone_tls[@]}"
  if [ -n "${BENCH_BASELINE:-}" ]; then
    rm -rf "$work/s3-state-before" "$sink/bucket/stratum-before"
    run stratum-before "$BENCH_BASELINE" publish --new "$work/s3-state-before" "$src" s3://bucket/stratum-before --endpoint "$endpoint" "${stratum_tls[@]}" --json --quiet
  fi
done
[ "${BENCH_QUICK:-0}" = 1 ] || run $default_label rclone copy "$src" sink:bucket/$default_label "${rclone_per_file[@]}" "${rclone_tls[@]}"
stored_rclone=$(find "$ngx/data/bucket/$best_label" -type f | wc -l)
read -r peak mean sustained < <(sort -n -k2 "$work/s3-inflight" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')

echo
echo "$count files of 1-8 KiB ($(du -sb "$src" | cut -f1) bytes) to nginx ($scheme) on loopback with $rtt_ms ms per request; $(nproc) cores"
echo "stratum: $stored objects stored, requests in flight (run of median mean): peak $peak, mean $mean, sustained $sustained (mean while two or more); rclone stored $stored_rclone files"
echo
python3 - "$results" "$count" <<'PY'
import sys
runs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
n = int(sys.argv[2])
# The median run of each client (by wall time).
rows = []
for name in dict.fromkeys(r[0] for r in runs):
    mine = sorted((r for r in runs if r[0] == name), key=lambda r: float(r[1]))
    rows.append(mine[(len(mine) - 1) // 2] + [str(len(mine))])
by = {r[0]: r for r in rows}
print("| client | runs | wall s (median) | files/s | CPU s | CPU ms per file | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print("| %s | %s | %.2f | %.0f | %.2f | %.3f | %s |" % (r[0], r[4], float(r[1]), n / float(r[1]), float(r[2]), 1000 * float(r[2]) / n, r[3]))
s = by["stratum"]
best = min((r for r in rows if r[0].startswith("rclone")), key=lambda r: float(r[1]))
print()
print("stratum vs rclone's best (%s): files/s %.1f×, CPU per file %.2f×" % (best[0], float(best[1]) / float(s[1]), float(s[2]) / float(best[2])))
c = by["stratum-cvmfs"]
print("stratum --format cvmfs vs rclone's best: files/s %.1f×; vs stratum's own format: wall %.2f×" % (float(best[1]) / float(c[1]), float(c[1]) / float(s[1])))
PY
echo
echo "stratum: stratum publish --new STATE SOURCE s3://bucket/stratum --endpoint URL${stratum_tls[*]:+ --ca-file CA} --json --quiet"
echo "stratum-cvmfs: the same with --format cvmfs --name bench.example.org"
echo "$best_label: rclone $(rclone version | head -1 | cut -d' ' -f2) copy SOURCE sink:bucket/$best_label ${rclone_best[*]}${rclone_tls[*]:+ --ca-cert CA}"
[ "${BENCH_QUICK:-0}" = 1 ] ||
  echo "$default_label: rclone copy SOURCE sink:bucket/$default_label ${rclone_per_file[*]}${rclone_tls[*]:+ --ca-cert CA} (default 4 transfers, 8 checkers)"
