#!/bin/sh
# hanko check: one planted fault per domain of tests/check/check.zone.in,
# and clean domains, each judged against tests/check/expect (right
# severity, kind and code; nothing else a warning or error; the exit
# status). Then: the text output; the SPF lookup counts against pyspf on
# the same zone; the same audits through NSD on loopback (--resolver)
# giving the same JSON as --dns-zone; a KeyTable/SigningTable audit with
# planted mismatches, a missing record and an unreadable key; keygen
# --records and --rotate; --dnssec; and a server whose answers are
# crafted to break a careless decoder.
. "$(dirname "$0")/../lib.sh"

CK=$TOP/tests/check
KEYS=$TOP/tests/vectors/dkim/keys
PY=/usr/bin/python3
command -v openssl >/dev/null 2>&1 || skip_all "no openssl"
command -v jq >/dev/null 2>&1 || skip_all "no jq"
[ -x "$PY" ] || skip_all "no $PY"

SRV=$T/nsd
HOPID=
cleanup() {
	[ -n "$HOPID" ] && kill "$HOPID" 2>/dev/null
	"$CK/nsd.sh" stop "$SRV" >/dev/null 2>&1
	"$TOP/tests/dns/server.sh" stop "$T/live" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Keys: the test keys, a second Ed25519 and RSA key (mismatches), and
# 1024- and 512-bit RSA keys whose public halves are published.
K=$T/keys
mkdir -p "$K"
cp "$KEYS/rsa.private" "$K/rsa"
cp "$KEYS/ed.private" "$K/ed"
openssl genpkey -algorithm ed25519 -out "$K/ed2" 2>/dev/null &&
    openssl genrsa -out "$K/rsa2" 2048 2>/dev/null &&
    openssl genrsa -out "$K/rsa1024" 1024 2>/dev/null &&
    openssl genrsa -out "$K/rsa512" 512 2>/dev/null ||
    skip_all "openssl cannot make test keys"
chmod 600 "$K"/*

txt_value() { grep -o '"[^"]*"' "$1" | tr -d '"\n' | sed 's/.*p=//'; }
pub_der() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null |
    base64 -w0; }
# quoted character-strings of at most 200 bytes
split() { printf '%s\n' "$1" | fold -b -w 200 | sed 's/.*/"&"/' |
    tr '\n' ' '; }

ED=$(split "$(txt_value "$KEYS/ed.txt")")
RSA=$(split "$(txt_value "$KEYS/rsa.txt")")
R1024=$(split "$(pub_der "$K/rsa1024")")
R512=$(split "$(pub_der "$K/rsa512")")
Z=$T/check.zone
sed -e "s|@ED@|$ED|" -e "s|@RSA@|$RSA|" -e "s|@RSA1024@|$R1024|" \
    -e "s|@RSA512@|$R512|" "$CK/check.zone.in" >"$Z"

# args SELSPEC: "-s SEL [--key FILE]" for each SEL:KEY
args() {
	_a=
	for _p in $(echo "$1" | tr ',' ' '); do
		_a="$_a -s ${_p%%:*}"
		case ${_p#*:} in -) ;; *) _a="$_a --key $K/${_p#*:}" ;; esac
	done
	echo "$_a"
}

# 1. Every fixture through --dns-zone.
n=0
while IFS='	' read -r dom sels want; do
	case $dom in '#'*|'') continue ;; esac
	n=$((n + 1))
	# shellcheck disable=SC2046
	"$HANKO" check --dns-zone "$Z" --json "$dom" $(args "$sels") \
	    >"$T/out.$n" 2>"$T/err.$n"
	printf '%s\t%s\t%s\t%s\n' "$dom $sels" "$want" $? "$T/out.$n" \
	    >>"$T/judge.list"
	echo "$dom $sels" >"$T/name.$n"
done <"$CK/expect"
"$PY" "$CK/judge.py" --list "$T/judge.list" | tab_report
[ $n -gt 30 ] && ok "$n fixtures judged" || nok "fixtures read ($n)"

# 2. Text output: one line per finding with severity, kind, selector and
# code; the SPF tree with its count; the exit status.
"$HANKO" check --dns-zone "$Z" dkim-weak.check.example -s rsa >"$T/t1"
st=$?
check_exit "text: an error exits 1" 1 sh -c "exit $st"
check "text: error line with kind, selector and code" \
    grep -q '^error: dkim rsa: 512-bit RSA key.*\[dkim-rsa-weak\]$' "$T/t1"
