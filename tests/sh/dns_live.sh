#!/bin/sh
# hanko verify against real DNS servers on loopback: an authoritative NSD
# (tests/dns/server.sh) serving hanko.example (unsigned) and secure.example
# (DNSSEC-signed), reached through --resolver; and a server that never
# answers (tests/dns/blackhole.py) for --dns-timeout, concurrency of the
# lookups and exit 75 in filter mode.
. "$(dirname "$0")/../lib.sh"

DNS=$TOP/tests/dns
KEYS=$TOP/tests/vectors/dkim/keys
PY=/usr/bin/python3
command -v nsd >/dev/null 2>&1 || skip_all "no nsd (package nsd)"
for c in ldns-keygen ldns-signzone drill; do
	command -v $c >/dev/null 2>&1 || skip_all "no $c (package ldnsutils)"
done
[ -x "$PY" ] || skip_all "no $PY"

# Every server started here is stopped on any exit; should this shell be
# killed outright, the servers notice that $$ is gone and stop themselves.
SRV=$T/dns
BHPID=
cleanup() {
	"$DNS/server.sh" stop "$SRV" >/dev/null 2>&1
	if [ -n "$BHPID" ]; then
		kill "$BHPID" 2>/dev/null
		wait "$BHPID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# The test keys; git does not keep modes and hanko refuses 0644 keys.
cp "$KEYS/rsa.private" "$KEYS/ed.private" "$T/"
chmod 600 "$T/rsa.private" "$T/ed.private"

now() { date +%s.%N; }
# elapsed T0 T1 -> seconds, two decimals
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

cat >"$T/msg.eml" <<'EOF'
From: Alice <alice@hanko.example>
To: bob@example.net
Subject: live DNS
Date: Tue, 14 Nov 2023 22:13:20 +0000
Message-ID: <live@hanko.example>

Hello over real DNS.
EOF

# sign OUT DOMAIN SEL:KEY...: sign msg.eml once per SEL:KEY pair
sign() {
	_out=$1 _dom=$2; shift 2
	_args=
	for _p in "$@"; do _args="$_args -s ${_p%%:*} -k $T/${_p#*:}.private"
	done
	# shellcheck disable=SC2086
	"$HANKO" sign -d "$_dom" $_args <"${MSG:-$T/msg.eml}" >"$_out" 2>"$T/sign.err"
}

# jcheck KEY=VALUE... < json: every line is one message with one signature
# whose fields match (KEY~=TEXT: contains; dnssec=true|false; n=N lines).
cat >"$T/jcheck.py" <<'PY'
import json, sys
want = [a.split("=", 1) for a in sys.argv[1:]]
lines = [l for l in sys.stdin if l.strip()]
n = dict(want).get("n")
assert len(lines) == int(n or 1), "%d messages" % len(lines)
for l in lines:
    o = json.loads(l)
    assert len(o["dkim"]) == 1, o["dkim"]
    r = o["dkim"][0]
    for k, v in want:
        if k == "n":
            continue
        if k.endswith("~"):
            assert v in str(r[k[:-1]]), (k, v, r)
        elif k == "dnssec":
            assert r["dnssec"] is (v == "true"), (k, v, r)
        else:
            assert str(r[k]) == v, (k, v, r)
PY
jcheck() { "$PY" "$T/jcheck.py" "$@"; }

# --- the authoritative server ------------------------------------------------
PORT=$(HANKO_DNS_OWNER=$$ "$DNS/server.sh" start "$SRV" 2>"$T/srv.err")
case $PORT in
[1-9]*) ok "server.sh start: NSD on 127.0.0.1@$PORT" ;;
*)	nok "server.sh start"; sed 's/^/#   /' "$T/srv.err" | head -20
	finish; exit ;;
esac
RES=127.0.0.1@$PORT
vfy() {	# vfy [opts] FILE...: A-R or JSON on stdout, exit status returned
	timeout 30 "$HANKO" verify --resolver "$RES" \
	    --authserv-id test.example "$@"
}

check "zone: rsa key served" sh -c \
    "drill -p $PORT TXT rsa._domainkey.hanko.example @127.0.0.1 | grep -q 'k=rsa'"
