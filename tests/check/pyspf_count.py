#!/usr/bin/python3
"""pyspf_count.py ZONE < lines

Cross-checks hanko check's SPF lookup count with pyspf (python3-spf) on
the same master file, read by tests/spf/pyspf_compare.py's zone reader.
Each input line is "DOMAIN LOOKUPS VOIDS PTR LOOP" as hanko check --json
reported it (PTR 1 when the tree uses ptr, LOOP 1 when it found an
include loop, which it does not follow: pyspf must then give permerror). pyspf evaluates DOMAIN for a
client that matches nothing (203.0.113.254), so it walks every term up
to each "all", as the audit does. Within the limits the counts must be
equal (void lookups only without ptr, whose lookup the audit cannot
make without a client); over 10 lookups or 2 void lookups pyspf must
give permerror for that limit. Prints tab_report lines.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "spf"))
import spf  # noqa: E402
import pyspf_compare  # noqa: E402

CLIENT = "203.0.113.254"


def main(argv):
    with open(argv[1], encoding="latin-1") as f:
        text = "\n".join(l for l in f.read().splitlines()
                         if not l.startswith(";"))
    zone = pyspf_compare.Zone(text)
    spf.DNSLookup = pyspf_compare.pyspf_lookup(zone)
    for line in sys.stdin:
        dom, lookups, voids, ptr, loop = line.split()
        lookups, voids, ptr = int(lookups), int(voids), ptr == "1"
        q = spf.query(i=CLIENT, s="postmaster@" + dom, h=dom,
                      strict=True, querytime=0)
        res, _code, why = q.check()
        name = "pyspf agrees on %s (%d lookups, %d void)" % (
            dom, lookups, voids)
        if loop == "1":
            ok = res == "permerror"
        elif lookups > spf.MAX_LOOKUP:
            ok = res == "permerror" and "DNS lookups" in why
        elif voids > spf.MAX_VOID_LOOKUPS:
            ok = res == "permerror" and "Void lookup" in why
        else:
            ok = q.lookups == lookups and (ptr or q.void_lookups == voids)
        if ok:
            print("ok\t" + name)
        else:
            print("fail\t%s\tpyspf: %s (%s), %s lookups, %s void" % (
                name, res, why, q.lookups, q.void_lookups))
    return 0


sys.exit(main(sys.argv))
