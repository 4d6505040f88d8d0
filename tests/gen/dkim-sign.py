#!/usr/bin/python3
"""Minimal DKIM signer for building test vectors hanko itself will not emit
(l= partial-body signatures, rsa-sha1). Not a general signer: relaxed or
simple canonicalization, RSA via `openssl dgst`, Ed25519 via `openssl pkeyutl`.

usage: dkim-sign.py -a rsa-sha256|rsa-sha1|ed25519-sha256 -k KEY -d D -s S
                    -t TIME -H from:to:subject [-c relaxed/relaxed] [-l]
                    < message > signed          (message with CRLF endings)
"""
import argparse, base64, hashlib, re, subprocess, sys, tempfile, os

def split(msg):
    hdr, sep, body = msg.partition(b"\r\n\r\n")
    if not sep:
        sys.exit("dkim-sign.py: no header/body separator")
    fields = []
    for line in (hdr + b"\r\n").split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return fields, body

def canon_hdr(field, relaxed):
    if not relaxed:
        return field + b"\r\n"
    name, _, value = field.partition(b":")
    value = re.sub(rb"[ \t]+", b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.strip(b" \t").lower() + b":" + value + b"\r\n"

def canon_body(body, relaxed):
    if relaxed:
        lines = body.split(b"\r\n")
        lines = [re.sub(rb"[ \t]+", b" ", l).rstrip(b" ") for l in lines]
        body = b"\r\n".join(lines)
    while body.endswith(b"\r\n\r\n"):
        body = body[:-2]
    if relaxed and body in (b"", b"\r\n"):
        return b""
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body

def main():
    p = argparse.ArgumentParser()
    p.add_argument("-a", default="rsa-sha256")
    p.add_argument("-k", required=True)
    p.add_argument("-d", required=True)
    p.add_argument("-s", required=True)
    p.add_argument("-t", required=True)
    p.add_argument("-H", required=True)
    p.add_argument("-c", default="relaxed/relaxed")
    p.add_argument("-l", action="store_true")
    a = p.parse_args()
    msg = sys.stdin.buffer.read()
    fields, body = split(msg)
    hc, bc = a.c.split("/")
    hmod = hashlib.sha1 if a.a == "rsa-sha1" else hashlib.sha256
    cb = canon_body(body, bc == "relaxed")
    bh = base64.b64encode(hmod(cb).digest()).decode()
    names = a.H.split(":")
    tags = "v=1; a=%s; c=%s; d=%s; s=%s; t=%s; " % (a.a, a.c, a.d, a.s, a.t)
    if a.l:
        tags += "l=%d; " % len(cb)
    tags += "h=%s; bh=%s; b=" % (":".join(names), bh)
    data = b""
    used = set()
    for n in names:
        for i in range(len(fields) - 1, -1, -1):
            fn = fields[i].split(b":", 1)[0].strip().lower()
            if i not in used and fn == n.lower().encode():
                used.add(i)
                data += canon_hdr(fields[i], hc == "relaxed")
                break
    sigf = b"DKIM-Signature: " + tags.encode()
    data += canon_hdr(sigf, hc == "relaxed")[:-2]
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "in")
        if a.a == "ed25519-sha256":
            open(f, "wb").write(hashlib.sha256(data).digest())
            cmd = ["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", a.k,
                   "-in", f]
        else:
            open(f, "wb").write(data)
            cmd = ["openssl", "dgst", "-sha1" if a.a == "rsa-sha1"
                   else "-sha256", "-sign", a.k, f]
        sig = subprocess.run(cmd, check=True, capture_output=True).stdout
    b = base64.b64encode(sig).decode()
    sys.stdout.buffer.write(sigf + b.encode() + b"\r\n" + msg)

main()
