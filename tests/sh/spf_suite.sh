#!/bin/sh
# The openspf.org RFC 7208 conformance suite (release 2014.04, 16 scenarios,
# 203 tests) through `hanko spf --dns-zone ZONE --json`: every test's result
# must be one the suite accepts, and its explanation must match when the
# suite names one ("DEFAULT" means the implementation's own text: any).
# tests/spf/yml2zone.py turns each scenario's zonedata into a master file;
# its header says how TIMEOUT, SPF-as-TXT and unloadable names are mapped.
# One assertion per test, then per-scenario counts and the total.
#
# The suite file lives outside the repository, in
# $(dirname TOP)/shared/testsuites/spf (see its README.md); without it the
# suite is skipped. A missing or broken `hanko spf` fails every test.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
SUITE=$SHARED/spf/rfc7208-tests.yml
[ -f "$SUITE" ] || skip_all "no RFC 7208 suite at $SUITE"
[ -x "$PY" ] || skip_all "no $PY"
"$PY" -c 'import yaml' 2>/dev/null || skip_all "python3-yaml not importable by $PY"

if ! "$PY" "$TOP/tests/spf/yml2zone.py" "$SUITE" "$T/z" 2>"$T/conv.err"; then
	nok "yml2zone.py converts $SUITE"
	sed 's/^/#   /' "$T/conv.err"
	finish
	exit
fi
sed 's/^yml2zone: /# note: /' "$T/conv.err"
echo "# zones for the reproducers below: $PY tests/spf/yml2zone.py $SUITE DIR"

check_exit "hanko spf --help exits 0 (the command exists)" 0 \
    "$HANKO" spf --help

# Runs every case; prints "ok<TAB>name" or "fail<TAB>name<TAB>why" lines,
# then "#" comment lines with the counts.
cat >"$T/run.py" <<'PY'
import collections, json, subprocess, sys
hanko, zdir = sys.argv[1], sys.argv[2]
counts = collections.OrderedDict()
total = good = 0
for line in open(zdir + "/cases.tsv"):
    n, scen, name, host, mfrom, helo, results, expl = \
        line.rstrip("\n").split("\t")
    want = results.split(",")
    cmd = [hanko, "spf", "--dns-zone", "%s/%s.zone" % (zdir, n),
           "--ip", host, "--mail-from", mfrom, "--helo", helo, "--json"]
    label = "%s: %s (ip %s, mail-from <%s>, helo %s)" % (
        scen, name, host, mfrom, helo)
    why = None
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        out, err = p.stdout.decode("utf-8", "replace"), \
            p.stderr.decode("utf-8", "replace")
        if p.returncode != 0:
            why = "exit %d: %s" % (p.returncode, (err or out).strip()[:300])
        else:
            o = json.loads(out)
            got = o.get("result")
            if got not in want:
                why = "result %s, want %s (problem %r, mechanism %r)" % (
                    got, "|".join(want), o.get("problem"),
                    o.get("mechanism"))
            elif expl and expl != "DEFAULT" and \
                    o.get("explanation") != expl:
                why = "explanation %r, want %r" % (o.get("explanation"), expl)
            elif err.strip():
                why = "stderr: " + err.strip()[:300]
    except subprocess.TimeoutExpired:
        why = "timed out"
    except ValueError as e:
        why = "bad JSON (%s): %r" % (e, out[:200])
    c = counts.setdefault(scen, [0, 0])
    c[1] += 1
    total += 1
    if why is None:
        c[0] += 1
        good += 1
        print("ok\t" + label)
    else:
        why = " ".join(why.split())
        repro = ["hanko", "spf", "--dns-zone", "DIR/%s.zone" % n] + cmd[4:]
        print("fail\t%s\t%s\t%s" % (label, why, " ".join(
            "'%s'" % a if a == "" or " " in a else a for a in repro)))
for scen, (g, t) in counts.items():
    print("# %s: %d/%d" % (scen, g, t))
print("# RFC 7208 suite: %d/%d" % (good, total))
PY
"$PY" "$T/run.py" "$HANKO" "$T/z" >"$T/res" 2>&1 ||
	nok "the runner itself failed: $(tail -3 "$T/res")"
tab_report <"$T/res"

finish
