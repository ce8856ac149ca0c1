#!/usr/bin/python3
# The e2e tests' independent view of a CernVM-FS repository on disk: reads it
# with Python's sqlite3, zlib and hashlib and verifies its signatures with the
# openssl command line, never with stratum's code; and crafts what a hostile
# or careless publisher could put there (whitelists, re-signed manifests), the
# way cvmfs_server does it with openssl. Used by tests/e2e/cvmfs_*_test.cpp.
#
#   cvmfs_tool.py inspect STORE              -> JSON on stdout
#   cvmfs_tool.py whitelist STORE KEYS FQRN CREATED EXPIRES [FINGERPRINT]
#       writes .cvmfswhitelist signed with KEYS/FQRN.masterkey; times as
#       YYYYMMDDHHMMSS; FINGERPRINT defaults to KEYS/FQRN.crt's
#   cvmfs_tool.py reachable STORE            -> JSON: the store keys of every
#       object the current revision and the tagged ones reference (catalogs,
#       contents, chunks) and the manifest's H, X and M: what gc must keep
#   cvmfs_tool.py catalogs STORE [ROOT]    -> JSON: every catalog of the current
#       revision (or of root catalog ROOT, hex), depth-first from the root in
#       nested_catalogs path order: {path, hash, rows (catalog table), stored_size,
#       inflated_size}; what list-catalogs must show
#   cvmfs_tool.py owners STORE               -> JSON: {"rows": [[catalog path,
#       name, uid, gid], ...] for every row of every catalog of the current
#       revision, "catalogs": {catalog path: its hash}, "previous": {catalog
#       path: its previous_revision property}}
#   cvmfs_tool.py schema STORE KEYS FQRN VALUE
#       sets the root catalog's schema property to VALUE, stores it under its
#       new name and re-signs the manifest with KEYS/FQRN.key
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import zlib


def run(args, data=None):
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


def split_letter(doc):
    text, rest = doc.split(b'\n--\n', 1)
    hash_line, sig = rest.split(b'\n', 1)
    return text + b'\n', hash_line, sig


def fields_of(text):
    return {l[0]: l[1:] for l in text.decode().splitlines() if l}


def object_path(store, name, suffix):
    return os.path.join(store, 'data', name[:2], name[2:] + suffix)


def object_content(store, name, suffix):
    return zlib.decompress(open(object_path(store, name, suffix), 'rb').read())


def open_db(content, tmp):
    path = os.path.join(tmp, hashlib.sha1(content).hexdigest() + '.db')
    open(path, 'wb').write(content)
    con = sqlite3.connect(path)
    # Names are bytes (CernVM-FS keeps non-UTF-8 names as they are).
    con.text_factory = lambda b: b.decode('utf-8', 'backslashreplace')
    return con


def fingerprint(cert_pem):
    der = run(['openssl', 'x509', '-outform', 'DER'], cert_pem)
    h = hashlib.sha1(der).hexdigest().upper()
    return ':'.join(h[i:i + 2] for i in range(0, len(h), 2))


