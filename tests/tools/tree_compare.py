#!/usr/bin/env python3
"""Checks a mounted (or restored) tree against its source with plain system
calls, as a user's program would see it. Standard library only; one process,
run by the tests and benchmarks of `stratum mount` (issue 20).

   tree_compare.py compare SOURCE MOUNTED [--skip NAME]... [--xattr-prefix P]
                           [--ignore-xattr PREFIX]... [--no-content]
   tree_compare.py readers ROOT SOURCE [--threads 64] [--reads N] [--seed S]
                           [--skip NAME]... [--timeout SECONDS]

compare walks both trees (os.walk without following symlinks, os.lstat,
os.readlink, os.listxattr/os.getxattr on the entry itself, every regular file
read whole) and prints one line per difference: the path relative to the
roots, the field, both values. Fields: type; mode (permission bits with
setuid/setgid/sticky); uid; gid; mtime in ns; size (not of directories);
symlink target; rdev of devices; the names in each directory; the xattrs
whose names start with --xattr-prefix (default "user."): missing, extra and
different values, except names starting with an --ignore-xattr PREFIX;
the bytes of regular files (unless --no-content); st_nlink of regular
files; and hard links: the grouping of non-directories by inode must be the
same partition in both trees. Ignored: atime, ctime, directory sizes and
link counts, inode numbers themselves, xattrs outside the prefix. --skip
NAME leaves out every entry of that basename (and what is under it) in both
trees. An entry present on one side only is reported once, in its parent's
names, not its subtree.
Exit 0 after printing `N entries, M bytes compared`; 1 with the differences
(the first 50 lines, then a count); 2 for bad arguments or a root that is
not a directory.

readers starts --threads threads that together do --reads reads (default
10000; seeded: each thread's choices depend only on --seed and its number).
A read picks a regular file of SOURCE and a range of one kind, in turn:
empty (length 0), whole (the whole file), past-eof (starts at or after the
end), boundary (straddles a 1 MiB boundary; files over 1 MiB, else it
straddles the end of the file) or random; it opens ROOT/PATH with os.open,
reads the range with os.pread (again until the range is done or pread
returns nothing, as a program must) and checks the bytes against the same
range of SOURCE/PATH. It prints every mismatch and error (e.g. EIO) with
the path and range (the first 50), then the reads done and bytes read.
Exit 0 when every read matched; 1 when any read returned wrong bytes; 3
when reads failed with errors but none returned wrong bytes (a test that
kills the store expects EIO, never wrong bytes); 4 when --timeout SECONDS
passed with threads still inside a read (it names them: a hang); 2 for bad
arguments or a SOURCE without regular files.
"""
import argparse, os, random, stat, sys, threading, time

MIB = 1 << 20
PIECE = 8 * MIB      # the most read or compared at once, bounding memory per thread
MAX_LINES = 50       # differences printed before a count of the rest


def show(rel):
    """A path for a one-line report: undecodable bytes and control characters escaped."""
    text = rel.decode("utf-8", "backslashreplace") if isinstance(rel, bytes) else rel
    return "".join(c if c.isprintable() else "\\x%02x" % ord(c) for c in text)


def kind(mode):
    return {stat.S_IFREG: "regular file", stat.S_IFDIR: "directory", stat.S_IFLNK: "symlink",
            stat.S_IFIFO: "fifo", stat.S_IFCHR: "char device", stat.S_IFBLK: "block device",
            stat.S_IFSOCK: "socket"}.get(stat.S_IFMT(mode), "type %o" % stat.S_IFMT(mode))


def error_text(e):
    return "%s%s" % (os.strerror(e.errno) if e.errno else type(e).__name__,
                     " (errno %d)" % e.errno if e.errno else ": %s" % e)


class Entry:
    __slots__ = ("st", "target", "xattrs", "names", "error")

    def __init__(self):
        self.st = self.target = self.xattrs = self.names = self.error = None


