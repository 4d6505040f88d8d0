#!/usr/bin/python3
"""Generate the DMARC interop corpus for tests/sh/interop_opendmarc.sh.

    interop_gen.py HANKO KEYDIR OUTDIR [COUNT]

KEYDIR holds good.private/good.txt and bad.txt (hanko keygen, Ed25519):
"s1" signatures are made with the good key and verify; "bad" signatures
are made with the same key but bad._domainkey publishes the other key, so
they fail. Writes, in OUTDIR:

  zone         DMARC, SPF and DKIM key records for every case (master file)
  msgs/N.eml   one message per case, signed with hanko sign
  env/N.eml.env its envelope (ip=, helo=, mail-from=)
  records.tsv  "_dmarc.NAME<TAB>record" for opendmarc_tool -r
  cases.tsv    the same cases in opendmarc_tool's input form
  meta.json    per case: From domain, Organizational Domain, record tags,
               identifiers with their intended results (for the models in
               interop_compare.py)

The cases are a fixed pseudo-random sample (seeded), so every run builds
the same corpus. Each case has its own Organizational Domain bN.SUFFIX, so
records never leak from one case into another; only the public suffixes
themselves (used as "suffix" identifiers) are shared.
"""
import json
import os
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

# ICANN suffixes of one and two labels, and a private one (PSL private
# section), so Organizational Domains differ from "the last two labels".
SUFFIXES = ["com", "org", "net", "co.uk", "com.au", "github.io"]
# "short" has a one-letter label: libopendmarc 1.4.2 drops those when it
# reverses a name (opendmarc_reverse_domain("m.b1.com") is "com.b1."),
# a category of its own in the comparison.
SHAPES = ["org", "sub", "deep", "org", "sub", "deep", "short"]
# How an identifier (DKIM d= or MAIL FROM domain) relates to the From
# domain F whose Organizational Domain is O.
RELS = ["equal", "org", "child", "sibling", "mid", "unrelated",
        "other_org", "suffix"]
PASS_IP, FAIL_IP = "192.0.2.10", "198.51.100.10"


def ident(rel, i, f, o, suf):
    """The identifier in relation rel to From domain f (under o)."""
    if rel == "equal":
        return f
    if rel == "org":
        return o
    if rel == "child":
        return "dk." + f
    if rel == "sibling":
        return "sib." + o
    if rel == "mid":  # between F and O when F is deep, else O
        return f.split(".", 1)[1] if f.count(".") > o.count(".") else o
    if rel == "unrelated":
        return "u%d.example.net" % i
    if rel == "other_org":
        return "c%d.%s" % (i, suf)
    return suf


def record_text(rng, tags):
    parts = ["v=DMARC1", "p=" + tags["p"]]
    for k in ("sp", "adkim", "aspf", "pct"):
        if tags.get(k) is not None:
            parts.append("%s=%s" % (k, tags[k]))
    if rng.random() < 0.5:
        parts.append("rua=mailto:agg@reports.example")
    return "; ".join(parts)


def rand_tags(rng):
    return {
        "p": rng.choice(["none", "quarantine", "reject"]),
        "sp": rng.choice([None, "none", "quarantine", "reject"]),
        "adkim": rng.choice([None, None, "r", "s"]),
        "aspf": rng.choice([None, None, "r", "s"]),
        "pct": rng.choice([None, None, 100]),
    }


