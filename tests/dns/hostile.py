#!/usr/bin/env python3
"""A DNS server that gives hostile answers, for the resolver's decoding.

    python3 tests/dns/hostile.py [--owner PID] [--max-time S]

Binds UDP and TCP on one free port of 127.0.0.1 (as blackhole.py does) and
prints that port. Every name under hostile.example gets the crafted answer
below for its first label, whatever the query type asked (the answer RRs
carry the type asked, so a resolver keeps them); other names are REFUSED.
UDP answers over 512 octets come back truncated (TC), so the client must
retry over TCP. Exits like blackhole.py.

    dotlabel   PTR/MX: one target with a label holding "." (a.b), one fine
    nullabel   one target with a NUL in a label, one fine
    onlybad    only the dotted-label target
    many       300 records (A: 10.0.x.y; AAAA; MX/PTR: mN.hostile.example)
    maxname    a target of exactly 255 wire octets (the longest name)
    upper      a target in upper case
    shortaddr  A/AAAA rdata one octet short, next to a fine one
    cutname    rdata whose name runs past the end of the rdata
"""
import argparse
import os
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blackhole import serve  # noqa: E402

ZONE = b"\x07hostile\x07example\x00"
T_A, T_MX, T_PTR, T_TXT, T_AAAA = 1, 15, 12, 16, 28


def wname(*labels):
    """Wire-format name from raw labels (bytes), root appended."""
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\x00"


def fine():
    return wname(b"ok", b"hostile", b"example")


def target(qtype, name, pref=10):
    """rdata naming a host: MX carries a preference first."""
    return (struct.pack(">H", pref) + name) if qtype == T_MX else name


def addr(qtype, i):
    if qtype == T_A:
        return bytes([10, 0, i >> 8, i & 255])
    return b"\x3f\xff" + bytes(12) + struct.pack(">H", i)


def rdatas(label, qtype):
    """The answer RRs' rdata for a first label, or None (NXDOMAIN)."""
    if qtype in (T_A, T_AAAA):
        if label == b"many":
            return [addr(qtype, i) for i in range(300)]
        if label == b"shortaddr":
            good = addr(qtype, 1)
            return [good[:-1], good]
        return [addr(qtype, 1)]
    if qtype == T_TXT:
        return [b"\x05hello"]
    if label == b"dotlabel":
        return [target(qtype, wname(b"a.b", b"hostile", b"example")),
                target(qtype, fine(), 20)]
    if label == b"nullabel":
        return [target(qtype, wname(b"a\x00b", b"example")),
                target(qtype, fine(), 20)]
    if label == b"onlybad":
        return [target(qtype, wname(b"a.b", b"example"))]
    if label == b"many":
        return [target(qtype, wname(b"m%d" % i, b"hostile", b"example"), i)
                for i in range(300)]
    if label == b"maxname":
        return [target(qtype, wname(b"a" * 63, b"b" * 63, b"c" * 63,
                                    b"d" * 61))]
    if label == b"upper":
        return [target(qtype, wname(b"MAIL", b"Hostile", b"EXAMPLE"))]
    if label == b"cutname":
        return [target(qtype, wname(b"cut", b"example")[:-3]),
                target(qtype, fine(), 20)]
    return None


def answer(msg, tcp):
    """The response to one query message, or None to drop it."""
    if len(msg) < 12:
        return None
    qid, flags = struct.unpack(">HH", msg[:4])
    i, labels = 12, []
    try:
        while msg[i]:
            labels.append(msg[i + 1:i + 1 + msg[i]].lower())
            i += 1 + msg[i]
        qtype = struct.unpack(">H", msg[i + 1:i + 3])[0]
    except (IndexError, struct.error):
        return None
    question = msg[12:i + 5]
    rd = flags & 0x0100
    wire = b"".join(bytes([len(l)]) + l for l in labels) + b"\x00"
    if not wire.endswith(ZONE) or len(labels) < 3:
        return struct.pack(">HHHHHH", qid, 0x8000 | rd | 5, 1, 0, 0, 0) \
            + question
    rrs = rdatas(labels[0], qtype)
    if rrs is None:
        return struct.pack(">HHHHHH", qid, 0x8400 | rd | 3, 1, 0, 0, 0) \
            + question
    body = b"".join(b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 60, len(r))
                    + r for r in rrs)
    out = struct.pack(">HHHHHH", qid, 0x8400 | rd, 1, len(rrs), 0, 0) \
        + question + body
    if not tcp and len(out) > 512:
        out = struct.pack(">HHHHHH", qid, 0x8600 | rd, 1, 0, 0, 0) \
            + question
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--owner", type=int, help="exit when this pid is gone")
    ap.add_argument("--max-time", type=float, default=600.0)
    a = ap.parse_args()
    serve(a, lambda msg, proto: answer(msg, proto == "tcp"))


if __name__ == "__main__":
    main()