def read_xattrs(path, prefix):
    """The xattrs of PATH itself whose names start with PREFIX, name -> value."""
    out = {}
    for name in os.listxattr(path, follow_symlinks=False):
        if name.startswith(prefix):
            out[name] = os.getxattr(path, name, follow_symlinks=False)
    return out


def describe(path, prefix):
    """lstat, link target and xattrs of one entry; an OSError is kept, not raised."""
    e = Entry()
    try:
        e.st = os.lstat(path)
        if stat.S_ISLNK(e.st.st_mode):
            e.target = os.readlink(path)
        e.xattrs = read_xattrs(path, prefix)
    except OSError as err:
        e.error = "%s: %s" % ("lstat" if e.st is None else "readlink/xattr", error_text(err))
    return e


def scan(root, skip, prefix):
    """Every entry under ROOT (bytes), relative path -> Entry; b"." is the root."""
    entries = {b".": describe(root, prefix)}
    failed = {}

    def onerror(err):  # a directory os.walk could not list
        failed[os.fsencode(err.filename)] = error_text(err)

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if d not in skip]
        names = set(dirnames).union(f for f in filenames if f not in skip)
        entries[rel].names = names
        for name in names:
            child = name if rel == b"." else os.path.join(rel, name)
            entries[child] = describe(os.path.join(dirpath, name), prefix)
    for path, text in failed.items():
        rel = os.path.relpath(path, root)
        if rel in entries and entries[rel].error is None:
            entries[rel].error = "listing: " + text
    return entries


def read_exact(f, n):
    """Up to N bytes, fewer only at the end of the file (a FUSE read may come back short)."""
    parts, got = [], 0
    while got < n:
        b = f.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def compare_content(src, mnt):
    """(first difference or None, bytes compared): reads both files whole."""
    done, side = 0, "source"
    try:
        with open(src, "rb", buffering=0) as a:
            side = "mounted"
            with open(mnt, "rb", buffering=0) as b:
                while True:
                    side = "source"
                    x = read_exact(a, PIECE)
                    side = "mounted"
                    y = read_exact(b, PIECE)
                    if x != y:
                        i = next((k for k in range(min(len(x), len(y))) if x[k] != y[k]), min(len(x), len(y)))
                        if i == len(x) or i == len(y):
                            return ("content: %s ends at byte %d" % ("source" if i == len(x) else "mounted", done + i),
                                    done + len(x))
                        return "content: differs at byte %d" % (done + i), done + len(x)
                    done += len(x)
                    if not x:
                        return None, done
    except OSError as err:
        return "content: reading %s failed at byte %d: %s" % (side, done, error_text(err)), done


