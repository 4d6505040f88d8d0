#!/usr/bin/env python3
"""Checks for tests/sh/deliver.sh over what tests/smtp_server.py saved.

  deliver_check.py envelopes OUT      one line per transaction, sorted:
                                      NAME <from> rcpt,rcpt
  deliver_check.py wire OUT ORIG      every transaction: CRLF only, dot-
                                      stuffed, and the message after the
                                      signature fields is ORIG/NAME with
                                      CRLF line endings (tab report lines)
  deliver_check.py dump OUT DIR       each message to DIR/NAME.N.eml
  deliver_check.py dups OUT           "COPIES TOTAL": recipient copies
                                      delivered more than once, and all
NAME is the message's X-Name field.
"""
import base64
import glob
import json
import os
import re
import sys


def load(out):
    for p in sorted(glob.glob(os.path.join(out, "*.json"))):
        with open(p) as f:
            d = json.load(f)
        d["wire"] = base64.b64decode(d["wire"])
        d["data"] = base64.b64decode(d["data"])
        m = re.search(rb"^X-Name: (\S+)\r$", d["data"], re.M)
        d["name"] = m.group(1).decode() if m else "?"
        yield d


def crlf(b):
    return re.sub(rb"\r\n|\r|\n", b"\r\n", b)


def unsigned(data):
    """The message without the DKIM-Signature fields hanko put first."""
    lines = data.split(b"\r\n")
    i = 0
    while i < len(lines) and (lines[i].startswith(b"DKIM-Signature:") or
                              (i > 0 and lines[i][:1] in (b" ", b"\t"))):
        i += 1
    return b"\r\n".join(lines[i:])


def wire(out, orig):
    n = 0
    for d in load(out):
        n += 1
        w, name = d["wire"], d["name"]
        bad = []
        if re.search(rb"\r(?!\n)|(?<!\r)\n", w):
            bad.append("a bare CR or LF on the wire")
        body = w[:-3] if w.endswith(b"\r\n.\r\n") else None
        if body is None:
            bad.append("no CRLF.CRLF at the end")
        else:
            for line in body.split(b"\r\n"):
                if line.startswith(b".") and not line.startswith(b".."):
                    bad.append("a line starting with a single dot")
                    break
        with open(os.path.join(orig, name), "rb") as f:
            want = crlf(f.read())
        if not want.endswith(b"\r\n"):
            want += b"\r\n"
        got = unsigned(d["data"])
        if b"\r\nBcc:" in b"\r\n" + got.split(b"\r\n\r\n")[0]:
            bad.append("a Bcc field was sent")
        want_nobcc = re.sub(rb"(?m)^Bcc:.*\r\n", b"", want)
        if got != want_nobcc:
            bad.append("content differs: got %r want %r" %
                       (got[:120], want_nobcc[:120]))
        if bad:
            print("fail\twire %s\t%s" % (name, "\t".join(bad)))
        else:
            print("ok\twire %s: CRLF, dot-stuffed, content exact" % name)
    if n == 0:
        print("fail\twire: no transaction at all")


def main():
    cmd, out = sys.argv[1], sys.argv[2]
    if cmd == "envelopes":
        rows = ["%s <%s> %s%s" % (d["name"], d["mail_from"],
                                  ",".join(d["rcpts"]),
                                  " tls" if d.get("tls") else "")
                for d in load(out)]
        print("\n".join(sorted(rows)))
    elif cmd == "wire":
        wire(out, sys.argv[3])
    elif cmd == "dump":
        for i, d in enumerate(load(out)):
            with open(os.path.join(sys.argv[3], "%s.%d.eml" %
                                   (d["name"], i)), "wb") as f:
                f.write(d["data"])
    elif cmd == "dups":
        seen, dup, total = {}, 0, 0
        for d in load(out):
            for r in d["rcpts"]:
                k = (d["name"], r)
                total += 1
                if k in seen:
                    dup += 1
                seen[k] = 1
        print(dup, total)


if __name__ == "__main__":
    main()