def make_case(rng, i):
    suf = SUFFIXES[i % len(SUFFIXES)]
    shape = SHAPES[(i // len(SUFFIXES)) % len(SHAPES)]
    o = "b%d.%s" % (i, suf)
    f = {"org": o, "sub": "mail." + o, "deep": "deep.mid." + o,
         "short": "m." + o}[shape]
    at = rng.choice(["author", "org", "both", "none"] if shape != "org"
                    else ["author", "author", "none"])
    recs = {}
    if at in ("author", "both"):
        recs[f] = rand_tags(rng)
    if at in ("org", "both"):
        recs[o] = rand_tags(rng)
    sigs = []
    for _ in range(rng.choice([0, 1, 1, 1, 2, 2])):
        rel = rng.choice(RELS)
        sigs.append({"rel": rel, "d": ident(rel, i, f, o, suf),
                     "res": rng.choice(["pass", "pass", "fail"])})
    srel = rng.choice(RELS)
    sres = rng.choice(["pass", "pass", "fail", "none"])
    if srel == "suffix" and sres == "none":
        sres = "pass"  # suffixes are shared: they always publish SPF
    spf = {"rel": srel, "d": ident(srel, i, f, o, suf), "res": sres}
    upper = rng.random() < 0.1
    return {"name": "c%03d" % i, "from": f.upper() if upper else f,
            "org": o, "suffix": suf, "records": recs, "sigs": sigs,
            "spf": spf}


def key_text(path):
    with open(path) as fh:
        return "".join(re.findall(r'"([^"]*)"', fh.read()))


def main():
    hanko, keydir, out = sys.argv[1:4]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    rng = random.Random(7489)
    cases = [make_case(rng, i) for i in range(count)]
    good = key_text(os.path.join(keydir, "good.txt"))
    bad = key_text(os.path.join(keydir, "bad.txt"))
    os.makedirs(os.path.join(out, "msgs"))
    os.makedirs(os.path.join(out, "env"))

    zone, records, spf_names, key_names = [], [], set(), set()
    for c in cases:
        for dom, tags in c["records"].items():
            txt = record_text(rng, tags)
            tags["text"] = txt
            zone.append('_dmarc.%s. TXT "%s"' % (dom, txt))
            records.append("_dmarc.%s\t%s" % (dom, txt))
        for s in c["sigs"]:
            key_names.add(s["d"])
        if c["spf"]["res"] != "none":
            spf_names.add(c["spf"]["d"])
    for d in sorted(key_names):
        zone.append('s1._domainkey.%s. TXT "%s"' % (d, good))
        zone.append('bad._domainkey.%s. TXT "%s"' % (d, bad))
    for d in sorted(spf_names):
        zone.append('%s. TXT "v=spf1 ip4:192.0.2.0/24 -all"' % d)
    with open(os.path.join(out, "zone"), "w") as fh:
        fh.write("$TTL 300\n" + "\n".join(zone) + "\n")
    with open(os.path.join(out, "records.tsv"), "w") as fh:
        fh.write("\n".join(records) + "\n")

    def build(c):
        n, f = c["name"], c["from"]
        msg = ("From: Sender <user@%s>\nTo: rcpt@receiver.example\n"
               "Subject: case %s\nDate: Thu, 01 Jan 2026 00:00:00 +0000\n"
               "Message-ID: <%s@interop.example>\n\nBody of %s.\n"
               % (f, n, n, n)).encode()
        for s in c["sigs"]:  # the last one made ends up on top
            sel = "s1" if s["res"] == "pass" else "bad"
            msg = subprocess.run(
                [hanko, "sign", "-d", s["d"], "-s", sel, "-k",
                 os.path.join(keydir, "good.private")],
                input=msg, stdout=subprocess.PIPE, check=True).stdout
        with open(os.path.join(out, "msgs", n + ".eml"), "wb") as fh:
            fh.write(msg)
        sp = c["spf"]
        ip = FAIL_IP if sp["res"] == "fail" else PASS_IP
        with open(os.path.join(out, "env", n + ".eml.env"), "w") as fh:
            fh.write("ip=%s\nhelo=mta.h%s.example\nmail-from=bounce@%s\n"
                     % (ip, n, sp["d"]))
        c["ip"] = ip

    with ThreadPoolExecutor(max_workers=4) as ex:
        list(ex.map(build, cases))

    lines = []
    for c in cases:
        sp = c["spf"]
        dk = ",".join("%s:%s:%s" % (s["d"], "s1" if s["res"] == "pass"
                                    else "bad", s["res"])
                      for s in reversed(c["sigs"])) or "-"
        # The From domain goes to libopendmarc in lower case, as a DNS
        # resolver would treat it: its fake DNS and PSL lookups are case
        # sensitive. hanko gets the message as written.
        lines.append("\t".join([c["name"], c["ip"], c["from"].lower(),
                                "%s:%s:mailfrom" % (sp["d"], sp["res"]), dk]))
        c["sigs"] = list(reversed(c["sigs"]))  # header order
    with open(os.path.join(out, "cases.tsv"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "meta.json"), "w") as fh:
        json.dump(cases, fh, indent=1)


if __name__ == "__main__":
    main()