def inspect(store):
    out = {}
    bad = 0
    for d, _, files in os.walk(os.path.join(store, 'data')):
        for f in files:
            body = open(os.path.join(d, f), 'rb').read()
            if hashlib.sha1(body).hexdigest() != os.path.basename(d) + f.rstrip('CHXPM'):
                bad += 1
    out['bad_names'] = bad
    tmp = tempfile.mkdtemp()
    doc = open(os.path.join(store, '.cvmfspublished'), 'rb').read()
    text, hash_line, sig = split_letter(doc)
    m = fields_of(text)
    out['manifest'] = m
    out['manifest_hash_ok'] = hashlib.sha1(text).hexdigest() == hash_line.decode()
    cert = object_content(store, m['X'], 'X')
    # A Stratum 1 compresses the certificate and the meta-info again with
    # zlib (swissknife pull): their stored bytes must be zlib's, or their
    # names would not hold there.
    out['zlib_bytes_ok'] = all(open(object_path(store, m[k], k), 'rb').read() == zlib.compress(object_content(store, m[k], k), 6)
                               for k in 'XM')
    open(os.path.join(tmp, 'cert.pem'), 'wb').write(cert)
    open(os.path.join(tmp, 'cert.pub'), 'wb').write(run(['openssl', 'x509', '-in', os.path.join(tmp, 'cert.pem'), '-pubkey', '-noout']))
    open(os.path.join(tmp, 'm.sig'), 'wb').write(sig)
    open(os.path.join(tmp, 'm.hash'), 'wb').write(hash_line)
    v = subprocess.run(['openssl', 'dgst', '-sha1', '-verify', os.path.join(tmp, 'cert.pub'), '-signature',
                        os.path.join(tmp, 'm.sig'), os.path.join(tmp, 'm.hash')], capture_output=True)
    out['manifest_sig_ok'] = v.returncode == 0
    # The whitelist, against the master public key the test gives in MASTER_PUB.
    wl = open(os.path.join(store, '.cvmfswhitelist'), 'rb').read()
    wtext, whash, wsig = split_letter(wl)
    open(os.path.join(tmp, 'w.sig'), 'wb').write(wsig)
    rec = subprocess.run(['openssl', 'pkeyutl', '-verifyrecover', '-pubin', '-inkey', os.environ['MASTER_PUB'], '-in',
                          os.path.join(tmp, 'w.sig')], capture_output=True)
    out['whitelist_sig_ok'] = rec.returncode == 0 and rec.stdout == whash and hashlib.sha1(wtext).hexdigest() == whash.decode()
    out['whitelist_lists_cert'] = fingerprint(cert) in wtext.decode().splitlines()
    # The root catalog and its nested catalogs' rows.
    root = object_content(store, m['C'], 'C')
    out['root_size_ok'] = len(root) == int(m['B'])
    con = open_db(root, tmp)
    props = dict(con.execute('select key, value from properties'))
    out['root'] = {k: str(v) for k, v in props.items()}
    out['nested'] = {p: h for p, h in con.execute('select path, sha1 from nested_catalogs')}
    out['names'] = sorted(r[0] for r in con.execute('select name from catalog'))
    # The history: tags.
    if 'H' in m:
        h = open_db(object_content(store, m['H'], 'H'), tmp)
        out['tags'] = {n: [hs, r, d] for n, hs, r, d in h.execute('select name, hash, revision, description from tags order by name')}
    # The reflog named by Y, and the meta-info object.
    log = open(os.path.join(store, '.cvmfsreflog'), 'rb').read()
    out['reflog_hash_ok'] = hashlib.sha1(log).hexdigest() == m.get('Y')
    r = open_db(log, tmp)
    out['reflog'] = [[hs, t] for hs, t in r.execute('select hash, type from refs order by rowid')]
    out['meta'] = json.loads(object_content(store, m['M'], 'M'))
    print(json.dumps(out, indent=1))


def reachable(store):
    tmp = tempfile.mkdtemp()
    m = fields_of(split_letter(open(os.path.join(store, '.cvmfspublished'), 'rb').read())[0])
    keys = {'data/%s/%s%s' % (m[k][:2], m[k][2:], k) for k in 'HXM' if k in m}
    roots = [m['C']]
    h = open_db(object_content(store, m['H'], 'H'), tmp)
    roots += [r[0] for r in h.execute('select hash from tags')]
    todo = list(roots)
    while todo:
        name = todo.pop()
        key = 'data/%s/%sC' % (name[:2], name[2:])
        if key in keys:
            continue
        keys.add(key)
        con = open_db(object_content(store, name, 'C'), tmp)
        todo += [r[0] for r in con.execute('select sha1 from nested_catalogs')]
        for (blob,) in con.execute('select hash from catalog where hash is not null and length(hash) > 0'):
            x = blob.hex()
            keys.add('data/%s/%s' % (x[:2], x[2:]))
        for (blob,) in con.execute('select hash from chunks'):
            x = blob.hex()
            keys.add('data/%s/%sP' % (x[:2], x[2:]))
    print(json.dumps(sorted(keys)))


