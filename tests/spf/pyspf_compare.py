#!/usr/bin/python3
"""pyspf_compare.py - hanko spf against pyspf (Debian python3-spf) on the
same DNS data.

    /usr/bin/python3 tests/spf/pyspf_compare.py suite  ZONEDIR
    /usr/bin/python3 tests/spf/pyspf_compare.py random HANKO WORKDIR
        [--seed S] [--worlds W] [--per-world C] [--jobs J] [--minimize]
    /usr/bin/python3 tests/spf/pyspf_compare.py one ZONE IP MAILFROM HELO

Both sides read the same master file: hanko through --dns-zone, pyspf
through a DNSLookup replacement (the hook pyspf's own test driver uses)
that parses the file and answers as io/zone.c does (zone.h): CNAMEs are
followed (8 hops at most, a loop or longer chain is a temporary error, as
a resolver's SERVFAIL), a TXT "HANKO-TEMPFAIL" at a name makes every query
reaching it a temporary error, names match case-insensitively. Answers
are shaped as pyspf's dnspython driver returns them (keyed by the query
name; TXT as lists of byte strings; PTR and MX targets without the
trailing dot), except the null MX ".", which is given as "" as in pyspf's
own test driver: with dnspython pyspf 2.0.14 raises a bare Exception
("Invalid query") on it instead of ignoring the exchange.

pyspf runs in its RFC 7208 mode: query(strict=True) (strict=2, "harsh",
adds non-RFC ambiguity results; False is lax RFC 4408 processing),
querytime=0 (no global time limit), MAX_VOID_LOOKUPS 2, MAX_LOOKUP 10.

suite:  run pyspf over tests/spf/yml2zone.py's output (ZONEDIR/N.zone and
        cases.tsv): checks the converter, since pyspf's own driver passes
        all 203 tests of the YAML directly.
random: a seeded random corpus. W worlds (one zone each) of interlinked
        domains with random SPF records over a grammar of every mechanism
        and modifier, CIDRs, macros with transformers and delimiters,
        qualifiers and invalid syntax; A/AAAA/MX/PTR/TXT data with
        includes, loops, void lookups, over-limit records, CNAMEs and
        temporary failures; C queries per world with IPv4, IPv6 and
        IPv4-mapped clients, senders (null included) and HELO names.
        Every case runs through `hanko spf --json` and pyspf; results are
        compared, and explanations when both give fail with an exp= text.
        A disagreement is "explained" only when a rule below recognises a
        documented difference; the rest are printed with a reproducer
        (--minimize shrinks the zone to the lines the disagreement needs).
one:    print pyspf's verdict for one query (for reproducers).

Output: "ok<TAB>name", "fail<TAB>name<TAB>detail" and "# ..." lines, which
tests/sh/interop_pyspf.sh turns into assertions.
"""

import collections
import concurrent.futures
import inspect
import ipaddress
import json
import os
import random
import re
import subprocess
import sys

import spf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yml2zone  # noqa: E402  (zone_name, txt_rdata)

RECEIVER = "receiver.example"
NOW = 1700000000        # %{t}: hanko --time and pyspf's q.t
DEFAULT_EXP = "PYSPF-DEFAULT-EXPLANATION"
MAX_CNAME_HOPS = 8      # RESOLV_ZONE_MAX_CNAME


# ---------------------------------------------------------------------------
# Master files: the subset yml2zone.py and this script write.

def unescape(s):
    """Master-file text (no quotes) with \\DDD and \\X escapes -> bytes."""
    out = bytearray()
    i = 0
    b = s.encode("latin-1")
    while i < len(b):
        c = b[i]
        if c == 0x5c and i + 1 < len(b):
            if b[i + 1:i + 4].isdigit() and len(b[i + 1:i + 4]) == 3:
                out.append(int(b[i + 1:i + 4]))
                i += 4
            else:
                out.append(b[i + 1])
                i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def tokens(line):
    """Split one master-file line into tokens; quoted strings are
    ('q', text). A ';' outside quotes ends the line."""
    out = []
    i = 0
    while i < len(line):
        c = line[i]
        if c in " \t":
            i += 1
        elif c == ";":
            break
        elif c == '"':
            j = i + 1
            while j < len(line) and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            if j >= len(line):
                raise ValueError("unterminated string: " + line)
            out.append(("q", line[i + 1:j]))
            i = j + 1
        else:
            j = i
            while j < len(line) and line[j] not in " \t;\"":
                j += 2 if line[j] == "\\" else 1
            out.append(("w", line[i:j]))
            i = j
    return out


