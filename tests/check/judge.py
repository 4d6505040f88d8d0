#!/usr/bin/python3
"""judge.py NAME EXPECTED EXIT < hanko-check.json
judge.py --list FILE      (lines NAME<TAB>EXPECTED<TAB>EXIT<TAB>JSONFILE)

A `hanko check --json` object against one line of tests/check/expect:
EXPECTED is "clean" or severity/kind/code items (space separated); every
warning and error must be listed and every listed item present, "clean"
means no warning and no error. The exit status must be 1 with an error,
else 0. Prints tab_report lines ("ok<TAB>name", "fail<TAB>name<TAB>why").
"""
import json
import sys


def main(argv):
    if argv[1] == "--list":
        with open(argv[2]) as f:
            for line in f:
                name, expected, status, path = line.rstrip("\n").split("\t")
                with open(path) as j:
                    judge(name, expected.split(), int(status), j.read())
        return 0
    judge(argv[1], argv[2].split(), int(argv[3]), sys.stdin.read())
    return 0


def judge(name, expected, status, text):
    try:
        obj = json.loads(text)
    except ValueError as e:
        print("fail\t%s: valid JSON\t%s" % (name, e))
        return
    got = set()
    for f in obj.get("findings", []):
        got.add("%s/%s/%s" % (f["severity"], f["kind"], f["code"]))
        sel = f.get("selector")
        if (f["kind"] == "dkim") != (sel is not None):
            print("fail\t%s: selector on DKIM findings only\t%r" % (name, f))
            return
    want = set(x for x in expected if x != "clean")
    bad = set(g for g in got if not g.startswith("ok/"))
    want_bad = set(w for w in want if not w.startswith("ok/"))
    missing = want - got
    extra = bad - want_bad
    if missing or extra:
        print("fail\t%s: findings\tmissing %s\tunexpected %s\tgot %s" % (
            name, sorted(missing), sorted(extra), sorted(got)))
    else:
        print("ok\t%s: %s" % (name, " ".join(sorted(want)) or "clean"))
    errors = any(g.startswith("error/") for g in got)
    if status != (1 if errors else 0):
        print("fail\t%s: exit status\t%d, want %d" % (
            name, status, 1 if errors else 0))


sys.exit(main(sys.argv))
