#!/bin/sh
# hanko verify against real DNS servers on loopback: an authoritative NSD
# (tests/dns/server.sh) serving hanko.example (unsigned) and secure.example
# (DNSSEC-signed), reached through --resolver; and a server that never
# answers (tests/dns/blackhole.py) for --dns-timeout, concurrency of the
# lookups and exit 75 in filter mode. Typed lookups (A, AAAA, MX, PTR, TXT)
# go through tests/dns/query.c, built here against the library of the
# hanko under test, against NSD, the blackhole and tests/dns/hostile.py (a
# server whose answers are crafted to break a careless decoder).
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
HOPID=
cleanup() {
	"$DNS/server.sh" stop "$SRV" >/dev/null 2>&1
	for _p in $BHPID $HOPID; do
		kill "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
	done
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

# tests/dns/query.c against the libhanko.a beside $HANKO, with the
# sanitizers of that build; the typed-lookup checks fail if it cannot be
# built.
QUERY=$T/query
case ${CONFIG:-release} in
asan)	QSAN="-fsanitize=address,undefined -fno-sanitize-recover=all" ;;
*)	QSAN= ;;
esac
qlibs() {
	for _l in libcrypto liburing ldns libpsl libunbound; do
		pkg-config --libs $_l 2>/dev/null
	done
}
# shellcheck disable=SC2046,SC2086
check "tests/dns/query.c builds" ${CC:-cc} -std=c17 -D_GNU_SOURCE -g -O1 \
    -Wall -Wextra -Werror -I"$TOP" $QSAN -o "$QUERY" "$DNS/query.c" \
    "$(dirname "$HANKO")/libhanko.a" $(qlibs) -lunbound -lpthread
# qry OUT RESOLVER [opts] TYPE NAME...: answers in OUT, stderr in OUT.err
qry() {
	_o=$1 _r=$2; shift 2
	timeout 60 "$QUERY" --resolver "$_r" "$@" >"$_o" 2>"$_o.err"
}
# qhas OUT TYPE NAME RCODE [RECORD...|#N]: the line for TYPE NAME in OUT
# has RCODE and these records in any order (#N: N of them; * any). A
# leading secure=S checks that field too.
cat >"$T/qhas.py" <<'PY'
import sys
f, t, n, rc, *want = sys.argv[1:]
sec = None
if rc.startswith("secure="):
    sec, rc, want = rc, want[0], want[1:]
for l in open(f):
    w = l.split()
    if w[:2] != [t, n]:
        continue
    assert w[2] == rc, l
    if sec:
        assert w[3] == sec, l
    recs = w[5:]
    if want[:1] == ["*"]:
        pass
    elif want[:1] and want[0].startswith("#"):
        assert len(recs) == int(want[0][1:]), "%d records: %s" % (len(recs), l)
    else:
        assert sorted(recs) == sorted(want), l
    sys.exit(0)
sys.exit("no answer for %s %s in %s" % (t, n, open(f).read()[:2000]))
PY
qhas() { "$PY" "$T/qhas.py" "$@"; }

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

# --- typed lookups through the resolver (tests/dns/query.c) -------------------
# All at once, duplicates included, as a batch would ask them.
H=hanko.example
R4=0.0.192.in-addr.arpa
R6=0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.f.f.f.3.ip6.arpa
qry "$T/q" "$RES" A mail.$H AAAA mail.$H MX $H MX nomail.$H A www.$H \
    AAAA www.$H MX mxalias.$H PTR 10.$R4 PTR 11.$R4 PTR $R6 TXT $H \
    A missing.$H MX mail.$H AAAA mx2.$H PTR 12.$R4 MX x.broken.example \
    A big.$H TXT ed._domainkey.$H A MAIL.Hanko.Example. A mail.$H \
    TYPE5 www.$H A bad..$H; rc=$?
check "typed: every lookup answered (exit $rc)" test $rc -eq 0
check "typed: 18 distinct lookups in flight (the same A three times: one)" \
    grep -qx 'pending 18' "$T/q"
check "typed: A, two records" qhas "$T/q" A mail.$H ok 192.0.0.10 192.0.0.11
check "typed: AAAA" qhas "$T/q" AAAA mail.$H ok 3fff::10
check "typed: MX with preferences, exchange lower-cased" \
    qhas "$T/q" MX $H ok 10:mail.$H 20:mx2.$H
check "typed: null MX (RFC 7505) is the root" \
    qhas "$T/q" MX nomail.$H ok 0:.
check "typed: A through a CNAME" qhas "$T/q" A www.$H ok 192.0.0.10 192.0.0.11
check "typed: AAAA through a CNAME" qhas "$T/q" AAAA www.$H ok 3fff::10
check "typed: MX through a CNAME" \
    qhas "$T/q" MX mxalias.$H ok 10:mail.$H 20:mx2.$H