check "zone: multi key is many character-strings" sh -c \
    "test \$(drill -Q -p $PORT TXT multi._domainkey.hanko.example @127.0.0.1 |
    grep -o '\"' | wc -l) -ge 16"
check "zone: alias is a CNAME" sh -c \
    "drill -p $PORT TXT alias._domainkey.hanko.example @127.0.0.1 |
    grep -q 'CNAME'"
check "zone: missing selector is NXDOMAIN" sh -c \
    "drill -p $PORT TXT missing._domainkey.hanko.example @127.0.0.1 |
    grep -q NXDOMAIN"
check "zone: secure.example is signed" sh -c \
    "drill -D -p $PORT TXT ed._domainkey.secure.example @127.0.0.1 |
    grep -q 'IN[[:space:]]*RRSIG'"
check "trust anchor written" grep -q 'secure.example.*DS' "$SRV/trust-anchor"

# --- results through the resolver ----------------------------------------------
# vcase NAME EXIT FILE JCHECK-ARGS...: verify FILE (with the options in
# $VOPTS), want exit EXIT and one signature matching JCHECK-ARGS
VOPTS=
vcase() {
	_n=$1 _x=$2 _f=$3; shift 3
	# shellcheck disable=SC2086
	vfy $VOPTS --json "$_f" >"$T/j" 2>"$T/e"; _got=$?
	if [ "$_got" -eq "$_x" ] && jcheck "$@" <"$T/j" >"$T/jc" 2>&1; then
		ok "$_n"
	else
		nok "$_n (exit $_got, want $_x)"
		sed 's/^/#   /' "$T/j" "$T/e" "$T/jc" | head -20
	fi
}

sign "$T/rsa.eml" hanko.example rsa:rsa
vcase "rsa selector: pass" 0 "$T/rsa.eml" result=pass s=rsa key_bits=2048 \
    dnssec=false
vfy "$T/rsa.eml" >"$T/ar" 2>&1
check "rsa selector: A-R dkim=pass header.s=rsa" \
    grep -q 'dkim=pass .*header.d=hanko.example header.s=rsa ' "$T/ar"
sign "$T/ed.eml" hanko.example ed:ed
vcase "ed selector: pass" 0 "$T/ed.eml" result=pass s=ed key_bits=256
sign "$T/dual.eml" hanko.example rsa:rsa ed:ed
vfy "$T/dual.eml" >"$T/ar" 2>&1
check "dual rsa+ed signature: both pass" \
    test "$(grep -c 'dkim=pass' "$T/ar")" -eq 2
sign "$T/multi.eml" hanko.example multi:rsa
vcase "multi-string TXT record: pass" 0 "$T/multi.eml" result=pass s=multi \
    key_bits=2048
sign "$T/alias.eml" hanko.example alias:ed
vcase "CNAME'd key name: pass" 0 "$T/alias.eml" result=pass s=alias
sign "$T/xalias.eml" hanko.example xalias:rsa
vcase "CNAME into another zone: pass" 0 "$T/xalias.eml" result=pass \
    s=xalias
sign "$T/missing.eml" hanko.example missing:ed
vcase "missing selector: permerror no key" 1 "$T/missing.eml" \
    result=permerror "reason=no key for signature"
sign "$T/revoked.eml" hanko.example revoked:rsa
vcase "revoked key (p=): permerror" 1 "$T/revoked.eml" result=permerror \
    "reason~=revoked"
sed 's/^Hello over real DNS\./Hello over forged DNS./' "$T/rsa.eml" \
    >"$T/tamper.eml"
vcase "body tamper: fail" 1 "$T/tamper.eml" result=fail
sign "$T/broken.eml" broken.example ed:ed
vcase "SERVFAIL: temperror" 75 "$T/broken.eml" result=temperror \
    "reason=key lookup failed temporarily"
vfy <"$T/ed.eml" >"$T/ar" 2>&1
check "stdin: pass" grep -q 'dkim=pass .*header.s=ed ' "$T/ar"

