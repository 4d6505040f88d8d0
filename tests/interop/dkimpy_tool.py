#!/usr/bin/python3
"""Sign and verify with Debian's python3-dkim (dkimpy) for tests/sh/interop_dkimpy.sh.

Run it with /usr/bin/python3 (Debian's interpreter, where python3-dkim lives).

  dkimpy_tool.py sign -d DOMAIN -s SELECTOR -k KEYFILE [-a rsa|ed25519]
                      [-c HEADER/BODY] [--all-headers] -o OUTDIR FILE...
      Write OUTDIR/<basename of FILE>: one DKIM-Signature field followed by
      FILE unchanged. The field uses the message's own line ending (LF when
      the message has no CRLF). KEYFILE: PEM RSA key; for ed25519 a base64
      32-byte seed (dkimpy's format) or a PKCS#8 PEM Ed25519 key (hanko
      keygen's format), whose seed is extracted here. --all-headers signs
      every field present (dkimpy's all_sign_headers) instead of dkimpy's
      default list.

  dkimpy_tool.py verify -z ZONE FILE...
      Verify every DKIM-Signature of each FILE, looking keys up in the
      master file ZONE (no network). Prints one line per FILE:
          pass FILE            every signature (at least one) verified
          fail FILE REASON     otherwise
      Exit 0 when every FILE passed, 1 otherwise.

LF-only messages: dkimpy's rfc822_parse splits on CRLF or bare LF and
rebuilds the message with CRLF, i.e. it canonicalizes what the MTA would put
on the wire; such files are handed to dkimpy unchanged.
"""
import argparse
import base64
import io
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zonefile  # noqa: E402

import dkim  # noqa: E402


def load_key(path, alg):
    data = open(path, 'rb').read()
    if alg == 'rsa':
        return data
    if b'-----BEGIN' in data:
        der = base64.b64decode(b''.join(
            l for l in data.splitlines() if l and not l.startswith(b'-----')))
        # PKCS#8 Ed25519: ... OID 1.3.101.112, OCTET STRING { OCTET STRING seed }
        if b'\x06\x03\x2b\x65\x70' not in der or len(der) < 48:
            sys.exit('%s: not an Ed25519 PKCS#8 key' % path)
        seed = der[16:48]
        return base64.b64encode(seed)
    seed = base64.b64decode(data.strip())
    if len(seed) != 32:
        sys.exit('%s: Ed25519 seed is %d bytes, want 32' % (path, len(seed)))
    return data.strip()


def cmd_sign(a):
    key = load_key(a.key, a.alg)
    hc, bc = a.canon.split('/')
    sigalg = b'rsa-sha256' if a.alg == 'rsa' else b'ed25519-sha256'
    rc = 0
    for path in a.files:
        msg = open(path, 'rb').read()
        sep = b'\r\n' if b'\r\n' in msg else b'\n'
        try:
            d = dkim.DKIM(msg, linesep=sep, signature_algorithm=sigalg)
            hdrs = d.all_sign_headers() if a.all_headers else None
            sig = d.sign(a.selector.encode(), a.domain.encode(), key,
                         canonicalize=(hc.encode(), bc.encode()),
                         include_headers=hdrs)
        except Exception as e:  # report, carry on with the others
            print('%s: dkimpy sign failed: %r' % (path, e), file=sys.stderr)
            rc = 1
            continue
        if sep == b'\n':
            sig = sig.replace(b'\r\n', b'\n')
        with open(os.path.join(a.outdir, os.path.basename(path)), 'wb') as f:
            f.write(sig + msg)
    return rc


def cmd_verify(a):
    zone = zonefile.read(a.zone)

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        recs = zone.get(name.rstrip('.').lower())
        return recs[0] if recs else None

    rc = 0
    for path in a.files:
        msg = open(path, 'rb').read()
        log = io.StringIO()
        logger = logging.getLogger('dkimpy_tool')
        logger.handlers[:] = [logging.StreamHandler(log)]
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        reason = ''
        try:
            d = dkim.DKIM(msg, logger=logger)
            n = len([1 for name, _ in d.headers
                     if name.lower() == b'dkim-signature'])
            if n == 0:
                reason = 'no DKIM-Signature'
            for i in range(n):
                if not d.verify(idx=i, dnsfunc=dnsfunc):
                    reason = 'signature %d does not verify' % i
                    break
        except Exception as e:
            reason = 'exception %r' % e
        if reason:
            rc = 1
            last = [l for l in log.getvalue().splitlines() if l][-1:] or ['']
            print('fail %s %s %s' % (path, reason, last[0][:200]))
        else:
            print('pass %s' % path)
    return rc


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('sign')
    s.add_argument('-d', dest='domain', required=True)
    s.add_argument('-s', dest='selector', required=True)
    s.add_argument('-k', dest='key', required=True)
    s.add_argument('-a', dest='alg', choices=('rsa', 'ed25519'), default='rsa')
    s.add_argument('-c', dest='canon', default='relaxed/relaxed')
    s.add_argument('--all-headers', action='store_true')
    s.add_argument('-o', dest='outdir', required=True)
    s.add_argument('files', nargs='+')
    v = sub.add_parser('verify')
    v.add_argument('-z', dest='zone', required=True)
    v.add_argument('files', nargs='+')
    a = p.parse_args()
    return cmd_sign(a) if a.cmd == 'sign' else cmd_verify(a)


if __name__ == '__main__':
    sys.exit(main())