check "text: the SPF tree and its count" \
    grep -q '^spf tree: 1 DNS-querying terms' "$T/t1"
"$HANKO" check --dns-zone "$Z" spf-lookups.check.example >"$T/t2"
check "text: the tree shows includes nested with their counts" \
    grep -q '^    include:_s1.clean10.check.example -> _s1.clean10.check.example \[3\]' "$T/t2"
check "text: 11 lookups over the limit" \
    grep -q '^error: spf: 11 DNS-querying terms.*\[spf-too-many-lookups\]$' "$T/t2"
"$HANKO" check --dns-zone "$Z" clean10.check.example -s ed >"$T/t3"
st=$?
check_exit "text: a clean domain exits 0" 0 sh -c "exit $st"
check "text: exactly 10 lookups and 2 void lookups are fine" \
    grep -q '^ok: spf: 10 of 10 DNS-querying terms, 2 void lookups' "$T/t3"
check_exit "no DOMAIN is a usage error" 64 "$HANKO" check --dns-zone "$Z"
check_exit "--key without -s is a usage error" 64 \
    "$HANKO" check --dns-zone "$Z" x.test --key "$K/ed"
check_exit "an unreachable resolver exits 75" 75 "$HANKO" check \
    --dns-timeout 1 --resolver 127.0.0.1@1 clean.check.example
printf 'tf.check.example. IN TXT "HANKO-TEMPFAIL"\n' >"$T/tf.zone"
check_exit "a lookup that fails temporarily exits 75" 75 \
    "$HANKO" check --dns-zone "$T/tf.zone" tf.check.example

# 3. SPF counts against pyspf on the same zone.
if "$PY" -c 'import spf, yaml' 2>/dev/null; then
	for i in $(seq 1 $n); do
		jq -r 'select(.spf.tree[0].record != null) |
		    [.domain, .spf.lookups, .spf.void_lookups,
		     (if ([.spf.tree[].record // ""] | map(test("ptr")) | any)
		      then 1 else 0 end),
		     ([.findings[].code] | index("spf-loop") != null |
		      if . then 1 else 0 end)] | @tsv' "$T/out.$i"
	done | sort -u >"$T/spf.list"
	[ -s "$T/spf.list" ] && ok "$(wc -l <"$T/spf.list") SPF trees to compare" ||
	    nok "SPF trees to compare"
	"$PY" "$CK/pyspf_count.py" "$Z" <"$T/spf.list" | tab_report
else
	echo "# python3-spf or python3-yaml missing: pyspf cross-check skipped"
fi

# 4. The same zone from NSD on loopback: identical JSON, for a subset
# that covers every record kind, the SPF walk's limits, the tree walk
# and report authorization (all of them with LIVE_ALL=1).
LIVE='clean clean10 sub.parent ruaauth spf-multiple spf-lookups spf-void
spf-loop spf-incnone dkim-weak dkim-mismatch dmarc-multiple dmarc-policy
dmarc-ruaext dmarc-pct adsp mx-none'
if command -v nsd >/dev/null 2>&1 && command -v drill >/dev/null 2>&1; then
	if PORT=$(HANKO_DNS_OWNER=$$ "$CK/nsd.sh" start "$SRV" example "$Z"); then
		for i in $(seq 1 $n); do
			read -r dom sels <"$T/name.$i"
			case " $(echo $LIVE) " in
			*" ${dom%.check.example} "*) ;;
			*) [ -n "${LIVE_ALL:-}" ] || continue ;;
			esac
			# shellcheck disable=SC2046
			"$HANKO" check --resolver "127.0.0.1@$PORT" --json \
			    "$dom" $(args "$sels") >"$T/live.$i" 2>&1
			if cmp -s "$T/out.$i" "$T/live.$i"; then
				ok "NSD: $dom $sels as --dns-zone"
			else
				nok "NSD: $dom $sels as --dns-zone"
				diff "$T/out.$i" "$T/live.$i" | sed 's/^/#   /' | head -6
			fi
		done
	else
		nok "NSD starts"
	fi