check "typed: PTR in-addr.arpa" qhas "$T/q" PTR 10.$R4 ok mail.$H
check "typed: PTR, two names" qhas "$T/q" PTR 11.$R4 ok mail.$H other.$H
check "typed: PTR ip6.arpa" qhas "$T/q" PTR $R6 ok mail.$H
check "typed: TXT" qhas "$T/q" TXT $H ok '"v=spf1\x20mx\x20-all"'
check "typed: TXT of a DKIM key, as txt() gives it" \
    qhas "$T/q" TXT ed._domainkey.$H ok '#1'
check "typed: NXDOMAIN" qhas "$T/q" A missing.$H nxdomain
check "typed: NODATA (MX at a name with A)" qhas "$T/q" MX mail.$H nodata
check "typed: NODATA (AAAA at a name with A only)" \
    qhas "$T/q" AAAA mx2.$H nodata
check "typed: PTR NXDOMAIN" qhas "$T/q" PTR 12.$R4 nxdomain
check "typed: SERVFAIL is tempfail" qhas "$T/q" MX x.broken.example tempfail
check "typed: 200 A records (over TCP) capped at 128" \
    qhas "$T/q" A big.$H ok '#128'
check "typed: coalesced waiters all answered" sh -c \
    "test \$(grep -c '^A mail.hanko.example ok .*192.0.0.1[01] .*192.0.0.1[01]\$' '$T/q') -eq 2 &&
    grep -q '^A MAIL.Hanko.Example. ok .*192.0.0.1[01] .*192.0.0.1[01]\$' '$T/q'"
check "typed: qtype CNAME refused" grep -qx "TYPE5 www.$H REFUSED errno=22" "$T/q"
check "typed: empty label refused" grep -qx "A bad..$H REFUSED errno=22" "$T/q"
check "typed: no sanitizer report" test ! -s "$T/q.err"

qry "$T/q" "$RES" --dnssec "$SRV/trust-anchor" A ns.secure.example \
    MX secure.example A missing.secure.example A mail.$H
check "typed dnssec: A secure" \
    qhas "$T/q" A ns.secure.example secure=1 ok 127.0.0.1
check "typed dnssec: NODATA secure" \
    qhas "$T/q" MX secure.example secure=1 nodata
check "typed dnssec: NXDOMAIN secure" \
    qhas "$T/q" A missing.secure.example secure=1 nxdomain
check "typed dnssec: unsigned zone insecure" \
    qhas "$T/q" A mail.$H secure=0 ok '#2'
qry "$T/q" "$RES" --dnssec "$SRV/trust-anchor.wrong" A ns.secure.example
check "typed dnssec: wrong anchor: bogus is tempfail, secure -1" \
    qhas "$T/q" A ns.secure.example secure=-1 tempfail

# --- names libunbound would answer itself (RFC 6761 .test, RFC 6303) --------
# NSD serves hanko.test and 10.in-addr.arpa; the resolver must ask it
# rather than answer NXDOMAIN from its built-in local zones.
sed 's/hanko\.example/hanko.test/g' "$T/msg.eml" >"$T/msg-test.eml"
MSG=$T/msg-test.eml sign "$T/test-ed.eml" hanko.test ed:ed
vcase ".test: key served by the server: pass" 0 "$T/test-ed.eml" \
    result=pass d=hanko.test s=ed
MSG=$T/msg-test.eml sign "$T/test-missing.eml" hanko.test missing:ed
vcase ".test: a selector the server lacks: permerror no key" 1 \
    "$T/test-missing.eml" result=permerror "reason=no key for signature"
timeout 30 "$HANKO" dmarc --resolver "$RES" --authserv-id test.example \
    --ip 10.0.0.10 --mail-from bounce@hanko.test --json "$T/test-ed.eml" \
    >"$T/j" 2>"$T/e"; rc=$?
check ".test: dmarc: SPF and DMARC records found, pass (exit $rc)" \
    sh -c "[ $rc -eq 0 ] && '$PY' -c '
