#!/bin/sh
# hanko dmarc --history FILE: one JSON line per evaluated message, the
# --json object plus "time"; appended safely by several processes at
# once, never through a symbolic link, created 0640.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no $PY"

cat >"$T/zone" <<'EOF'
$TTL 300
example.com.        TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com. TXT "v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:agg@example.com"
example.org.        TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.org. TXT "v=DMARC1; p=none"
EOF
mkmsg() {	# mkmsg FILE FROM
	printf 'From: %s\r\nTo: b@example.net\r\nSubject: h\r\n\r\nbody\r\n' \
	    "$2" >"$1"
}
mkdir "$T/d"
mkmsg "$T/one.eml" "a@example.com"
mkmsg "$T/two.eml" "a@example.com, c@example.org"
for i in 1 2 3 4 5 6 7 8 9 10; do mkmsg "$T/d/m$i" "a@example.com"; done
DM="$HANKO dmarc --dns-zone $T/zone --authserv-id mx.test"

# The line is the --json object plus "time" (--time when given).
H=$T/h.jsonl
$DM --json --ip 192.0.2.9 --mail-from x@example.com --time 1700000000 \
    "$T/one.eml" >"$T/json.out"
check_exit "--history: pass exits 0" 0 \
    sh -c 'umask 077; exec "$@"' sh $DM --ip 192.0.2.9 --mail-from x@example.com --time 1700000000 \
    --history "$H" "$T/one.eml"
check "--history: text mode writes the --json object plus time" \
    "$PY" -c '
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert len(lines) == 2 and lines[1] == "", lines
h = json.loads(lines[0])
j = json.loads(open(sys.argv[2]).read())
assert h.pop("time") == 1700000000, h
assert h == j, (h, j)
assert h["envelope"]["ip"] == "192.0.2.9"
d = h["dmarc"]
assert (d["p"], d["sp"], d["adkim"], d["aspf"], d["pct"]) == \
    ("reject", "quarantine", "s", "r", 100), d
assert d["rua"] == "mailto:agg@example.com" and d["ruf"] is None, d
assert d["record_domain"] == "example.com", d
assert (d["policy"], d["disposition"], d["result"]) == \
    ("reject", "none", "pass"), d
' "$H" "$T/json.out"
check "--history: created 0640 whatever the umask" \
    sh -c '[ "$(stat -c %a "$1")" = 640 ]' sh "$H"

# Appending; time is now without --time; --json output unchanged.
before=$(date +%s)
$DM --json --ip 198.51.100.7 --mail-from x@example.com --history "$H" \
    "$T/two.eml" >"$T/json2.out"
after=$(date +%s)
check "--history: a second run appends" \
    test "$(wc -l <"$H")" -eq 2
check "--history: time is now; several authors listed" \
    "$PY" -c '
import json, sys
h = json.loads(open(sys.argv[1]).read().split("\n")[1])
j = json.loads(open(sys.argv[2]).read())
t = h.pop("time")
assert int(sys.argv[3]) <= t <= int(sys.argv[4]), t
assert h == j
assert [a["domain"] for a in h["dmarc"]["author_domains"]] == \
    ["example.com", "example.org"], h["dmarc"]
assert h["dmarc"]["result"] == "fail" and \
    h["dmarc"]["disposition"] == "reject", h["dmarc"]
' "$H" "$T/json2.out" "$before" "$after"

# Several processes, several threads each: every line whole.
P=$T/p.jsonl
for k in 1 2 3 4 5 6; do
	$DM -j 2 --ip 192.0.2.9 --mail-from x@example.com --history "$P" \
	    "$T/d" >/dev/null 2>&1 &
done
wait
check "--history: 6 processes x 10 messages, 60 whole lines" \
    "$PY" -c '
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "" and len(lines) == 61, len(lines)
names = sorted(json.loads(l)["file"] for l in lines[:-1])
assert len(set(names)) == 10 and all(names.count(n) == 6 for n in names)
' "$P"

# Never through a symbolic link, dangling or not; regular files only.
echo keep >"$T/target"
ln -s "$T/target" "$T/link"
ln -s "$T/absent" "$T/dangling"
check_exit "--history: a symbolic link is refused" 73 \
    $DM --history "$T/link" "$T/one.eml"
check "--history: the link's target is untouched" \
    test "$(cat "$T/target")" = keep
check_exit "--history: a dangling symbolic link is refused" 73 \
    $DM --history "$T/dangling" "$T/one.eml"
check "--history: nothing created through the dangling link" \
    test ! -e "$T/absent"
mkfifo "$T/fifo"
check_exit "--history: a FIFO is refused" 73 \
    $DM --history "$T/fifo" "$T/one.eml"
check_exit "--history: a missing directory is refused" 73 \
    $DM --history "$T/no/such/h" "$T/one.eml"
check "--help lists --history" sh -c "$HANKO dmarc --help | grep -q -- --history"

finish