def norm_name(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    b = b.lower()
    if b.endswith(b".") and b != b".":
        b = b[:-1]
    return b


class Zone:
    """Parsed master file: owner (bytes, lower, no dot) -> [(type, value)].
    Values: A/AAAA str, MX (pref, target bytes), PTR/CNAME bytes, TXT list
    of bytes (the character-strings of one RR)."""

    def __init__(self, text):
        self.rrs = collections.OrderedDict()
        for line in text.splitlines():
            t = tokens(line)
            if not t or t[0][1].startswith("$"):
                continue
            owner = norm_name(unescape(t[0][1]))
            if owner == b".":
                owner = b""
            if len(t) < 3 or t[1][1].upper() != "IN":
                raise ValueError("unsupported line: " + line)
            typ = t[2][1].upper()
            rd = t[3:]
            if typ == "TXT":
                val = [unescape(x[1]) for x in rd]
            elif typ == "MX":
                val = (int(rd[0][1]), self._target(rd[1][1]))
            elif typ in ("PTR", "CNAME"):
                val = self._target(rd[0][1])
            elif typ == "A":
                val = str(ipaddress.IPv4Address(rd[0][1]))
            elif typ == "AAAA":
                val = str(ipaddress.IPv6Address(rd[0][1]))
            else:
                raise ValueError("unsupported type: " + line)
            self.rrs.setdefault(owner, []).append((typ, val))
        self.ents = set()
        for o in self.rrs:
            labels = o.split(b".")
            for k in range(1, len(labels)):
                self.ents.add(b".".join(labels[k:]))

    @staticmethod
    def _target(w):
        n = norm_name(unescape(w))
        return b"" if n == b"." else n

    def resolve(self, name, qtype):
        """('ok', [values]) / ('nxdomain'|'nodata'|'tempfail', [])."""
        n = norm_name(name)
        for _ in range(MAX_CNAME_HOPS + 1):
            recs = self.rrs.get(n)
            if recs is None:
                return ("nodata" if n in self.ents else "nxdomain", [])
            if any(t == "TXT" and v == [b"HANKO-TEMPFAIL"] for t, v in recs):
                return ("tempfail", [])
            vals = [v for t, v in recs if t == qtype]
            if vals:
                return ("ok", vals)
            cn = [v for t, v in recs if t == "CNAME"]
            if not cn:
                return ("nodata", [])
            if not cn[0]:
                return ("nxdomain", [])
            n = cn[0]
        return ("tempfail", [])


def pyspf_lookup(zone):
    """A replacement for spf.DNSLookup answering from zone."""
    def lookup(name, qtype, strict=True, timeout=None):
        rc, vals = zone.resolve(name, qtype)
        if rc == "tempfail":
            raise spf.TempError("DNS timeout (HANKO-TEMPFAIL)")
        out = []
        for v in vals:
            if qtype in ("PTR",):
                v = v.decode("latin-1")
            elif qtype == "MX":
                v = (v[0], v[1].decode("latin-1"))
            elif qtype in ("TXT", "SPF"):
                v = list(v)
            out.append(((name, qtype), v))
        return out
    return lookup


def _patched(func, edits):
    """func recompiled from pyspf's own source with exact text edits (each
    must match once: a different pyspf fails loudly here)."""
    lines = inspect.getsource(func).splitlines(True)
    ind = len(lines[0]) - len(lines[0].lstrip())
    src = "".join(l[ind:] if not l[:ind].strip() else l for l in lines)
    for old, new in edits:
        if src.count(old) != 1:
            raise RuntimeError("pyspf %s: %r not found once"
                               % (func.__name__, old))
        src = src.replace(old, new)
    ns = {}
    exec(compile(src, spf.__file__, "exec"), spf.__dict__, ns)
    return ns[func.__name__]


# Corrections made by editing pyspf's own source: fix -> (method, edits).
EDITS = {
    "redirect-counted-when-followed": ("check0", [
        ("elif mod == 'redirect':\n            self.check_lookups()\n",
         "elif mod == 'redirect':\n"),
        ("redirect_record = self.dns_spf(redirect)",
         "self.check_lookups(); redirect_record = self.dns_spf(redirect)"),
    ]),
    "unknown-modifier-may-repeat": ("check0", [
        ("        if mod in modifiers:\n",
         "        if mod in modifiers and mod in ('redirect', 'exp'):\n"),
    ]),
    "macro-truncation-whole-labels": ("expand", [
        ("        if len(result) > 253:\n"
         "            result = result[(result.index('.')+1):]",
         "        while len(result) > 253 and '.' in result:\n"
         "            result = result[(result.index('.')+1):]"),
    ]),
    "macro-digit-zero-is-syntax-error": ("expand", [
        ("            letter = macro[2].lower()\n",
         "            letter = macro[2].lower()\n"
         "            _n = re.match('[0-9]*', macro[3:-1]).group()\n"
         "            if _n and int(_n) == 0:\n"
         "                raise PermError('zero DIGIT transformer', macro)\n"),
    ]),
    "macro-delimiters-join-dot": ("expand", [
        ("JOINERS.get(letter)", "'.'"),
    ]),
    "include-own-domain-is-no-syntax-error": ("validate_mechanism", [
        ("            if arg == self.d:\n"
         "                if mech != 'include':\n"
         "                    raise PermError('include has trivial "
         "recursion', mech)\n"
         "                raise PermError",
         "            if arg == self.d and ':' not in mech:\n"
         "                raise PermError"),
    ]),
}
_patch_cache = {}


def _method(name, fixes):
    edits = []
    for f in sorted(fixes):
        if f in EDITS and EDITS[f][0] == name:
            edits += EDITS[f][1]
    key = (name, tuple(edits))
    if key not in _patch_cache:
        func = getattr(spf.query, name)
        _patch_cache[key] = _patched(func, edits) if edits else func
    return _patch_cache[key]


for _f, (_m, _e) in EDITS.items():     # every edit applies to this pyspf
    _method(_m, [_f])


class FixedQuery(spf.query):
    """pyspf with some of its known departures from RFC 7208 corrected,
    named in self.fixes. Used only to explain a difference: if pyspf with
    the fixes gives hanko's answer, those departures are the difference."""

    fixes = frozenset()

    def check0(self, spf_txt, recursion):
        return _method("check0", self.fixes)(self, spf_txt, recursion)

    def expand(self, s, stripdot=True):
        return _method("expand", self.fixes)(self, s, stripdot)

    def validate_mechanism(self, mech):
        return _method("validate_mechanism", self.fixes)(self, mech)

    def _addr(self, name):
        """Address lookup of an MX or PTR name."""
        if not name:
            return []
        if "void-lookups-per-term" in self.fixes:
            return self.dns(name, self.A, ignore_void=True)
        return self.dns_a(name, self.A)

    def validated_ptrs(self):
        fx = self.fixes
        if not fx & {"ptr-dns-error-skips", "void-lookups-per-term"}:
            return spf.query.validated_ptrs(self)
        skip = "ptr-dns-error-skips" in fx
        # RFC 7208 5.5: an error on the PTR lookup makes the mechanism
        # not match; an error on a name's A/AAAA lookup skips that name.
        try:
            names = self.dns("%s.%s.arpa" % (spf.reverse_dots(self.i),
                                             self.v), "PTR",
                             ignore_void=getattr(self, "_in_p", False))
        except spf.TempError:
            if skip:
                return []
            raise
        out = []
        for p in names[:spf.MAX_PTR]:
            try:
                addrs = self._addr(p)
            except spf.TempError:
                if skip:
                    continue
                raise
            if self.cidrmatch(addrs, self.cidrmax):
                out.append(p)
        return out

    def getp(self):
        if "void-lookups-per-term" not in self.fixes:
            return spf.query.getp(self)
        self._in_p = True       # %{p}'s lookups belong to no term
        try:
            return spf.query.getp(self)
        finally:
            self._in_p = False

    def dns_mx(self, domainname):
        fx = self.fixes
        if not fx & {"mx-hosts-in-answer-order-until-match",
                     "void-lookups-per-term"}:
            return spf.query.dns_mx(self, domainname)
        mxnames = self.dns(domainname, "MX")
        if len(mxnames) > spf.MAX_MX:
            raise spf.PermError("More than %d MX records returned"
                                % spf.MAX_MX)
        if "mx-hosts-in-answer-order-until-match" in fx:
            return (a for mx in mxnames for a in self._addr(mx[1]))
        mxnames.sort()
        return [a for mx in mxnames for a in self._addr(mx[1])]

    def cidrmatch(self, ipaddrs, n):
        if isinstance(ipaddrs, list):
            return spf.query.cidrmatch(self, ipaddrs, n)
        for ip in ipaddrs:      # lazily: stop at the first match
            if spf.query.cidrmatch(self, [ip], n):
                return True
        return False


# Known departures of pyspf 2.0.14 (strict=True) from RFC 7208 (or choices
# where the RFC leaves room and pyspf differs from hanko), each with the
# correction that makes pyspf agree with hanko. A disagreement counts as
# explained only if pyspf with one of these, or a pair of them, returns
# hanko's verdict.
FIXES = collections.OrderedDict([
    ("ptr-dns-error-skips",
     "pyspf turns a temporary DNS error during the ptr mechanism (the PTR "
     "lookup or a name's address lookup) or the %{p} macro into temperror; "
     "RFC 7208 5.5 says the mechanism then does not match / the name is "
     "skipped, and 7.3 gives %{p} the value \"unknown\" (rfc7208-tests "
     "ptr-cname-loop expects neutral)"),
    ("void-lookups-per-term",
     "pyspf counts every empty DNS answer as a void lookup, the address "
     "lookups of MX and PTR names and the %{p} macro's lookups included; "
     "RFC 7208 4.6.4 limits the terms whose DNS query is void, and hanko "
     "counts each mechanism's own query (MX, PTR, A/AAAA, exists, "
     "include/redirect TXT) only"),
    ("mx-hosts-in-answer-order-until-match",
     "pyspf sorts MX names by preference and looks up all their addresses "
     "before matching, so a temporary error on any of them is temperror; "
     "hanko also goes by preference but stops at the first match. "
     "RFC 7208 5.4 gives no order and does not ask for every lookup"),
    ("unknown-modifier-may-repeat",
     "pyspf rejects a repeated unknown modifier (\"moo= MUST appear at most "
     "once\"); RFC 7208 6 limits only redirect= and exp= to one each and "
     "says unrecognized modifiers MUST be ignored no matter how often"),
    ("redirect-counted-when-followed",
     "pyspf counts redirect= against the 10-lookup limit when it parses "
     "the record, even when a mechanism matches and the redirect is never "
     "followed; RFC 7208 4.6.4 limits the terms that cause DNS queries, "
     "and an unused redirect queries nothing (the suite leaves when to "
     "count open)"),
    ("macro-truncation-whole-labels",
     "pyspf drops only the first label of a macro expansion longer than "
     "253 octets; RFC 7208 7.3 drops left-hand labels until it fits"),
    ("macro-digit-zero-is-syntax-error",
     "pyspf accepts a zero DIGIT transformer (%{d0}) and drops the first "
     "label; RFC 7208 7.3: if a DIGIT is specified, the value MUST be "
     "nonzero, so the record has a syntax error (permerror)"),
    ("macro-delimiters-join-dot",
     "pyspf rejoins a macro split on custom delimiters with the original "
     "delimiter except for %{l} and %{s}; RFC 7208 7.3 rejoins with '.' "
     "for every macro letter"),
    ("include-own-domain-is-no-syntax-error",
     "pyspf rejects include:<own domain> (\"trivial recursion\") as a "
     "syntax error before evaluating anything; RFC 7208 has no such rule: "
     "the loop ends at the lookup limit, and a mechanism that matches "
     "before it decides the result"),
])


def pyspf_check(zone, ip, mailfrom, helo, fixes=()):
    spf.DNSLookup = pyspf_lookup(zone)
    q = FixedQuery(i=ip, s=mailfrom, h=helo, receiver=RECEIVER,
                   strict=True, querytime=0)
    q.fixes = frozenset(fixes)
    q.t = str(NOW)
    q.set_default_explanation(DEFAULT_EXP)
    res, _code, exp = q.check()
    if res != "fail" or exp == DEFAULT_EXP:
        exp = None
    return res, exp, q


def explain_by_fix(zone, ip, mailfrom, helo, want_res, want_exp):
    """The name of the fix (or "fix+fix" pair) under which pyspf gives
    (want_res, and want_exp when pyspf has an exp= text), or None."""
    names = list(FIXES)
    trials = [(f,) for f in names] + [
        (f, g) for i, f in enumerate(names) for g in names[i + 1:]]
    for fixes in trials:
        try:
            res, exp, _q = pyspf_check(zone, ip, mailfrom, helo, fixes)
        except Exception:
            continue
        if res == want_res and (exp is None or exp == want_exp):
            return "+".join(fixes)
    return None


# ---------------------------------------------------------------------------
# suite: pyspf over yml2zone.py's zones.

def cmd_suite(zdir):
    zones = {}
    good = total = explained = 0
    for line in open(os.path.join(zdir, "cases.tsv")):
        n, scen, name, host, mfrom, helo, results, expl = \
            line.rstrip("\n").split("\t")
        if n not in zones:
            with open(os.path.join(zdir, n + ".zone"), encoding="latin-1") \
                    as f:
                zones[n] = Zone(f.read())
        res, exp, q = pyspf_check(zones[n], host, mfrom, helo)
        total += 1
        why = None
        if res not in results.split(","):
            fix = None
            for r in results.split(","):
                fix = fix or explain_by_fix(zones[n], host, mfrom, helo, r,
                                            None)
            if fix:
                explained += 1
                print("# pyspf on the converted zones: %s: %s: pyspf %s, "
                      "want %s: explained, %s" % (scen, name, res, results,
                                                  fix))
                continue
            why = "pyspf: %s, want %s (%s)" % (res, results,
                                               getattr(q, "prob", ""))
        elif expl and expl != "DEFAULT" and exp != expl:
            why = "pyspf explanation %r, want %r" % (exp, expl)
        if why:
            print("# pyspf on the converted zones: %s: %s: %s"
                  % (scen, name, why))
        else:
            good += 1
    assertion("pyspf passes the RFC 7208 suite from yml2zone.py's zones "
              "(%d/%d, %d explained)" % (good, total, explained),
              good + explained == total, "see above")


# ---------------------------------------------------------------------------
# random: the generator.

V4POOL = ["192.0.2.%d" % k for k in range(1, 13)] + \
    ["198.51.100.%d" % k for k in (1, 7, 130, 255)]
V6POOL = ["2001:db8::%x" % k for k in range(1, 9)] + \
    ["2001:db8:1::1", "2001:db8:ffff::beef"]
LOCALS = ["user", "jack&jill=up", "a.b-c", "postmaster", "first+tag",
          "UPPER.case", "x"]


class World:
    """One zone: names, records, and the queries run against it."""

    def __init__(self, rnd, w):
        self.r = rnd
        self.sfx = "w%d.example" % w
        self.doms = ["d%d.%s" % (i, self.sfx) for i in range(14)]
        self.nx = ["nx%d.%s" % (i, self.sfx) for i in range(4)]
        self.cn = ["c%d.%s" % (i, self.sfx) for i in range(4)]
        self.exps = ["e%d.%s" % (i, self.sfx) for i in range(5)]
        self.tf = "tf." + self.sfx
        self.rr = collections.OrderedDict()     # owner -> [(type, rdata)]

    def add(self, owner, typ, rdata):
        self.rr.setdefault(owner, []).append((typ, rdata))

    def pick(self, seq):
        return self.r.choice(seq)

    # --- domain-specs and macros -----------------------------------------
    def target(self):
        r = self.r.random()
        if r < 0.55:
            return self.pick(self.doms)
        if r < 0.65:
            return self.pick(self.nx)
        if r < 0.72:
            return self.pick(self.cn)
        if r < 0.76:
            return self.tf
        if r < 0.78:
            return self.pick(self.doms).upper() + "."
        return self.macro_spec()

    def macro_spec(self):
        s = self.sfx
        return self.pick([
            "%{d}", "%{o}", "%{h}", "%{d2}", "%{d1r}.rev." + s,
            "%{ir}.%{v}.ex." + s, "%{i}.ex." + s, "%{l}.lp." + s,
            "%{l1r-}.lp." + s, "%{lr+=}.lp." + s, "%{s}.sp." + s,
            "%{d3r}.%{d}", "%{o2}.%{h1}", "%{ir}.%{v}.arpa",
            "%{D}", "%{L}.lp." + s, "%{dr-.}.rev." + s, "%{p}.pv." + s,
            "%{d}.", "%%.%_.%-.nx." + s, "%{d0}", "%{d9}",
            "%{i2r}.ex." + s,
        ])

    def bad_term(self):
        return self.pick([
            "foo", "a:", "mx:", "ip4:192.0.2", "ip4:192.0.2.1/33",
            "ip4:192.0.2.256", "ip4:192.0.2.01", "ip4:192.0.2.0/024",
            "ip6:2001:db8::zz", "ip6:2001:db8::1/129", "a//129", "mx/33",
            "a/24//64//1", "exists:", "exists", "include:", "include",
            "ptr:", "%{x}", "a:%{x}." + self.sfx, "a:%{t}." + self.sfx,
            "a:%{c}." + self.sfx, "a:%{r}." + self.sfx, "a:%q." + self.sfx,
            "a:%{d." + self.sfx, "a:foo%" , "-all:x", "=all", "+-all",
            "redirect=", "exp=", "moo=%{z}", "a:d1.example.1",
            "a:192.0.2.1", "a:" + self.pick(self.doms) + ",", "ip4:",
            "ip6:", "ip6:192.0.2.1", "all/24", "ptr/24",
            "v=spf1", "a:%-bad." + self.sfx, "%{d}", "exists:%{i",
        ])

    def cidr4(self):
        return self.pick(["", "", "", "/32", "/31", "/24", "/16", "/0",
                          "/28", "/30"])

    def cidr6(self):
        return self.pick(["", "", "//128", "//64", "//112", "//0",
                          "//126"])

    def term(self):
        q = self.pick(["", "", "", "+", "-", "~", "?"])
        k = self.r.random()
        if k < 0.14:
            a = self.pick(V4POOL + ["203.0.113.9", "192.0.2.0"])
            return q + "ip4:" + a + self.cidr4()
        if k < 0.22:
            a = self.pick(V6POOL + ["::ffff:192.0.2.3", "2001:db8::"])
            return q + "ip6:" + a + self.pick(
                ["", "", "/128", "/64", "/126", "/0", "/96", "/112"])
        if k < 0.36:
            t = "" if self.r.random() < 0.35 else ":" + self.target()
            return q + "a" + t + self.cidr4() + self.cidr6()
        if k < 0.46:
            t = "" if self.r.random() < 0.35 else ":" + self.target()
            return q + "mx" + t + self.cidr4() + self.cidr6()
        if k < 0.51:
            t = "" if self.r.random() < 0.5 else ":" + self.target()
            return q + "ptr" + t
        if k < 0.59:
            return q + "exists:" + self.pick(
                [self.target(), self.macro_spec(), "%{ir}.%{v}.ex." +
                 self.sfx, "%{i}.ex." + self.sfx])
        if k < 0.72:
            return q + "include:" + self.target()
        if k < 0.77:
            return "redirect=" + self.target()
        if k < 0.82:
            return "exp=" + self.pick(self.exps + self.exps +
                                      [self.pick(self.nx), self.tf,
                                       "%{d1}." + self.exps[0]])
        if k < 0.89:
            return self.pick(["moo=bar", "x-y.z=%{d}", "ra=foo", "op=nopass",
                              "match.sub-domains_9=yes"])
        if k < 0.92:
            return self.bad_term()
        return q + self.pick(["all", "all", "ALL", "A", "Mx"])

    def record(self):
        n = self.r.choice([0, 1, 2, 2, 3, 3, 4, 5, 6, 8, 12])
        terms = [self.term() for _ in range(n)]
        if self.r.random() < 0.7:
            terms.append(self.pick(["-all", "-all", "~all", "?all", "+all",
                                    "all"]))
        v = self.pick(["v=spf1"] * 20 + ["V=SPF1", "v=spf1 ", "v=spf10",
                                         "v=spf2.0/pra", "spf1"])
        sep = " " if self.r.random() < 0.95 else "  "
        txt = sep.join([v] + terms)
        if self.r.random() < 0.03:
            txt += " "
        return txt

    def txt_rr(self, text):
        """One TXT RR from text, sometimes split in several strings."""
        b = text.encode("latin-1")
        if len(b) > 6 and self.r.random() < 0.2:
            k = self.r.randrange(1, len(b))
            return [b[:k], b[k:]]
        return [b]

    # --- the data -----------------------------------------------------------
    def build(self):
        r = self.r
        for d in self.doms:
            if r.random() < 0.03:
                self.add(d, "TXT", [b"HANKO-TEMPFAIL"])
                continue
            for a in r.sample(V4POOL, r.choice([0, 0, 1, 1, 2, 3])):
                self.add(d, "A", a)
            for a in r.sample(V6POOL, r.choice([0, 0, 1, 2])):
                self.add(d, "AAAA", a)
            k = r.random()
            if k < 0.35:
                for p in range(r.choice([1, 1, 2, 3])):
                    self.add(d, "MX", (r.randrange(0, 20), self.pick(
                        self.doms + self.nx + self.cn)))
            elif k < 0.40:
                for p in range(r.choice([10, 11, 12])):
                    self.add(d, "MX", (p, self.pick(self.doms)))
            elif k < 0.43:
                self.add(d, "MX", (0, ""))
            k = r.random()
            if k < 0.86:
                self.add(d, "TXT", self.txt_rr(self.record()))
            elif k < 0.90:
                self.add(d, "TXT", self.txt_rr(self.record()))
                self.add(d, "TXT", self.txt_rr(self.record()))
            if r.random() < 0.2:
                self.add(d, "TXT", [b"site-verification=%d" % r.randrange(
                    10 ** 6)])
        self.add(self.tf, "TXT", [b"HANKO-TEMPFAIL"])
        # CNAMEs: to a domain, to nowhere, a two-name loop.
        self.add(self.cn[0], "CNAME", self.pick(self.doms))
        self.add(self.cn[1], "CNAME", self.pick(self.nx))
        self.add(self.cn[2], "CNAME", self.cn[3])
        self.add(self.cn[3], "CNAME", self.pick([self.cn[2], self.doms[0],
                                                 self.tf]))
        # Explanations.
        texts = ["%{i} is not one of %{d}'s designated mail servers.",
                 "See http://%{d}/why.html?s=%{S}&i=%{I}",
                 "%{c} via %{r} for %{s} (helo %{h}, %{v}, %{o})",
                 "%{l} at %{o}: %{ir}.%{v}.arpa %% %_ %-",
                 "Not authorized: %{p}", "plain text.", "%{x} bad macro",
                 "%{d2r-}.%{l1r+-}", "%{t}"]
        for e in self.exps:
            k = r.random()
            if k < 0.75:
                self.add(e, "TXT", self.txt_rr(self.pick(texts)))
            elif k < 0.85:
                self.add(e, "TXT", [b"one"])
                self.add(e, "TXT", [b"two"])
            elif k < 0.9:
                self.add(e, "TXT", [b""])
        self.add("e0." + self.exps[0], "TXT", [b"sub-exp %{d}"])
        # PTR records and the exists targets, for the client addresses.
        for ip in V4POOL + V6POOL:
            a = ipaddress.ip_address(ip)
            rev = a.reverse_pointer
            k = r.random()
            if k < 0.45:
                for _ in range(r.choice([1, 1, 2, 3])):
                    self.add(rev, "PTR", self.pick(self.doms + self.nx))
            elif k < 0.5:
                for _ in range(r.choice([11, 12])):
                    self.add(rev, "PTR", self.pick(self.doms))
            if r.random() < 0.3:
                if a.version == 4:
                    n = ".".join(reversed(ip.split("."))) + ".in-addr"
                else:
                    n = ".".join(reversed(a.exploded.replace(":", "")
                                          .upper())) + ".ip6"
                self.add(n + ".ex." + self.sfx, "A", "127.0.0.2")
            if r.random() < 0.15:
                self.add(ip + ".ex." + self.sfx, "A", "127.0.0.2")
        for lp in LOCALS:
            if r.random() < 0.3:
                self.add(lp.lower().replace("&", ".") + ".lp." + self.sfx,
                         "A", "127.0.0.2")

    def zone_text(self):
        lines = ["$TTL 300"]
        for owner, recs in self.rr.items():
            zo = yml2zone.zone_name(owner)
            for typ, rd in recs:
                if typ == "TXT":
                    s = yml2zone.txt_rdata(yml2zone.txt_strings(rd))
                elif typ == "MX":
                    s = "%d %s" % (rd[0], yml2zone.zone_name(rd[1])
                                   if rd[1] else ".")
                elif typ in ("CNAME", "PTR"):
                    s = yml2zone.zone_name(rd)
                else:
                    s = rd
                lines.append("%s IN %s %s" % (zo, typ, s))
        return "\n".join(lines) + "\n"

    def query(self):
        r = self.r
        k = r.random()
        if k < 0.55:
            ip = self.pick(V4POOL)
        elif k < 0.8:
            ip = self.pick(V6POOL)
        elif k < 0.9:
            ip = "::ffff:" + self.pick(V4POOL)
        else:
            ip = self.pick(["203.0.113.9", "2001:db8:2::9", "192.0.2.200",
                            "::1", "10.0.0.1"])
        helo = self.pick(self.doms + ["helo." + self.sfx,
                                      self.pick(self.cn)])
        k = r.random()
        dom = self.pick(self.doms * 6 + self.nx + self.cn + [self.tf])
        if k < 0.08:
            mfrom = ""
        elif k < 0.11:
            mfrom = "@" + dom
        else:
            mfrom = self.pick(LOCALS) + "@" + dom
        return ip, mfrom, helo


# ---------------------------------------------------------------------------
# random: running and comparing.

def run_hanko(hanko, zone, ip, mfrom, helo):
    cmd = [hanko, "spf", "--dns-zone", zone, "--ip", ip, "--mail-from",
           mfrom, "--helo", helo, "--receiver", RECEIVER,
           "--time", str(NOW), "--json"]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    except OSError as e:
        return {"error": "cannot run %s: %s" % (hanko, e)}
    if p.returncode != 0:
        return {"error": "exit %d: %s" % (
            p.returncode, " ".join(p.stderr.decode("utf-8", "replace")
                                   .split())[:300])}
    try:
        o = json.loads(p.stdout)
    except ValueError as e:
        return {"error": "bad JSON: %s: %r" % (e, p.stdout[:200])}
    if p.stderr.strip():
        o["stderr"] = p.stderr.decode("utf-8", "replace")
    return o


def assertion(label, passed, detail):
    if passed:
        print("ok\t" + label)
    else:
        print("fail\t%s\t%s" % (label, detail))


def compare(h, pres, pexp):
    """None when hanko and pyspf agree, else a short description."""
    if "error" in h:
        return "hanko " + h["error"]
    if h.get("result") != pres:
        return "result: hanko %s, pyspf %s" % (h.get("result"), pres)
    if pres == "fail" and pexp is not None and h.get("explanation") != pexp:
        return "explanation: hanko %r, pyspf %r" % (h.get("explanation"),
                                                    pexp)
    return None


def quoted(a):
    return "'%s'" % a if a == "" or re.search(r"[^\w@.:+=/-]", a) else a


def repro_cmd(zone, ip, mfrom, helo):
    return " ".join(quoted(a) for a in [
        "hanko", "spf", "--dns-zone", zone, "--ip", ip, "--mail-from",
        mfrom, "--helo", helo, "--receiver", RECEIVER, "--time", str(NOW),
        "--json"])


def minimize(hanko, zone_text, case, workdir, tag):
    """Greedy: drop zone lines while the disagreement stays the same."""
    ip, mfrom, helo = case
    path = os.path.join(workdir, "min-%s.zone" % tag)

    def same(text):
        with open(path, "w", encoding="latin-1") as f:
            f.write(text)
        h = run_hanko(hanko, path, ip, mfrom, helo)
        pres, pexp, _q = pyspf_check(Zone(text), ip, mfrom, helo)
        return (h.get("result"), pres) == want
    with open(path, "w", encoding="latin-1") as f:
        f.write(zone_text)
    h0 = run_hanko(hanko, path, ip, mfrom, helo)
    p0, _e, _q = pyspf_check(Zone(zone_text), ip, mfrom, helo)
    want = (h0.get("result"), p0)
    lines = zone_text.splitlines()
    i = 1
    while i < len(lines):
        trial = lines[:i] + lines[i + 1:]
        if same("\n".join(trial) + "\n"):
            lines = trial
        else:
            i += 1
    text = "\n".join(lines) + "\n"
    with open(path, "w", encoding="latin-1") as f:
        f.write(text)
    return path, text


def cmd_random(hanko, workdir, seed, worlds, per_world, jobs, do_min):
    os.makedirs(workdir, exist_ok=True)
    rnd = random.Random(seed)
    cases = []
    texts = {}
    for w in range(worlds):
        world = World(rnd, w)
        world.build()
        text = world.zone_text()
        zpath = os.path.join(workdir, "w%d.zone" % w)
        with open(zpath, "w", encoding="latin-1") as f:
            f.write(text)
        texts[zpath] = text
        zone = Zone(text)
        for c in range(per_world):
            cases.append((zpath, zone) + world.query())
    print("# %d cases over %d zones (seed %d) in %s" % (
        len(cases), worlds, seed, workdir))
    print("ok\tgenerated %d cases over %d zones, seed %d" % (
        len(cases), worlds, seed))

    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        hres = list(ex.map(lambda c: run_hanko(hanko, c[0], *c[2:]), cases))

    dist = collections.Counter()
    cats = collections.Counter()
    agree = 0
    unexplained = []
    herrors = []
    for c, h in zip(cases, hres):
        zpath, zone, ip, mfrom, helo = c
        try:
            pres, pexp, q = pyspf_check(zone, ip, mfrom, helo)
        except Exception as e:     # pyspf itself crashed
            pres, pexp, q = "crash:%s" % type(e).__name__, None, None
        dist[pres] += 1
        d = compare(h, pres, pexp)
        if d is None:
            agree += 1
            continue
        if "error" in h:
            herrors.append((c, d))
            continue
        cat = explain_by_fix(zone, ip, mfrom, helo, h.get("result"),
                             h.get("explanation"))
        if cat:
            cats[cat] += 1
        else:
            unexplained.append((c, h, pres, pexp, q, d))

    print("# pyspf results: " + ", ".join(
        "%s %d" % kv for kv in sorted(dist.items())))
    print("# agree: %d/%d; explained differences: %d; unexplained: %d; "
          "hanko errors: %d" % (agree, len(cases), sum(cats.values()),
                                len(unexplained), len(herrors)))
    for name, why in FIXES.items():
        print("#   explained, %s: %d (%s)" % (name, cats[name], why))
    for name in sorted(c for c in cats if "+" in c):
        print("#   explained, %s: %d (both departures)" % (name, cats[name]))
    rare = [r for r in ("pass", "fail", "softfail", "neutral", "none",
                        "permerror", "temperror") if dist[r] < 5]
    assertion("the corpus reaches every SPF result at least 5 times",
              not rare, "too few: " + ",".join(rare))
    for c, d in herrors[:20]:
        print("# hanko error: %s: %s" % (d, repro_cmd(c[0], *c[2:])))
    assertion("hanko spf ran and printed JSON for every case",
              not herrors, "%d cases failed" % len(herrors))
    for n, (c, h, pres, pexp, q, d) in enumerate(unexplained):
        zpath, zone, ip, mfrom, helo = c
        print("# DISAGREE %d: %s" % (n, d))
        print("#   hanko: problem %r, mechanism %r, lookups %s, void %s" % (
            h.get("problem"), h.get("mechanism"), h.get("lookups"),
            h.get("void_lookups")))
        print("#   pyspf: %s (%s), mechanism %r, lookups %s, void %s" % (
            pres, getattr(q, "prob", ""), getattr(q, "mechanism", None),
            getattr(q, "lookups", None), getattr(q, "void_lookups", None)))
        if do_min and n < 40:
            path, text = minimize(hanko, texts[zpath], (ip, mfrom, helo),
                                  workdir, str(n))
            print("#   minimal zone %s:" % path)
            for l in text.splitlines():
                print("#     " + l)
            print("#   " + repro_cmd(path, ip, mfrom, helo))
        else:
            print("#   " + repro_cmd(zpath, ip, mfrom, helo))
    assertion("no unexplained disagreement between hanko and pyspf",
              not unexplained, "%d unexplained" % len(unexplained))


def main(argv):
    if len(argv) >= 3 and argv[1] == "suite":
        cmd_suite(argv[2])
        return 0
    if len(argv) == 6 and argv[1] == "one":
        with open(argv[2], encoding="latin-1") as f:
            zone = Zone(f.read())
        res, exp, q = pyspf_check(zone, argv[3], argv[4], argv[5])
        print(json.dumps({"result": res, "explanation": exp,
                          "problem": getattr(q, "prob", None),
                          "mechanism": q.mechanism, "lookups": q.lookups,
                          "void_lookups": q.void_lookups}))
        return 0
    if len(argv) >= 4 and argv[1] == "random":
        hanko, workdir = argv[2], argv[3]
        opts = {"--seed": 7208, "--worlds": 60, "--per-world": 12,
                "--jobs": 4}
        rest = argv[4:]
        do_min = "--minimize" in rest
        rest = [a for a in rest if a != "--minimize"]
        for k, v in zip(rest[::2], rest[1::2]):
            if k not in opts:
                sys.stderr.write("unknown option %s\n" % k)
                return 64
            opts[k] = int(v)
        cmd_random(hanko, workdir, opts["--seed"], opts["--worlds"],
                   opts["--per-world"], opts["--jobs"], do_min)
        return 0
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
