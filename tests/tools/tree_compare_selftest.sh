#!/usr/bin/env bash
# Checks tests/tools/tree_compare.py itself: a tree and its `cp -a` copy
# compare equal, and each kind of difference the mount tests rely on
# (mode, setuid/sticky, uid/gid, mtime ns, size, a byte, a symlink target,
# names, hard links, xattrs, a FIFO's type, a device's rdev) is reported
# with its path and field, exit 1. Then `readers`: right bytes exit 0, wrong
# bytes 1, errors 3, a read that never returns 4. Runs as root (mknod,
# chown, trusted.* xattrs), single-threaded bash, in a mktemp directory it
# removes; exits non-zero when any check fails, naming it.
#   bash tests/tools/tree_compare_selftest.sh
set -uo pipefail
tool=$(cd "$(dirname "$0")" && pwd)/tree_compare.py
py=/usr/bin/python3
[ "$(id -u)" -eq 0 ] || { echo "tree_compare_selftest.sh: must run as root (mknod, chown, trusted.* xattrs)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/tree-compare-selftest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2
failures=0 checks=0

# The source: every kind of entry the comparison looks at. Times are set
# last, directories after their contents, so that `cp -a` keeps them.
src=$tmp/src
mkdir -p src/sub/deep src/sticky
printf 'small text\n' > src/small.txt
: > src/empty
head -c $((5 * 1024 * 1024 / 2)) /dev/urandom > src/big.bin   # 2.5 MiB: straddles two 1 MiB boundaries
printf 'deep\n' > src/sub/deep/file
printf 'setuid\n' > src/setuid && chmod 4755 src/setuid
chmod 1777 src/sticky
printf 'linked\n' > src/hard1 && ln src/hard1 src/sub/hard2
printf 'twin\n' > src/twin1 && printf 'twin\n' > src/twin2
ln -s ../small.txt src/sub/link
ln -s deep src/sub/dirlink
mkfifo src/fifo
mknod src/chardev c 1 3
printf 'latin-1 name\n' > "src/caf$(printf '\351')"
printf 'newline name\n' > "src/new
line"
printf 'owned\n' > src/owned && chown 1000:1000 src/owned
setfattr -n user.color -v blue src/small.txt
setfattr -n user.empty src/sub
find src -exec touch -h -d @1577934245.123456789 {} +
touch -d @1620284889.987654321 src/small.txt
find src -depth -type d -exec touch -d @1577836799.000000001 {} +

pass() { checks=$((checks + 1)); echo "ok    $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL  $1"; sed 's/^/        /' "$tmp/out" | head -20; }

# A fresh copy of the source for one case.
copy() { rm -rf "$tmp/copy"; cp -a "$src" "$tmp/copy"; }
# Gives the copy's DIR (relative) its source times back, after a change in it.
same_dir_times() { touch -h -r "$src/$1" "$tmp/copy/$1"; }

# expect NAME CODE LINES PATTERN [compare args...]: runs compare src copy,
# checks its exit code, that a line matches PATTERN (grep -E, '' for none)
# and, unless LINES is '-', that stdout has exactly LINES lines.
expect() {
  local name=$1 code=$2 lines=$3 pattern=$4; shift 4
  "$py" "$tool" compare "$src" "$tmp/copy" "$@" > "$tmp/out" 2>&1; local rc=$?
  local n; n=$("$py" "$tool" compare "$src" "$tmp/copy" "$@" 2>/dev/null | wc -l)
  if [ "$rc" != "$code" ]; then fail "$name: exit $rc, expected $code"; return; fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$tmp/out"; then fail "$name: no line matches /$pattern/"; return; fi
  if [ "$lines" != - ] && [ "$n" != "$lines" ]; then fail "$name: $n lines, expected $lines"; return; fi
  pass "$name"
}

copy
expect "cp -a copy is equal" 0 1 '^[0-9]+ entries, [0-9]+ bytes compared$'
# The summary counts every entry (root included) and the bytes of every regular file.
entries=$(find "$src" -printf x | wc -c)  # not lines: one name holds a newline
bytes=$(find "$src" -type f -printf '%s\n' | paste -sd+ | bc)
expect "summary: $entries entries, $bytes bytes" 0 1 "^$entries entries, $bytes bytes compared$"

copy; chmod 600 "$tmp/copy/small.txt"
expect "mode bits" 1 1 '^small\.txt: mode: source 0644, mounted 0600$'
copy; chmod u-s "$tmp/copy/setuid"
expect "setuid bit" 1 1 '^setuid: mode: source 4755, mounted 0755$'
copy; chmod -t "$tmp/copy/sticky"
expect "sticky bit" 1 1 '^sticky: mode: source 1777, mounted 0777$'
copy; chown 1234 "$tmp/copy/owned"
expect "uid" 1 1 '^owned: uid: source 1000, mounted 1234$'
copy; chgrp 4321 "$tmp/copy/owned"
expect "gid" 1 1 '^owned: gid: source 1000, mounted 4321$'
copy; touch -d @1620284889.987654322 "$tmp/copy/small.txt"
expect "mtime off by 1 ns" 1 1 '^small\.txt: mtime_ns: source 1620284889987654321, mounted 1620284889987654322$'
copy; touch -d '2000-01-01' "$tmp/copy/sub"
expect "directory mtime" 1 1 '^sub: mtime_ns: '
copy; "$py" -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(1572864); b = f.read(1); f.seek(1572864); f.write(bytes([b[0] ^ 0xff]))' "$tmp/copy/big.bin"
touch -r "$src/big.bin" "$tmp/copy/big.bin"
expect "one byte at 1.5 MiB" 1 1 '^big\.bin: content: differs at byte 1572864$'
expect "--no-content ignores it" 0 1 'contents not read' --no-content
copy; truncate -s -1 "$tmp/copy/small.txt"; touch -r "$src/small.txt" "$tmp/copy/small.txt"
expect "size (one byte shorter)" 1 2 '^small\.txt: size: source 11, mounted 10$'
expect "...and where the content ends" 1 2 '^small\.txt: content: mounted ends at byte 10$'
copy; ln -sfn ../big.bin "$tmp/copy/sub/link"; touch -h -r "$src/sub/link" "$tmp/copy/sub/link"; same_dir_times sub
expect "symlink target" 1 2 '^sub/link: symlink target: source \.\./small\.txt, mounted \.\./big\.bin$'
copy; touch "$tmp/copy/sub/deep/extra"; same_dir_times sub/deep
expect "extra file" 1 1 '^sub/deep: names only in mounted: extra$'
copy; rm "$tmp/copy/twin2"; same_dir_times .
expect "missing file" 1 1 '^\.: names only in source: twin2$'
copy; rm -r "$tmp/copy/sub/deep"; : > "$tmp/copy/sub/deep"; touch -r "$src/sub/deep" "$tmp/copy/sub/deep"; same_dir_times sub
expect "directory became a file: one line, not its subtree" 1 1 '^sub/deep: type: source directory, mounted regular file$'
# A hard link broken: the same bytes, times and mode, but two inodes.
copy; cp -p "$tmp/copy/sub/hard2" "$tmp/copy/sub/hard2.new"; mv "$tmp/copy/sub/hard2.new" "$tmp/copy/sub/hard2"; same_dir_times sub
expect "broken hard link" 1 3 '^hard1: hardlinks: source \[hard1, sub/hard2\] share an inode; mounted: \[hard1\] \[sub/hard2\]$'
expect "...and its nlink" 1 3 '^sub/hard2: nlink: source 2, mounted 1$'
# Two separate files joined into one inode.
copy; rm "$tmp/copy/twin2"; ln "$tmp/copy/twin1" "$tmp/copy/twin2"; same_dir_times .
expect "files joined by a hard link" 1 - '^twin1: hardlinks: source \[twin1\] share an inode; mounted: \[twin1, twin2\]$'
copy; setfattr -n user.color -v red "$tmp/copy/small.txt"
expect "xattr value" 1 1 "^small\.txt: xattr user\.color: source b'blue', mounted b'red'$"
copy; setfattr -x user.color "$tmp/copy/small.txt"
expect "xattr missing" 1 1 '^small\.txt: xattr user\.color: missing in mounted$'
copy; setfattr -n user.extra -v 1 "$tmp/copy/sub"
expect "extra user. xattr" 1 1 "^sub: xattr user\.extra: extra in mounted \(value b'1'\)$"
expect "--ignore-xattr user.ext" 0 1 'bytes compared' --ignore-xattr user.ext
copy; setfattr -n trusted.extra -v 1 "$tmp/copy/small.txt"
expect "xattr outside user. ignored" 0 1 'bytes compared'
expect "--xattr-prefix trusted." 1 1 '^small\.txt: xattr trusted\.extra: extra in mounted' --xattr-prefix trusted.
copy; rm "$tmp/copy/fifo"; : > "$tmp/copy/fifo"; touch -r "$src/fifo" "$tmp/copy/fifo"; chmod --reference="$src/fifo" "$tmp/copy/fifo"; same_dir_times .
expect "FIFO became a regular file" 1 1 '^fifo: type: source fifo, mounted regular file$'
copy; rm "$tmp/copy/chardev"; mknod "$tmp/copy/chardev" c 1 5; touch -h -r "$src/chardev" "$tmp/copy/chardev"
chmod --reference="$src/chardev" "$tmp/copy/chardev"; same_dir_times .
expect "device rdev" 1 1 '^chardev: rdev: source 1:3, mounted 1:5$'
copy; chmod 600 "$tmp/copy/caf$(printf '\351')" "$tmp/copy/new
line"
expect "undecodable name shown escaped" 1 2 '^caf\\xe9: mode: source 0644, mounted 0600$'
expect "newline in a name stays on one line" 1 2 '^new\\x0aline: mode: source 0644, mounted 0600$'
copy; for d in . sub sub/deep; do touch "$tmp/copy/$d/.cache-marker"; same_dir_times $d; done
expect "--skip NAME at every level" 0 1 'bytes compared' --skip .cache-marker
expect "...reported without --skip" 1 3 '^sub/deep: names only in mounted: \.cache-marker$'
copy; mkdir "$tmp/copy/sub/.cache-marker"; touch "$tmp/copy/sub/.cache-marker/x"; same_dir_times sub
expect "--skip NAME of a directory skips its subtree" 0 1 'bytes compared' --skip .cache-marker
# More than 50 differences: 50 lines and a count.
copy; for i in $(seq 60); do setfattr -n "user.n$i" -v "$i" "$tmp/copy/empty"; done
expect "50 lines then a count" 1 51 '^\.\.\. and [0-9]+ more differences \([0-9]+ in all\)$'
"$py" "$tool" compare "$src" "$tmp/nowhere" > "$tmp/out" 2>&1
if [ $? = 2 ] && grep -q 'is not a directory' "$tmp/out"; then pass "missing MOUNTED: exit 2"; else fail "missing MOUNTED: exit 2"; fi

# readers: EXPECT CODE PATTERN [args...] against the copy.
readers() {
  local name=$1 code=$2 pattern=$3; shift 3
  timeout 60 "$py" "$tool" readers "$tmp/copy" "$src" "$@" > "$tmp/out" 2>&1; local rc=$?
  if [ "$rc" != "$code" ]; then fail "$name: exit $rc, expected $code"; return; fi
  if ! grep -Eq -- "$pattern" "$tmp/out"; then fail "$name: no line matches /$pattern/"; return; fi
  pass "$name"; tail -1 "$tmp/out" | sed 's/^/        /'
}
copy
readers "readers: right bytes" 0 '^1920 reads done \(empty 384, whole 384, past-eof 384, boundary 384, random 384\), [0-9]+ bytes read, 0 mismatches, 0 errors' --reads 1920 --seed 7
head -c "$(stat -c %s "$src/big.bin")" /dev/urandom > "$tmp/copy/big.bin"
readers "readers: wrong bytes (boundary reads all hit big.bin)" 1 '^mismatch: big\.bin offset [0-9]+ length [0-9]+ \(boundary\): first wrong byte' --reads 500 --seed 7
copy; truncate -s 1048576 "$tmp/copy/big.bin"
readers "readers: a file cut short" 1 '^mismatch: big\.bin .*mounted gave 0 bytes' --reads 500 --seed 7
copy; rm "$tmp/copy/small.txt"; mkdir "$tmp/copy/small.txt"
readers "readers: errors (EISDIR), no wrong bytes: exit 3" 3 '^error: small\.txt offset [0-9]+ length [0-9]+ \([a-z-]+\): Is a directory' --reads 500 --seed 7
if grep -q '^mismatch' "$tmp/out"; then fail "readers: EISDIR counted as a mismatch"; else pass "readers: no mismatch among the errors"; fi
copy; rm "$tmp/copy/small.txt"; mkfifo "$tmp/copy/small.txt"
readers "readers: a read that never returns: exit 4 after --timeout" 4 '^hung: thread [0-9]+ still inside small\.txt' --reads 500 --seed 7 --timeout 3
readers "readers: --threads 1, one read" 0 '^1 reads done' --reads 1 --threads 1 --skip small.txt

echo "$((checks - failures)) of $checks checks passed"
[ "$failures" = 0 ]
