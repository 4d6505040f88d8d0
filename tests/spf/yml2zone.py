#!/usr/bin/python3
"""yml2zone.py - turn an openspf.org SPF test suite (YAML) into master files.

    /usr/bin/python3 tests/spf/yml2zone.py SUITE.yml OUTDIR

For scenario N (1-based, in file order) writes OUTDIR/N.zone, an RFC 1035
master file that hanko's --dns-zone backend (io/zone.c, ldns) loads, and
appends one line per test to OUTDIR/cases.tsv:

    N <TAB> scenario <TAB> test <TAB> host <TAB> mailfrom <TAB> helo
      <TAB> results (comma-separated, preferred first) <TAB> explanation

(an empty explanation field: the suite gives none; "DEFAULT": any text).
Tests are sorted by name within a scenario, so the list is stable.

How zonedata maps to the file (see ../shared/testsuites/spf/README.md):

  * SPF entries are also served as TXT unless the name has an explicit TXT
    entry (the suite's automatic duplication); type 99 itself is not
    written, hanko never queries it. "TXT: NONE" suppresses the copy.
  * A list of strings is one RR of several character-strings; strings
    longer than 255 octets are split (SPF joins them without separator, so
    that is the same record). Text is UTF-8 (what pyspf's own test driver
    sends); bytes outside printable ASCII, '"' and '\\' are written "\\DDD".
    An empty list (a TXT RR without strings, which a master file cannot
    hold) becomes one empty string: neither is an SPF record.
  * TIMEOUT: a query for the name times out. io/zone.h's convention, a TXT
    whose only string is "HANKO-TEMPFAIL", makes every query reaching the
    name fail temporarily. That is exact when the name has no served
    records (SPF-only names whose TXT is suppressed included). When the
    name also has records of types the backend serves, the suite means
    "listed types answer, the others time out", which the convention
    cannot express: the TIMEOUT is dropped with a comment, and the
    converter reports every such name on stderr (for rfc7208-tests.yml
    the only one is spftimeout.example.net, whose record is "-all", so no
    other type is ever queried).
  * Names a resolver could not hold (an empty label, a label over 63
    octets, more than 253 octets) are left out with a comment; the tests
    that use them expect the domain to be unusable (toolonglabel,
    emptylabel: result none). Record targets (CNAME, PTR, MX) get the same
    treatment. An empty MX exchange is the null MX ".".
  * Characters outside [A-Za-z0-9-_*] in names are written "\\DDD"
    (e.g. "foo:bar/baz.example.com").

Exit status 0 on success; problems in the suite itself go to stderr.
"""

import ipaddress
import os
import sys

import yaml