else
	echo "# no nsd or drill: live DNS part skipped"
fi

# 5. A KeyTable/SigningTable audit: a match, a mismatch, a missing
# record, an unreadable key; one JSON line per domain.
cat >"$T/KeyTable" <<KT
k1 clean.check.example:ed:$K/ed
k2 clean.check.example:rsa:$K/rsa2
k3 dkim-none.check.example:ed:$K/ed
k4 dkim-mismatch.check.example:ed:$K/nonexistent
k5 sub.parent.check.example:ed:$K/ed
KT
cat >"$T/SigningTable" <<ST
*@clean.check.example k1
*@dkim-none.check.example k3
ST
"$HANKO" check --dns-zone "$Z" --json --key-table "$T/KeyTable" \
    --signing-table "refile:$T/SigningTable" >"$T/table" 2>"$T/table.err"
st=$?
check_exit "table: errors exit 1" 1 sh -c "exit $st"
check "table: one JSON line per domain" \
    test "$(jq -r .domain "$T/table" | tr '\n' ' ')" = \
    "clean.check.example dkim-mismatch.check.example dkim-none.check.example sub.parent.check.example "
sel_codes() { jq -r --arg d "$1" 'select(.domain == $d) | .findings[] |
    "\(.selector) \(.severity) \(.code)"' "$T/table" | sort | tr '\n' ' '; }
check "table: a matching key is ok, a mismatch an error" \
    test "$(sel_codes clean.check.example)" = \
    "ed ok dkim-key-match ed ok dkim-ok rsa error dkim-key-mismatch rsa ok dkim-ok "
check "table: no published record is an error" \
    test "$(sel_codes dkim-none.check.example)" = "ed error dkim-none "
check "table: an unreadable key is an error" \
    test "$(sel_codes dkim-mismatch.check.example)" = \
    "ed error dkim-key-unreadable ed ok dkim-ok "
check "table: DKIM only without --all" \
    test "$(jq -r '.findings[].kind' "$T/table" | sort -u | tr '\n' ' ')" = "dkim "
"$HANKO" check --dns-zone "$Z" --key-table "$T/KeyTable" \
    --signing-table "refile:$T/SigningTable" >"$T/table.txt" 2>/dev/null
check "table, text: a block per domain, the selector on DKIM lines" sh -c \
    "test \$(grep -c '^domain: ' '$T/table.txt') -eq 4 &&
    grep -q '^error: dkim rsa: .*\\[dkim-key-mismatch\\]\$' '$T/table.txt'"
"$HANKO" check --dns-zone "$Z" --json --all --key-table "$T/KeyTable" \
    --signing-table "refile:$T/SigningTable" >"$T/table2" 2>/dev/null
check "table --all: SPF, DMARC and MX too" \
    test "$(jq -r 'select(.domain == "sub.parent.check.example") |
    .findings[].code' "$T/table2" | sort | tr '\n' ' ')" = \
    "dkim-key-match dkim-ok dmarc-inherited mx-ok spf-lookups "

# 6. keygen --records gives records the audit passes; --rotate names the
# selector by date, and both keys of a rotation audit clean side by side.
G=$T/kg
mkdir -p "$G"
d0=$(date -u +%Y%m%d)
"$HANKO" keygen -d new.example -s old -o "$G" --records >"$G/old.out" &&
    "$HANKO" keygen -d new.example -a ed25519 --rotate -o "$G" >"$G/new.out"
st=$?
d1=$(date -u +%Y%m%d)
check_exit "keygen --records and --rotate" 0 sh -c "exit $st"
newsel=$(ls "$G" | sed -n 's/^\(ed[0-9]*\)\.private$/\1/p')
check "keygen --rotate: selector ed + today's date ($newsel)" \
    sh -c "[ '$newsel' = 'ed$d0' ] || [ '$newsel' = 'ed$d1' ]"
check "keygen --records: a starting SPF and a p=none DMARC record" \
    grep -q '^_dmarc.new.example.	IN	TXT	"v=DMARC1; p=none; rua=mailto:dmarc-reports@new.example"$' "$G/old.out"
{
	cat "$G/old.out" "$G/new.out"
	echo "new.example. IN MX 10 mx.new.example."
	echo "mx.new.example. IN A 192.0.2.7"
} >"$G/zone"
"$HANKO" check --dns-zone "$G/zone" --json new.example -s old \
    --key "$G/old.private" -s "$newsel" --key "$G/$newsel.private" \
    >"$G/check.json"
st=$?
"$PY" "$CK/judge.py" "keygen records, both rotation keys" \
    "clean ok/dkim/dkim-key-match" "$st" <"$G/check.json" | tab_report
check "rotation: both keys shown as matching" test \
    "$(jq -r '.findings[] | select(.code == "dkim-key-match") | .selector' \
    "$G/check.json" | tr '\n' ' ')" = "old $newsel "
check_exit "keygen: --rotate with -s is a usage error" 64 \
    "$HANKO" keygen -d new.example -s x --rotate -o "$G"
check_exit "keygen: a --rua that is not an address is refused" 64 \
    "$HANKO" keygen -d new.example -s x2 -o "$G" --records --rua 'a,b@c'
check "keygen: ... before any key is written" test ! -e "$G/x2.private"

# 7. --dnssec: each record's validation status, against the signed zone
# of the live-DNS harness (tests/dns/server.sh) and its unsigned one.
if command -v nsd >/dev/null 2>&1 && command -v ldns-signzone >/dev/null 2>&1; then
	if LP=$(HANKO_DNS_OWNER=$$ "$TOP/tests/dns/server.sh" start "$T/live" 2>"$T/live.err"); then
		for z in secure.example hanko.example; do
			"$HANKO" check --resolver "127.0.0.1@$LP" \
			    --dnssec "$T/live/trust-anchor" --json "$z" -s ed \
			    >"$T/sec.$z" 2>&1
		done
		check "--dnssec: a signed key record is validated" test \
		    "$(jq -r '.findings[] | select(.code == "dkim-dnssec") |
		    .message' "$T/sec.secure.example")" = \
		    "ed._domainkey.secure.example: answer DNSSEC-validated"
		check "--dnssec: an unsigned one is not" grep -q \
		    '"code":"dkim-dnssec","message":"ed._domainkey.hanko.example: answer not DNSSEC-validated' \
		    "$T/sec.hanko.example"
		check "--dnssec: one status per record kind" test \
		    "$(jq -r '.findings[] | select(.code | endswith("-dnssec")) |
		    .kind' "$T/sec.secure.example" | tr '\n' ' ')" = "spf dkim dmarc mx "
		check "without --dnssec: no status" sh -c "! grep -q dnssec \"$T/out.1\""
		"$TOP/tests/dns/server.sh" stop "$T/live" >/dev/null 2>&1
	else
		nok "tests/dns/server.sh starts"; sed 's/^/#   /' "$T/live.err"
	fi
else
	echo "# no nsd or ldnsutils: --dnssec part skipped"
fi

# 8. A server with crafted answers (tests/dns/hostile.py: names with dots
# and NULs in labels, 300 records, short rdata, names running past their
# rdata): every audit ends with valid JSON and an ordinary exit status.
"$PY" "$TOP/tests/dns/hostile.py" --owner $$ >"$T/ho.port" 2>"$T/ho.err" &
HOPID=$!
i=0
while [ ! -s "$T/ho.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ -s "$T/ho.port" ]; then
	HO=127.0.0.1@$(cat "$T/ho.port")
	for l in dotlabel nullabel onlybad many maxname upper shortaddr cutname; do
		"$HANKO" check --resolver "$HO" --dns-timeout 2 --json \
		    "$l.hostile.example" -s "$l" >"$T/ho.$l" 2>"$T/ho.$l.err"
		st=$?
		if { [ $st -eq 0 ] || [ $st -eq 1 ] || [ $st -eq 75 ]; } &&
		    jq -e .findings "$T/ho.$l" >/dev/null 2>&1 &&
		    ! grep -q 'Sanitizer\|runtime error' "$T/ho.$l.err"; then
			ok "hostile answers: $l (exit $st)"
		else
			nok "hostile answers: $l (exit $st)"
			head -5 "$T/ho.$l.err" | sed 's/^/#   /'
		fi
	done
else
	nok "tests/dns/hostile.py starts"
fi
kill "$HOPID" 2>/dev/null
wait "$HOPID" 2>/dev/null

finish
