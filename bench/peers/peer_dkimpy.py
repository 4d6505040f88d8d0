#!/usr/bin/python3
"""dkimpy (Debian python3-dkim) driven in one process, for bench/run.py.

  peer_dkimpy.py sign -a rsa|ed25519 -d DOMAIN -s SELECTOR -k KEYFILE
                 -H NAME:NAME:... -o OUTDIR -l LISTFILE
  peer_dkimpy.py verify -q QUERYFILE -l LISTFILE

Same interface and output as peer_opendkim.c: LISTFILE has one message
path per line; sign writes OUTDIR/<basename> (DKIM-Signature field, then
the message, in its own line ends), relaxed/relaxed over the -H fields;
verify takes keys from QUERYFILE ("name<TAB>record" lines). Prints one JSON
object {msgs, bytes, failed, seconds, cpu_s}; only the loop is timed, so
interpreter and module start-up are not counted.
"""
import base64
import json
import os
import sys
import time

import dkim


def arg(flag, default=None):
    a = sys.argv
    return a[a.index(flag) + 1] if flag in a else default


def load_key(path, alg):
    data = open(path, 'rb').read()
    if alg == 'rsa':
        return data
    if b'-----BEGIN' in data:  # PKCS#8 Ed25519 (hanko keygen): the seed
        der = base64.b64decode(b''.join(
            l for l in data.splitlines() if l and not l.startswith(b'-----')))
        return base64.b64encode(der[16:48])
    return data.strip()


def main():
    mode = sys.argv[1]
    files = [l.strip() for l in open(arg('-l')) if l.strip()]
    nbytes = failed = 0
    if mode == 'sign':
        alg = arg('-a', 'rsa')
        key = load_key(arg('-k'), alg)
        sel, dom = arg('-s').encode(), arg('-d').encode()
        names = [n.encode() for n in arg('-H').split(':')]
        sigalg = b'rsa-sha256' if alg == 'rsa' else b'ed25519-sha256'
        outdir = arg('-o')
        c0, t0 = time.process_time(), time.perf_counter()
        for path in files:
            msg = open(path, 'rb').read()
            nbytes += len(msg)
            sep = b'\r\n' if b'\r\n' in msg else b'\n'
            try:
                d = dkim.DKIM(msg, linesep=sep, signature_algorithm=sigalg)
                present = {n.lower() for n, _ in d.headers}
                hdrs = [n for n in names if n in present]
                sig = d.sign(sel, dom, key,
                             canonicalize=(b'relaxed', b'relaxed'),
                             include_headers=hdrs)
            except Exception as e:
                print('%s: %r' % (path, e), file=sys.stderr)
                failed += 1
                continue
            if sep == b'\n':
                sig = sig.replace(b'\r\n', b'\n')
            with open(os.path.join(outdir, os.path.basename(path)), 'wb') as f:
                f.write(sig + msg)
    else:
        keys = {}
        for line in open(arg('-q')):
            name, _, rec = line.rstrip('\n').partition('\t')
            keys[name.lower()] = rec.encode()

        def dnsfunc(name, timeout=5):
            if isinstance(name, bytes):
                name = name.decode()
            return keys.get(name.rstrip('.').lower())

        c0, t0 = time.process_time(), time.perf_counter()
        for path in files:
            msg = open(path, 'rb').read()
            nbytes += len(msg)
            try:
                d = dkim.DKIM(msg)
                n = sum(1 for h, _ in d.headers if h.lower() == b'dkim-signature')
                ok = n > 0 and all(d.verify(idx=i, dnsfunc=dnsfunc)
                                   for i in range(n))
            except Exception:
                ok = False
            failed += 0 if ok else 1
    print(json.dumps({'msgs': len(files), 'bytes': nbytes, 'failed': failed,
                      'seconds': round(time.perf_counter() - t0, 4),
                      'cpu_s': round(time.process_time() - c0, 3)}))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