def compare_entries(rel, s, m, args, src_root, mnt_root, out):
    """The differences of one entry present on both sides; returns the bytes compared."""
    p = show(rel)
    if s.error or m.error:
        for side, e in (("source", s), ("mounted", m)):
            if e.error:
                out.append("%s: %s %s" % (p, side, e.error))
        if s.st is None or m.st is None:
            return 0
    a, b = s.st, m.st
    if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
        out.append("%s: type: source %s, mounted %s" % (p, kind(a.st_mode), kind(b.st_mode)))
        return 0
    t = stat.S_IFMT(a.st_mode)
    if stat.S_IMODE(a.st_mode) != stat.S_IMODE(b.st_mode):
        out.append("%s: mode: source %04o, mounted %04o" % (p, stat.S_IMODE(a.st_mode), stat.S_IMODE(b.st_mode)))
    for field in ("st_uid", "st_gid", "st_mtime_ns"):
        if getattr(a, field) != getattr(b, field):
            out.append("%s: %s: source %d, mounted %d" % (p, field[3:], getattr(a, field), getattr(b, field)))
    if t != stat.S_IFDIR and a.st_size != b.st_size:
        out.append("%s: size: source %d, mounted %d" % (p, a.st_size, b.st_size))
    if t == stat.S_IFLNK and s.target is not None and m.target is not None and s.target != m.target:
        out.append("%s: symlink target: source %s, mounted %s" % (p, show(s.target), show(m.target)))
    if t in (stat.S_IFCHR, stat.S_IFBLK) and a.st_rdev != b.st_rdev:
        out.append("%s: rdev: source %d:%d, mounted %d:%d" % (p, os.major(a.st_rdev), os.minor(a.st_rdev),
                                                              os.major(b.st_rdev), os.minor(b.st_rdev)))
    if t == stat.S_IFREG and a.st_nlink != b.st_nlink:
        out.append("%s: nlink: source %d, mounted %d" % (p, a.st_nlink, b.st_nlink))
    if s.xattrs is not None and m.xattrs is not None:
        def kept(x):
            return {k: v for k, v in x.items() if not any(k.startswith(i) for i in args.ignore_xattr)}
        xs, xm = kept(s.xattrs), kept(m.xattrs)
        for name in sorted(set(xs) | set(xm)):
            if name not in xm:
                out.append("%s: xattr %s: missing in mounted" % (p, show(name)))
            elif name not in xs:
                out.append("%s: xattr %s: extra in mounted (value %r)" % (p, show(name), xm[name][:64]))
            elif xs[name] != xm[name]:
                out.append("%s: xattr %s: source %r, mounted %r" % (p, show(name), xs[name][:64], xm[name][:64]))
    if t == stat.S_IFREG and not args.no_content:
        diff, done = compare_content(os.path.join(src_root, rel), os.path.join(mnt_root, rel))
        if diff:
            out.append("%s: %s" % (p, diff))
        return done
    return 0


def compare_hardlinks(common, src, mnt, out):
    """Non-directories sharing an inode must be the same groups on both sides.
    Each source group whose members are not exactly one mounted group is
    reported once; that covers every difference of the two partitions."""
    def groups(entries):
        by_inode, of = {}, {}
        for rel in common:
            st = entries[rel].st
            if st is not None and not stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                by_inode.setdefault(key, []).append(rel)
                of[rel] = key
        return by_inode, of
    s_groups, s_of = groups(src)
    m_groups, m_of = groups(mnt)
    for key in sorted(s_groups, key=lambda k: sorted(s_groups[k])[0]):
        members = sorted(s_groups[key])
        seen = sorted({m_of[r] for r in members if r in m_of}, key=lambda k: sorted(m_groups[k])[0])
        if len(seen) == 1 and sorted(m_groups[seen[0]]) == members:
            continue
        names = lambda rels: "[" + ", ".join(show(r) for r in sorted(rels)) + "]"
        out.append("%s: hardlinks: source %s share an inode; mounted: %s" % (
            show(members[0]), names(members), " ".join(names(m_groups[k]) for k in seen)))


def cmd_compare(args):
    src_root, mnt_root = os.fsencode(args.source), os.fsencode(args.mounted)
    for r in (src_root, mnt_root):
        if not os.path.isdir(r):
            print("tree_compare.py: %s is not a directory" % show(r), file=sys.stderr)
            return 2
    skip = {os.fsencode(n) for n in args.skip}
    src, mnt = scan(src_root, skip, args.xattr_prefix), scan(mnt_root, skip, args.xattr_prefix)
    out, common, compared, nbytes = [], [], 0, 0
    stack = [b"."]
    while stack:  # depth first, names sorted: the report reads in tree order
        rel = stack.pop()
        s, m = src[rel], mnt[rel]
        common.append(rel)
        compared += 1
        nbytes += compare_entries(rel, s, m, args, src_root, mnt_root, out)
        if s.names is None or m.names is None:
            continue
        p = show(rel)
        for side, names in (("source", s.names - m.names), ("mounted", m.names - s.names)):
            if names:
                out.append("%s: names only in %s: %s" % (p, side, ", ".join(show(n) for n in sorted(names))))
        for name in sorted(s.names & m.names, reverse=True):
            stack.append(name if rel == b"." else os.path.join(rel, name))
    compare_hardlinks(common, src, mnt, out)
    if not out:
        print("%d entries, %d bytes compared%s" % (compared, nbytes, " (contents not read: --no-content)"
                                                   if args.no_content else ""))
        return 0
    for line in out[:MAX_LINES]:
        print(line)
    if len(out) > MAX_LINES:
        print("... and %d more differences (%d in all)" % (len(out) - MAX_LINES, len(out)))
    print("%d differences in %d entries compared" % (len(out), compared), file=sys.stderr)
    return 1