# A directory through one resolver: every result, in name order.
mkdir "$T/mix"
cp "$T/rsa.eml" "$T/mix/1.eml"; cp "$T/missing.eml" "$T/mix/2.eml"
cp "$T/multi.eml" "$T/mix/3.eml"; cp "$T/tamper.eml" "$T/mix/4.eml"
cp "$T/alias.eml" "$T/mix/5.eml"; cp "$T/revoked.eml" "$T/mix/6.eml"
cp "$T/ed.eml" "$T/mix/7.eml"; cp "$T/xalias.eml" "$T/mix/8.eml"
vfy --json "$T/mix" >"$T/j" 2>"$T/e"
check "directory: exit 1 (some message without a pass)" test $? -eq 1
# Workers finish in any order; each file's result must be right.
check "directory: each file's result" sh -c "$PY -c '
import json, sys
objs = [json.loads(l) for l in sys.stdin]
got = sorted((o[\"file\"].rsplit(\"/\", 1)[1], o[\"dkim\"][0][\"result\"]) for o in objs)
want = list(zip([\"%d.eml\" % i for i in range(1, 9)],
    \"pass permerror pass fail pass permerror pass pass\".split()))
assert got == want, got' <'$T/j'"

# Many messages, each with a key name of its own: many lookups at once
# against a real server, every one answered.
mkdir "$T/bulk"
i=1
while [ $i -le 100 ]; do
	s=$(printf 'bulk%03d' $i)
	sign "$T/bulk/$s.eml" hanko.example "$s:ed" || break
	i=$((i + 1))
done
t0=$(now)
vfy --json "$T/bulk" >"$T/j" 2>"$T/e"; rc=$?
el=$(elapsed "$t0" "$(now)")
check "100 messages, 100 key names: exit 0" test $rc -eq 0
check "100 messages, 100 key names: all pass" jcheck n=100 result=pass \
    <"$T/j"
check "100 messages, 100 key names: under 20 s (took ${el}s)" \
    sh -c "test $rc -eq 0 && awk 'BEGIN { exit !($el < 20) }'"

# --- DNSSEC ------------------------------------------------------------------
sign "$T/sec-ed.eml" secure.example ed:ed
sign "$T/sec-rsa.eml" secure.example rsa:rsa
TA=$SRV/trust-anchor
VOPTS="--dnssec $TA"
vcase "dnssec: secure.example ed: pass, dnssec true" 0 "$T/sec-ed.eml" \
    result=pass dnssec=true
vcase "dnssec: secure.example rsa: pass, dnssec true" 0 "$T/sec-rsa.eml" \
    result=pass dnssec=true
VOPTS=
vfy --dnssec "$TA" --json "$T/sec-ed.eml" >"$T/j" 2>"$T/e"
check "dnssec: JSON \"dnssec\":true" jcheck result=pass dnssec=true <"$T/j"
vfy --dnssec "$TA" "$T/sec-ed.eml" >"$T/ar" 2>&1
check "dnssec: A-R comment says dnssec" \
    grep -q 'dkim=pass ([^)]*dnssec[^)]*) .*header.d=secure.example' "$T/ar"
vfy --dnssec "$TA" --json "$T/rsa.eml" >"$T/j" 2>"$T/e"
check "dnssec: hanko.example (no anchor): pass, dnssec false" \
    jcheck result=pass dnssec=false <"$T/j"
vfy --dnssec "$TA" "$T/rsa.eml" >"$T/ar" 2>&1
check "dnssec: hanko.example A-R has no dnssec" sh -c \
    "grep -q 'dkim=pass' '$T/ar' && ! grep -q dnssec '$T/ar'"
vfy --json "$T/sec-ed.eml" >"$T/j" 2>"$T/e"
check "no --dnssec: secure.example pass, dnssec false" \
    jcheck result=pass dnssec=false <"$T/j"
sign "$T/sec-missing.eml" secure.example missing:ed
vfy --dnssec "$TA" --json "$T/sec-missing.eml" >"$T/j" 2>"$T/e"
check "dnssec: signed NXDOMAIN: permerror no key, dnssec true" \
    jcheck result=permerror "reason=no key for signature" dnssec=true <"$T/j"
# An anchor the zone was not signed with: answers are bogus, which must
# not pass (temperror: the key could not be had securely).
vfy --dnssec "$SRV/trust-anchor.wrong" --json "$T/sec-ed.eml" >"$T/j" \
    2>"$T/e"
check "dnssec: wrong anchor: bogus answer is temperror" \
    jcheck result=temperror dnssec=false <"$T/j"
vfy --dnssec "$SRV/trust-anchor.wrong" --json "$T/rsa.eml" >"$T/j" 2>"$T/e"
check "dnssec: wrong anchor: hanko.example unaffected" \
    jcheck result=pass dnssec=false <"$T/j"

NSDPID=$(cat "$SRV/nsd.pid")
"$DNS/server.sh" stop "$SRV" >/dev/null 2>&1
check "server.sh stop: NSD gone" sh -c "! kill -0 $NSDPID 2>/dev/null"

# --- a server that never answers ---------------------------------------------
"$PY" "$DNS/blackhole.py" --owner $$ --log "$T/bh.log" >"$T/bh.port" \
    2>"$T/bh.err" &
BHPID=$!
i=0
while [ ! -s "$T/bh.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
BHPORT=$(cat "$T/bh.port")
check "blackhole.py: listening (port $BHPORT)" test -n "$BHPORT"
BH=127.0.0.1@$BHPORT

# 20 messages, 20 different key names: with lookups in flight together the
# run takes about one timeout, not twenty.
mkdir "$T/bh"
i=1
while [ $i -le 20 ]; do
	s=$(printf 'bh%02d' $i)
	sign "$T/bh/$s.eml" hanko.example "$s:ed" || break
	i=$((i + 1))
done
: >"$T/bh.log"
t0=$(now)
timeout 30 "$HANKO" verify --resolver "$BH" --dns-timeout 1 --json \
    "$T/bh" >"$T/j" 2>"$T/e"; rc=$?
el=$(elapsed "$t0" "$(now)")
check "blackhole: 20 messages, exit 75 (got $rc)" test $rc -eq 75
check "blackhole: 20 messages, all temperror" jcheck n=20 result=temperror \
    "reason=key lookup failed temporarily" <"$T/j"
check "blackhole: 20 messages within 5 s (took ${el}s)" \
    sh -c "test $rc -eq 75 && awk 'BEGIN { exit !($el < 5) }'"
# From the server's side: every key name was asked, all within one timeout.
cat >"$T/spread.py" <<'PY'
import sys
first = {}
for l in open(sys.argv[1]):
    t, proto, name, qtype = l.split()
    name = name.lower()
    if name.startswith("bh") and name not in first:
        first[name] = float(t)
assert len(first) == 20, "%d key names asked: %s" % (len(first), sorted(first))
spread = max(first.values()) - min(first.values())
assert spread < 1.0, "first queries spread over %.2f s" % spread
PY
check "blackhole: 20 key names queried at once" \
    "$PY" "$T/spread.py" "$T/bh.log"

t0=$(now)
timeout 30 "$HANKO" verify --resolver "$BH" --dns-timeout 1 \
    --authserv-id test.example <"$T/bh/bh01.eml" >"$T/ar" 2>"$T/e"; rc=$?
el=$(elapsed "$t0" "$(now)")
check "blackhole: filter mode exits 75 (got $rc)" test $rc -eq 75
check "blackhole: filter mode A-R temperror" \
    grep -q 'dkim=temperror reason="key lookup failed temporarily"' "$T/ar"
check "blackhole: filter mode within 5 s (took ${el}s)" \
    sh -c "test $rc -eq 75 && awk 'BEGIN { exit !($el < 5) }'"

# The default timeout (5 s) bounds a lookup too.
t0=$(now)
timeout 30 "$HANKO" verify --resolver "$BH" <"$T/bh/bh02.eml" \
    >"$T/ar" 2>"$T/e"; rc=$?
el=$(elapsed "$t0" "$(now)")
check "blackhole: default timeout: exit 75 (got $rc)" test $rc -eq 75
check "blackhole: default timeout: 4 to 10 s (took ${el}s)" sh -c \
    "awk -v a=$el 'BEGIN { exit !(a >= 4 && a < 10) }'"

finish