import json, sys
o = json.load(sys.stdin)
assert o[\"spf\"][\"result\"] == \"pass\", o[\"spf\"]
d = o[\"dmarc\"]
assert (d[\"result\"], d[\"record_domain\"], d[\"p\"]) == (\"pass\", \"hanko.test\", \"reject\"), d' <'$T/j'"
qry "$T/q" "$RES" PTR 10.0.0.10.in-addr.arpa PTR 11.0.0.10.in-addr.arpa \
    TXT _dmarc.hanko.test A mail.hanko.test TXT nothing.hanko.test; rc=$?
check "10.in-addr.arpa, .test: every lookup answered (exit $rc)" test $rc -eq 0
check "10.in-addr.arpa: PTR served by the server" \
    qhas "$T/q" PTR 10.0.0.10.in-addr.arpa ok mail.hanko.test
check "10.in-addr.arpa: NXDOMAIN from the server" \
    qhas "$T/q" PTR 11.0.0.10.in-addr.arpa nxdomain
check ".test: TXT served by the server" \
    qhas "$T/q" TXT _dmarc.hanko.test ok '"v=DMARC1;\x20p=reject"'
check ".test: A served by the server" qhas "$T/q" A mail.hanko.test ok 10.0.0.10
check ".test: NXDOMAIN from the server" \
    qhas "$T/q" TXT nothing.hanko.test nxdomain

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

# Typed lookups time out too, each (type, name) a lookup of its own: the
# same name under five types and twice more in other spellings.
: >"$T/bh.log"
t0=$(now)
qry "$T/q" "$BH" --timeout 1 A tq.$H MX tq.$H AAAA tq.$H TXT tq.$H \
    PTR 10.$R4 A TQ.Hanko.Example. MX tq.$H.; rc=$?
el=$(elapsed "$t0" "$(now)")
check "blackhole typed: 5 distinct lookups for 7 queries" \
    grep -qx 'pending 5' "$T/q"
check "blackhole typed: all answered tempfail" sh -c \
    "test $rc -eq 0 && test \$(grep -c ' tempfail secure=0 ttl=0\$' '$T/q') -eq 7"
check "blackhole typed: within one timeout (took ${el}s)" \
    sh -c "awk 'BEGIN { exit !($el < 4) }'"
check "blackhole typed: each type asked of the server" "$PY" -c '
import sys
got = set()
for l in open(sys.argv[1]):
    t, proto, name, qtype = l.split()
    got.add((name.lower(), qtype))
want = {("tq.hanko.example.", q) for q in ("1", "15", "28", "16")}
want.add(("10.0.0.192.in-addr.arpa.", "12"))
assert want <= got, sorted(got)' "$T/bh.log"

# The default timeout (5 s) bounds a lookup too.
t0=$(now)
timeout 30 "$HANKO" verify --resolver "$BH" <"$T/bh/bh02.eml" \
    >"$T/ar" 2>"$T/e"; rc=$?
el=$(elapsed "$t0" "$(now)")
check "blackhole: default timeout: exit 75 (got $rc)" test $rc -eq 75
check "blackhole: default timeout: 4 to 10 s (took ${el}s)" sh -c \
    "awk -v a=$el 'BEGIN { exit !(a >= 4 && a < 10) }'"

# --- a server with hostile answers (tests/dns/hostile.py) -------------------
"$PY" "$DNS/hostile.py" --owner $$ >"$T/ho.port" 2>"$T/ho.err" &
HOPID=$!
i=0
while [ ! -s "$T/ho.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
HO=127.0.0.1@$(cat "$T/ho.port")
X=hostile.example
qry "$T/q" "$HO" --timeout 5 PTR dotlabel.$X MX dotlabel.$X MX nullabel.$X \
    PTR onlybad.$X A many.$X AAAA many.$X MX many.$X PTR many.$X \
    PTR maxname.$X MX upper.$X A shortaddr.$X AAAA shortaddr.$X \
    MX cutname.$X PTR cutname.$X; rc=$?
check "hostile: every lookup answered (exit $rc)" test $rc -eq 0
check "hostile: no sanitizer report" test ! -s "$T/q.err"
check "hostile: PTR label with a dot skipped, the other kept" \
    qhas "$T/q" PTR dotlabel.$X ok ok.$X
check "hostile: MX label with a dot skipped, the other kept" \
    qhas "$T/q" MX dotlabel.$X ok 20:ok.$X
check "hostile: MX label with a NUL skipped, the other kept" \
    qhas "$T/q" MX nullabel.$X ok 20:ok.$X
check "hostile: no usable record is tempfail" \
    qhas "$T/q" PTR onlybad.$X tempfail
check "hostile: 300 A capped at 128" qhas "$T/q" A many.$X ok '#128'
check "hostile: 300 AAAA capped at 128" qhas "$T/q" AAAA many.$X ok '#128'
check "hostile: 300 MX capped at 32" qhas "$T/q" MX many.$X ok '#32'
check "hostile: 300 PTR capped at 32" qhas "$T/q" PTR many.$X ok '#32'
check "hostile: a 255-octet name is whole" sh -c \
    "grep '^PTR maxname.$X ok ' '$T/q' | awk '{ exit !(length(\$6) == 253) }'"
check "hostile: upper-case exchange lower-cased" \
    qhas "$T/q" MX upper.$X ok 10:mail.$X
check "hostile: short A rdata dropped" qhas "$T/q" A shortaddr.$X ok 10.0.0.1
check "hostile: short AAAA rdata dropped" \
    qhas "$T/q" AAAA shortaddr.$X ok 3fff::1
# A name running past its rdata: libunbound rejects the packet (tempfail)
# or the record is skipped; never garbage.
for t in MX PTR; do
	w=ok.$X
	[ $t = MX ] && w=20:$w
	check "hostile: $t name past its rdata" sh -c \
	    "'$PY' '$T/qhas.py' '$T/q' $t cutname.$X tempfail ||
	    '$PY' '$T/qhas.py' '$T/q' $t cutname.$X ok $w"
done

finish