KINDS = ("empty", "whole", "past-eof", "boundary", "random")


def pick_range(rnd, kind_name, size):
    """(offset, length) of a read of one kind in a file of SIZE bytes."""
    if kind_name == "empty":
        return rnd.randint(0, size), 0
    if kind_name == "whole":
        return 0, size
    if kind_name == "past-eof":
        return size + rnd.choice((0, 1, rnd.randint(0, 2 * MIB))), rnd.randint(1, 128 * 1024)
    if kind_name == "boundary":
        if size > MIB:
            edge = MIB * rnd.randint(1, size // MIB)
        else:
            edge = size  # straddles the end of the file instead
        start = edge - rnd.randint(1, min(edge, 256 * 1024)) if edge else 0
        return start, edge - start + rnd.randint(1, 256 * 1024)
    start = rnd.randint(0, max(size - 1, 0))
    return start, rnd.randint(1, max(1, min(size - start, 4 * MIB)))


def pread_full(fd, n, pos):
    """N bytes at POS, fewer only at the end of the file: pread again after a short read, as a program must."""
    parts, got = [], 0
    while got < n:
        b = os.pread(fd, n - got, pos + got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


class Readers:
    def __init__(self, args, files, big):
        self.args, self.files, self.big = args, files, big
        self.root, self.source = os.fsencode(args.root), os.fsencode(args.source)
        self.lock = threading.Lock()
        self.reads = self.bytes = self.mismatches = self.errors = 0
        self.by_kind = dict.fromkeys(KINDS, 0)
        self.lines = []
        self.current = {}  # thread number -> the read it is in (for --timeout)

    def report(self, line, mismatch):
        with self.lock:
            if mismatch:
                self.mismatches += 1
            else:
                self.errors += 1
            self.lines.append(line)

    def one(self, rnd, number, count):
        kind_name = KINDS[count % len(KINDS)]
        pool = self.big if kind_name == "boundary" and self.big else self.files
        rel, size = pool[rnd.randrange(len(pool))]
        offset, length = pick_range(rnd, kind_name, size)
        where = "%s offset %d length %d (%s)" % (show(rel), offset, length, kind_name)
        with self.lock:
            self.current[number] = where
        done = 0
        try:
            fd = os.open(os.path.join(self.root, rel), os.O_RDONLY)
            try:
                sfd = os.open(os.path.join(self.source, rel), os.O_RDONLY)
                try:
                    if length == 0:  # still a call: the answer must be empty
                        got = os.pread(fd, 0, offset)
                        if got:
                            self.report("mismatch: %s: %d bytes for an empty read" % (where, len(got)), True)
                    pos, end = offset, offset + length
                    while pos < end:
                        step = min(end - pos, PIECE)
                        got, want = pread_full(fd, step, pos), pread_full(sfd, step, pos)
                        if got != want:
                            i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                                     min(len(got), len(want)))
                            self.report("mismatch: %s: first wrong byte at file offset %d (mounted gave %d bytes "
                                        "from %d, source %d)" % (where, pos + i, len(got), pos, len(want)), True)
                            return
                        done += len(got)
                        if len(want) < step:
                            break  # the end of the file
                        pos += step
                finally:
                    os.close(sfd)
            finally:
                os.close(fd)
        except OSError as err:
            self.report("error: %s: %s" % (where, error_text(err)), False)
        except Exception as err:  # a bug here must fail the run, not end a thread silently
            self.report("error: %s: %s: %s" % (where, type(err).__name__, err), False)
        finally:
            with self.lock:
                self.reads += 1
                self.bytes += done
                self.by_kind[kind_name] += 1
                self.current.pop(number, None)

    def thread(self, number, count):
        rnd = random.Random("%d/%d" % (self.args.seed, number))
        for i in range(count):
            self.one(rnd, number, i + number)


def regular_files(source, skip):
    files = []
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            if name in skip:
                continue
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                files.append((os.path.relpath(path, source), st.st_size))
    return sorted(files)


def cmd_readers(args):
    source = os.fsencode(args.source)
    if not os.path.isdir(args.root) or not os.path.isdir(source):
        print("tree_compare.py: ROOT and SOURCE must be directories", file=sys.stderr)
        return 2
    files = regular_files(source, {os.fsencode(n) for n in args.skip})
    if not files or args.threads < 1 or args.reads < 1:
        print("tree_compare.py: nothing to read (no regular files in %s, or --threads/--reads < 1)" % args.source,
              file=sys.stderr)
        return 2
    r = Readers(args, files, [f for f in files if f[1] > MIB])
    started = time.monotonic()
    threads = []
    for n in range(args.threads):
        count = args.reads // args.threads + (1 if n < args.reads % args.threads else 0)
        t = threading.Thread(target=r.thread, args=(n, count), daemon=True)
        t.start()
        threads.append(t)
    deadline = started + args.timeout if args.timeout else None
    for t in threads:
        t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    hung = [t for t in threads if t.is_alive()]
    seconds = time.monotonic() - started
    with r.lock:
        lines = list(r.lines)
        for line in lines[:MAX_LINES]:
            print(line)
        if len(lines) > MAX_LINES:
            print("... and %d more failed reads (%d in all)" % (len(lines) - MAX_LINES, len(lines)))
        for n, where in sorted(r.current.items())[:MAX_LINES] if hung else ():
            print("hung: thread %d still inside %s" % (n, where))
        print("%d reads done (%s), %d bytes read, %d mismatches, %d errors, %d files, %d threads, %.2f s" % (
            r.reads, ", ".join("%s %d" % kv for kv in r.by_kind.items()), r.bytes, r.mismatches, r.errors,
            len(files), args.threads, seconds))
        code = 4 if hung else 1 if r.mismatches else 3 if r.errors else 0
    sys.stdout.flush()
    if hung:
        print("tree_compare.py: %d threads still reading after --timeout %g s" % (len(hung), args.timeout),
              file=sys.stderr)
        os._exit(code)  # a thread stuck in pread cannot be joined or interrupted
    return code


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare", help="compare two trees entry by entry")
    c.add_argument("source")
    c.add_argument("mounted")
    c.add_argument("--skip", action="append", default=[], metavar="NAME", help="leave out entries with this basename")
    c.add_argument("--xattr-prefix", default="user.", metavar="P", help="xattrs compared (default user.)")
    c.add_argument("--ignore-xattr", action="append", default=[], metavar="PREFIX",
                   help="leave out xattrs whose names start with PREFIX (e.g. a mount's informational ones)")
    c.add_argument("--no-content", action="store_true", help="do not read file contents")
    r = sub.add_parser("readers", help="concurrent random reads of ROOT checked against SOURCE")
    r.add_argument("root")
    r.add_argument("source")
    r.add_argument("--threads", type=int, default=64)
    r.add_argument("--reads", type=int, default=10000, help="reads in all, shared by the threads")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--skip", action="append", default=[], metavar="NAME")
    r.add_argument("--timeout", type=float, default=0, metavar="SECONDS",
                   help="exit 4 naming the reads still running after this long (0: wait forever)")
    args = ap.parse_args()
    return cmd_compare(args) if args.command == "compare" else cmd_readers(args)


if __name__ == "__main__":
    sys.exit(main())