def catalogs(store, root=None):
    tmp = tempfile.mkdtemp()
    if root is None:
        root = fields_of(split_letter(open(os.path.join(store, '.cvmfspublished'), 'rb').read())[0])['C']
    out = []

    def visit(path, name):
        stored = open(object_path(store, name, 'C'), 'rb').read()
        content = zlib.decompress(stored)
        con = open_db(content, tmp)
        rows = con.execute('select count(*) from catalog').fetchone()[0]
        out.append({'path': path, 'hash': name, 'rows': rows, 'stored_size': len(stored), 'inflated_size': len(content)})
        # Path order byte by byte, as stratum's pre-order sorts siblings.
        for p, h in sorted(con.execute('select path, sha1 from nested_catalogs'), key=lambda r: r[0].encode()):
            visit(p, h)

    visit('/', root)
    print(json.dumps(out))

def owners(store):
    tmp = tempfile.mkdtemp()
    m = fields_of(split_letter(open(os.path.join(store, '.cvmfspublished'), 'rb').read())[0])
    rows, catalogs, previous = [], {}, {}
    todo = [('', m['C'])]
    while todo:
        path, name = todo.pop()
        catalogs[path] = name
        con = open_db(object_content(store, name, 'C'), tmp)
        previous[path] = str(dict(con.execute('select key, value from properties')).get('previous_revision'))
        todo += [(p, h) for p, h in con.execute('select path, sha1 from nested_catalogs')]
        rows += [[path, n, u, g] for n, u, g in con.execute('select name, uid, gid from catalog')]
    print(json.dumps({'rows': rows, 'catalogs': catalogs, 'previous': previous}))


def whitelist(store, keys, fqrn, created, expires, fp=None):
    if fp is None:
        fp = fingerprint(open(os.path.join(keys, fqrn + '.crt'), 'rb').read())
    text = ('%s\nE%s\nN%s\n%s\n' % (created, expires, fqrn, fp)).encode()
    h = hashlib.sha1(text).hexdigest().encode()
    sig = run(['openssl', 'pkeyutl', '-sign', '-inkey', os.path.join(keys, fqrn + '.masterkey')], h)
    open(os.path.join(store, '.cvmfswhitelist'), 'wb').write(text + b'--\n' + h + b'\n' + sig)


def schema(store, keys, fqrn, value):
    tmp = tempfile.mkdtemp()
    text, _, _ = split_letter(open(os.path.join(store, '.cvmfspublished'), 'rb').read())
    m = fields_of(text)
    con = open_db(object_content(store, m['C'], 'C'), tmp)
    con.execute("update properties set value = ? where key = 'schema'", (value,))
    con.commit()
    path = con.execute('pragma database_list').fetchone()[2]
    con.close()
    db = open(path, 'rb').read()
    stored = zlib.compress(db, 6)
    name = hashlib.sha1(stored).hexdigest()
    os.makedirs(os.path.dirname(object_path(store, name, 'C')), exist_ok=True)
    open(object_path(store, name, 'C'), 'wb').write(stored)
    lines = []
    for l in text.decode().splitlines():
        if l.startswith('C'):
            l = 'C' + name
        elif l.startswith('B'):
            l = 'B' + str(len(db))
        lines.append(l)
    new_text = ('\n'.join(lines) + '\n').encode()
    h = hashlib.sha1(new_text).hexdigest().encode()
    sig = run(['openssl', 'dgst', '-sha1', '-sign', os.path.join(keys, fqrn + '.key')], h)
    open(os.path.join(store, '.cvmfspublished'), 'wb').write(new_text + b'--\n' + h + b'\n' + sig)


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'inspect':
        inspect(sys.argv[2])
    elif cmd == 'reachable':
        reachable(sys.argv[2])
    elif cmd == 'catalogs':
        catalogs(*sys.argv[2:])
    elif cmd == 'owners':
        owners(sys.argv[2])
    elif cmd == 'whitelist':
        whitelist(*sys.argv[2:])
    elif cmd == 'schema':
        schema(*sys.argv[2:])
    else:
        sys.exit('unknown command ' + cmd)
