# Makes or changes the tree bench/gc.sh collects: revision 0 writes N files
# in nested catalogs (a .stratumcatalog and a .cvmfscatalog marker in every
# directory of ~1000 files, so both formats split the same way); revision R
# rewrites a fraction of them with new content, removes 0.5% and adds 0.5%.
# Run by bench/gc.sh, one process per revision, on the main thread only.
#
#   python3 bench/gc_tree.py ROOT N REVISION [FRACTION [MAX_BYTES]]
import os
import random
import sys

root, n, rev = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fraction = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
max_bytes = int(sys.argv[5]) if len(sys.argv) > 5 else 8192
per_catalog = 1000
catalogs = max(1, n // per_catalog)
rnd = random.Random(1000 + rev)
words = ["w%d" % i for i in range(3000)]


def where(i):
    # Added files (i >= n) land in the existing catalogs.
    c = (i % n) // per_catalog if i < n else i % catalogs
    top = os.path.join(root, "c%04d" % c)
    return top, os.path.join(top, "s%02d" % (i % 10)), "f%08d" % i


def write(i):
    top, d, name = where(i)
    if not os.path.isdir(d):
        os.makedirs(d, exist_ok=True)
        for marker in (".stratumcatalog", ".cvmfscatalog"):
            open(os.path.join(top, marker), "a").close()
    head = "rev %d file %d\n" % (rev, i)  # distinct content per file and revision
    size = rnd.randint(min(256, max_bytes), max_bytes)
    body = head if size <= len(head) else head + " ".join(rnd.choice(words) for _ in range(size // 5))
    with open(os.path.join(d, name), "w") as f:
        f.write(body[:max(size, len(head))])


if rev == 0:
    for i in range(n):
        write(i)
else:
    # Rewrites: every file whose index falls in this revision's share
    # (FRACTION 0.5 = every other file), shifted each revision.
    step = max(1, round(1 / fraction))
    for i in range(rev % step, n, step):
        if os.path.exists(os.path.join(*where(i)[1:])):
            write(i)
    churn = max(1, n // 200)
    for i in rnd.sample(range(n), churn):
        p = os.path.join(*where(i)[1:])
        if os.path.exists(p):
            os.remove(p)
    for j in range(churn):
        write(n + rev * churn + j)
