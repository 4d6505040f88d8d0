#!/usr/bin/env python3
"""Check hanko report --html as Chromium saw it, for tests/sh/report_html.sh.

  html_check.py DOM JSON PNG

DOM is Chromium's --dump-dom of the page, JSON hanko report --json over the
same store, PNG Chromium's --screenshot. Prints "ok\\tNAME" or
"fail\\tNAME\\tDETAIL" lines (tests/lib.sh tab_report)."""
import html.parser
import json
import struct
import sys
import zlib


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.domain = None
        self.days = {}      # domain -> [(day, class, count)]
        self.rates = {}     # domain -> [(ip, rate, count)]
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-domain" in a:
            self.domain = a["data-domain"]
        if tag == "rect" and a.get("class") in ("pass", "fail"):
            self.days.setdefault(self.domain, []).append(
                (a["data-day"], a["class"], int(a["data-count"])))
        if tag == "rect" and a.get("class") == "rate":
            self.rates.setdefault(self.domain, []).append(
                (a["data-ip"], float(a["data-rate"]), int(a["data-count"])))
        for k in ("src", "href"):
            if k in a:
                self.external.append(a[k])
        if tag in ("script", "link", "img", "iframe"):
            self.external.append(tag)


def png_pixels(path):
    """RGB(A) 8-bit, non-interlaced PNG -> (width, height, rows of bytes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and ctype in (2, 6) and interlace == 0, "PNG format"
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up = prev[x]
            ul = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + left) & 255
            elif f == 2:
                line[x] = (line[x] + up) & 255
            elif f == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif f == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pr = left if pa <= pb and pa <= pc else up if pb <= pc else ul
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def report(ok, name, detail=""):
    print(("ok\t%s" % name) if ok else ("fail\t%s\t%s" % (name, detail)))


def main(dom_path, json_path, png_path):
    d = Dom()
    d.feed(open(dom_path, encoding="utf-8").read())
    j = json.load(open(json_path))
    doms = j["domains"]
    report(sorted(d.days) == sorted(doms), "html: one section per domain",
           "%s vs %s" % (sorted(d.days), sorted(doms)))
    for name, t in sorted(doms.items()):
        bars = d.days.get(name, [])
        total = sum(c for _, _, c in bars)
        passed = sum(c for _, k, c in bars if k == "pass")
        report(total == t["messages"] and passed == t["dmarc_pass"],
               "html: %s day bars add up to %d messages, %d passing"
               % (name, t["messages"], t["dmarc_pass"]),
               "bars %d / %d" % (total, passed))
        src = d.rates.get(name, [])
        report(len(src) > 0 and sum(c for _, _, c in src) <= t["messages"],
               "html: %s has pass-rate bars per source" % name, str(src))
    days = {day for v in d.days.values() for day, _, _ in v}
    report(len(days) >= 2, "html: messages plotted on %d days" % len(days),
           str(days))
    report(not d.external, "html: self-contained (no script, link, img)",
           str(d.external))
    w, h, bpp, rows = png_pixels(png_path)
    want = {"green pass bars": (0x2e, 0x7d, 0x32),
            "red fail bars": (0xc6, 0x28, 0x28),
            "blue rate bars": (0x15, 0x65, 0xc0)}
    seen = {k: 0 for k in want}
    for line in rows:
        for x in range(0, w * bpp, bpp):
            px = tuple(line[x:x + 3])
            for k, c in want.items():
                if all(abs(px[i] - c[i]) <= 8 for i in range(3)):
                    seen[k] += 1
    for k, n in seen.items():
        report(n > 50, "screenshot: %s are drawn (%d pixels)" % (k, n), "")


main(*sys.argv[1:])
