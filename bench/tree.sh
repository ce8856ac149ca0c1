# Sourced by the benchmarks: installs what they need, builds stratum, and
# sets $work (scratch space) and $src (the tree) from the first argument:
# DIR, --generate or --linux (see bench/run.sh). BENCH_NO_BUILD=1 skips the
# build (bench/mount.sh with STRATUM_MOUNT_SKIP=1 runs no stratum).
bash scripts/install-deps.sh --bench
[ "${BENCH_NO_BUILD:-0}" = 1 ] || bash scripts/build.sh --target stratum >/dev/null
mkdir -p "$work"
work=$(cd "$work" && pwd)

case "${1:-}" in
  --generate)
    src=$work/generated
    if [ ! -d "$src" ]; then
      python3 - "$src" <<'PY'
import os, random, sys
root = sys.argv[1]; rnd = random.Random(1)
words = [("w%d" % i) for i in range(5000)]
for i in range(20000):
    d = os.path.join(root, "d%02d" % (i % 50), "s%02d" % (i % 7)); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
        f.write(" ".join(rnd.choice(words) for _ in range(rnd.randint(50, 1500))))
os.makedirs(os.path.join(root, "large"), exist_ok=True)
for i in range(4):
    with open(os.path.join(root, "large", "text%d.log" % i), "w") as f:
        for j in range(600000): f.write("%d %s event=%s\n" % (j, rnd.choice(words), rnd.choice(words)))
for i in range(2):
    with open(os.path.join(root, "large", "noise%d.bin" % i), "wb") as f: f.write(os.urandom(48 << 20))
PY
    fi ;;
  --linux)
    src=$work/linux-6.1
    if [ ! -d "$src" ]; then
      dpkg-query -W linux-source-6.1 >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends linux-source-6.1 xz-utils >/dev/null
      mkdir -p "$src" && tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$src" --strip-components=1
    fi ;;
  "") echo "usage: bench/run.sh DIR | --generate | --linux" >&2; exit 2 ;;
  *) src=$(cd "$1" && pwd) ;;
esac