SERVED = ("A", "AAAA", "MX", "PTR", "TXT", "CNAME")
NAME_SAFE = set(b"abcdefghijklmnopqrstuvwxyz"
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*")


def to_bytes(s):
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8")


def name_labels(name):
    """Labels of a domain name (str), or None if DNS cannot hold it."""
    b = to_bytes(name)
    if b.endswith(b"."):
        b = b[:-1]
    if b == b"":
        return []       # the root
    labels = b.split(b".")
    if any(len(l) == 0 or len(l) > 63 for l in labels):
        return None
    if len(b) > 253:
        return None
    return labels


def zone_name(name):
    """Absolute master-file form of name, or None if unusable."""
    labels = name_labels(name)
    if labels is None:
        return None
    if not labels:
        return "."
    out = []
    for l in labels:
        out.append("".join(chr(c) if c in NAME_SAFE else "\\%03d" % c
                           for c in l))
    return ".".join(out) + "."


def txt_strings(value):
    """Character-strings (bytes) of one TXT RR from a YAML value."""
    if isinstance(value, list):
        parts = [to_bytes(v) for v in value]
    else:
        parts = [to_bytes(value)]
    out = []
    for p in parts:
        if len(p) == 0:
            out.append(p)
        while p:
            out.append(p[:255])
            p = p[255:]
    if not out:
        out = [b""]
    return out


def txt_rdata(strings):
    def one(s):
        return '"' + "".join(
            chr(c) if 0x20 <= c < 0x7f and c not in (0x22, 0x5c)
            else "\\%03d" % c for c in s) + '"'
    return " ".join(one(s) for s in strings)


def scenario_zone(zonedata, warn):
    """Master-file text for one scenario's zonedata."""
    lines = ["$TTL 300"]
    for owner, recs in zonedata.items():
        owner = str(owner)
        zo = zone_name(owner)
        if zo is None:
            lines.append("; dropped %r: a DNS name cannot hold it "
                         "(empty label, label over 63 or name over 253 "
                         "octets)" % owner)
            continue
        if not isinstance(recs, list):
            recs = [recs]
        entries = []
        timeout = False
        has_txt = False
        for r in recs:
            if r == "TIMEOUT":
                timeout = True
                continue
            if not isinstance(r, dict) or len(r) != 1:
                warn("%s: unknown entry %r" % (owner, r))
                continue
            (t, v), = r.items()
            t = str(t).upper()
            if t == "TXT":
                has_txt = True
            entries.append((t, v))
        rr = []
        spf_txt = []
        for t, v in entries:
            if t == "SPF":
                if not has_txt:
                    spf_txt.append(v)
                continue
            if t == "TXT":
                if v == "NONE":
                    continue
                rr.append(("TXT", txt_rdata(txt_strings(v))))
                if isinstance(v, list) and not v:
                    rr[-1] = ("TXT", '""', "; a TXT RR without strings "
                              "in the suite, written as one empty string")
            elif t == "A":
                rr.append(("A", str(ipaddress.IPv4Address(str(v)))))
            elif t == "AAAA":
                rr.append(("AAAA", str(ipaddress.IPv6Address(str(v)))))
            elif t == "MX":
                pref, ex = v
                zt = zone_name(ex) if ex != "" else "."
                if zt is None:
                    rr.append((None, "; dropped MX %r: bad exchange" % ex))
                else:
                    rr.append(("MX", "%d %s" % (int(pref), zt)))
            elif t in ("PTR", "CNAME"):
                zt = zone_name(v)
                if zt is None:
                    rr.append((None, "; dropped %s %r: bad target" % (t, v)))
                else:
                    rr.append((t, zt))
            else:
                warn("%s: unsupported type %s" % (owner, t))
        for v in spf_txt:
            rr.append(("TXT", txt_rdata(txt_strings(v)),
                       "; the SPF entry, served as TXT"))
        served = [x for x in rr if x[0] is not None]
        if timeout:
            if served:
                warn("%s: TIMEOUT beside served records: dropped "
                     "(only the unlisted types would time out)" % owner)
                rr.insert(0, (None, "; TIMEOUT dropped: other types "
                              "would time out, but this name has "
                              "served records"))
            else:
                rr.append(("TXT", '"HANKO-TEMPFAIL"',
                           "; TIMEOUT: every query times out"))
        if not served and not timeout:
            # Only suppressed or SPF-type data: the name exists with no
            # records of the types served. A master file cannot hold an
            # empty node; no test of this suite needs NODATA rather than
            # NXDOMAIN for one, so it is left out.
            lines.append("; %s has no records hanko can query" % zo)
        for x in rr:
            if x[0] is None:
                lines.append(x[1])
                continue
            line = "%s IN %s %s" % (zo, x[0], x[1])
            if len(x) > 2:
                line += " " + x[2]
            lines.append(line)
    return "\n".join(lines) + "\n"


def field(v):
    s = "" if v is None else str(v)
    if "\t" in s or "\n" in s:
        raise ValueError("tab or newline in %r" % s)
    return s


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: yml2zone.py SUITE.yml OUTDIR\n")
        return 64
    src, out = argv[1], argv[2]
    os.makedirs(out, exist_ok=True)
    problems = []

    def warn(msg):
        problems.append(msg)
        sys.stderr.write("yml2zone: %s\n" % msg)

    with open(src, "rb") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    with open(os.path.join(out, "cases.tsv"), "w") as cases:
        for n, doc in enumerate(docs, 1):
            desc = " ".join(str(doc.get("description", "")).split())
            with open(os.path.join(out, "%d.zone" % n), "w") as z:
                z.write("; %s\n" % desc)
                z.write(scenario_zone(doc.get("zonedata") or {}, warn))
            for name in sorted(doc["tests"]):
                t = doc["tests"][name]
                res = t["result"]
                if not isinstance(res, list):
                    res = [res]
                cases.write("\t".join(field(x) for x in (
                    n, desc, name, t["host"], t["mailfrom"], t["helo"],
                    ",".join(res), t.get("explanation"))) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
