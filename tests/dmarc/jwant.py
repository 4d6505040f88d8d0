#!/usr/bin/python3
"""Assert fields of hanko's --json output (for tests/sh/dmarc_scenarios.sh).

    jwant.py FILE [N] PATH=VALUE...

FILE holds one JSON object per line; N (default 0) picks the line. PATH
is dotted (dmarc.result, dkim.0.aligned, envelope.ip); VALUE is compared
with the field as JSON text (true, false, null, 3) or, for a string, as
the string itself. PATH~TEXT passes when the string field contains TEXT;
PATH# compares the length of a list. Prints every mismatch; exit 1 if any.
"""
import json
import sys


def get(obj, path):
    for p in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(p)]
        elif isinstance(obj, dict):
            if p not in obj:
                raise KeyError(path)
            obj = obj[p]
        else:
            raise KeyError(path)
    return obj


def text(v):
    return v if isinstance(v, str) else json.dumps(v)


def main():
    args = sys.argv[1:]
    lines = [l for l in open(args.pop(0)) if l.strip()]
    n = int(args.pop(0)) if args and args[0].isdigit() else 0
    if n >= len(lines):
        print("no object %d (%d lines)" % (n, len(lines)))
        return 1
    obj = json.loads(lines[n])
    bad = 0
    for a in args:
        op = "~" if "~" in a and ("=" not in a or a.index("~") <
                                  a.index("=")) else "="
        path, want = a.split(op, 1)
        try:
            if path.endswith("#"):
                got = str(len(get(obj, path[:-1])))
            else:
                got = text(get(obj, path))
        except (KeyError, IndexError, ValueError):
            print("%s: missing" % path)
            bad += 1
            continue
        if (op == "=" and got != want) or (op == "~" and want not in got):
            print("%s: got %r, want %s%r" % (path, got,
                                             "" if op == "=" else "~", want))
            bad += 1
    if bad:
        print("object: " + lines[n].strip()[:600])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
