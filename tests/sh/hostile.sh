#!/bin/sh
# Hostile input to hanko sign and hanko verify. sign must either sign
# (exit 0, output = DKIM-Signature fields + the input byte for byte) or
# refuse (exit 65, a "hanko:" message on stderr, nothing on stdout); verify
# must print one well-formed Authentication-Results field with a permerror,
# none or fail result. Neither may crash, hang (timeout 20) or use
# unbounded memory (ulimit -v, except under ASan, which needs a huge
# virtual address space). Large inputs are generated here, into $T. At
# the end all of them go through batch signing together.
. "$(dirname "$0")/../lib.sh"

V=$TOP/tests/vectors/dkim
ZONE=$V/keys.zone
cp "$V/keys/ed.private" "$T/ed.private"; chmod 600 "$T/ed.private"
PASS=$V/006-pass-ed-relaxed-relaxed.eml
LIMIT=
[ "${CONFIG:-release}" = asan ] || LIMIT="ulimit -v 2000000;"

# run OUT ERR CMD...: bounded run; sets rc (124 = timeout)
run() {
	_o=$1; _e=$2; shift 2
	(eval "$LIMIT" && exec timeout 20 "$@") >"$_o" 2>"$_e"
	rc=$?
}
sanitizer_clean() { ! grep -q 'Sanitizer\|runtime error:' "$1"; }

# hsign NAME FILE [0|65|any] [extra sign options]
hsign() {
	_n=$1; _f=$2; _want=${3:-65}; shift 2; [ $# -gt 0 ] && shift
	run "$T/so" "$T/se" "$HANKO" sign -d hanko.example -s ed \
	    -k "$T/ed.private" --time 1700000000 "$@" <"$_f"
	if [ $rc -eq 124 ]; then nok "sign $_n: hung (timeout)"; return; fi
	if ! sanitizer_clean "$T/se"; then
		nok "sign $_n: sanitizer report"; head -20 "$T/se" | sed 's/^/#   /'
		return
	fi
	case $_want:$rc in
	65:65|any:65)
		if [ ! -s "$T/so" ] && grep -q '^hanko: ' "$T/se"; then
			ok "sign $_n: refused (65), stdout empty, reason: $(head -c 100 "$T/se" | head -1)"
		else
			nok "sign $_n: exit 65 but stdout not empty or no message"
		fi ;;
	0:0|any:0)
		_sz=$(wc -c <"$_f")
		if tail -c "$_sz" "$T/so" | cmp -s - "$_f" &&
		   head -c $(($(wc -c <"$T/so") - _sz)) "$T/so" |
		   grep -v '^[[:space:]]' | grep -qvi '^dkim-signature:'; then
			nok "sign $_n: output is not signature fields + input"
		elif tail -c "$_sz" "$T/so" | cmp -s - "$_f"; then
			ok "sign $_n: signed, message kept byte for byte"
		else
			nok "sign $_n: output does not end with the input"
		fi ;;
	*)	nok "sign $_n: exit $rc, want $_want"
		head -5 "$T/se" | sed 's/^/#   /' ;;
	esac
}

# hverify NAME FILE [RESULTS-REGEX] [extra verify options]
hverify() {
	_n=$1; _f=$2; _re=${3:-'dkim=\(permerror\|none\)'}; shift 2
	[ $# -gt 0 ] && shift
	run "$T/vo" "$T/ve" "$HANKO" verify --dns-zone "$ZONE" \
	    --time 1700003600 --authserv-id test.example "$@" "$_f"
	if [ $rc -eq 124 ]; then nok "verify $_n: hung (timeout)"; return; fi
	if ! sanitizer_clean "$T/ve"; then
		nok "verify $_n: sanitizer report"; head -20 "$T/ve" | sed 's/^/#   /'
		return
	fi
	if [ $rc -ne 1 ] && [ $rc -ne 0 ]; then
		nok "verify $_n: exit $rc"; head -5 "$T/ve" | sed 's/^/#   /'; return
	fi
	if [ "$(grep -c '^Authentication-Results: ' "$T/vo")" -ne 1 ] ||
	   [ "$(grep -vc '^Authentication-Results: test.example;\|^	dkim=' "$T/vo")" -ne 0 ]; then
		nok "verify $_n: not exactly one A-R field"
		head -c 600 "$T/vo" | sed 's/^/#   /'
	elif LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$T/vo"; then
		nok "verify $_n: control bytes in the A-R"
	elif ! /usr/bin/python3 -c 'import sys; sys.stdin.buffer.read().decode()' \
	    <"$T/vo" 2>/dev/null; then
		nok "verify $_n: invalid UTF-8 (raw input bytes) in the A-R"
		head -c 300 "$T/vo" | od -c | head -5 | sed 's/^/#   /'
	elif [ "$(wc -c <"$T/vo")" -gt 8192 ]; then
		nok "verify $_n: A-R of $(wc -c <"$T/vo") bytes (echoes input?)"
	elif ! grep -q "$_re" "$T/vo"; then
		nok "verify $_n: result not $_re"; head -c 600 "$T/vo" | sed 's/^/#   /'
	else
		ok "verify $_n: $(grep -o 'dkim=[a-z]*' "$T/vo" | head -1)"
	fi
}
both() { hsign "$1" "$2" "${3:-65}"; hverify "$1" "$2" "${4:-}"; }

crlf() { sed 's/$/\r/'; }
hdrs='From: Alice <alice@hanko.example>
To: bob@recipient.example
Subject: hostile
Date: Tue, 14 Nov 2023 22:13:20 +0000'

printf '%s\nThis header line has no colon\n\nbody\n' "$hdrs" >"$T/nocolon"
both "header line without colon" "$T/nocolon"

printf 'From: Alice <alice@hanko.example>\nSubject: a\000b\000\nTo: x@y.example\n\nbody\n' >"$T/nulhdr"
both "NUL in a header field" "$T/nulhdr"
printf 'X-Nul\000Name: v\n%s\n\nbody\n' "$hdrs" >"$T/nulname"
both "NUL in a header field name" "$T/nulname"

printf '%s\n\nbinary \000 body \000\000 with NULs\n\000\n' "$hdrs" >"$T/nulbody"
hsign "NUL in the body" "$T/nulbody" 0
cp "$T/so" "$T/nulbody.signed"
hverify "NUL in the body, signed" "$T/nulbody.signed" 'dkim=pass'

{ printf '%s\nX-Long: ' "$hdrs"; head -c 1000000 /dev/zero | tr '\0' a
  printf '\n\nbody\n'; } >"$T/longline"
hsign "1 MB header line" "$T/longline" any
hverify "1 MB header line" "$T/longline"

{ printf '%s\n' "$hdrs"; awk 'BEGIN { for (i = 0; i < 100000; i++)
	printf "X-Field-%d: value %d\n", i, i }'; printf '\nbody\n'; } >"$T/many"
hsign "100,000 header fields" "$T/many" any
hverify "100,000 header fields" "$T/many"
# the same, signed first (the fields are then part of a signed message)
{ printf 'DKIM-Signature: v=1; a=ed25519-sha256; d=hanko.example; s=ed; h=from:x-field-1; bh=AAAA; b=AAAA\n'; cat "$T/many"; } >"$T/many2"
hverify "100,000 header fields + signature" "$T/many2" 'dkim=\(permerror\|fail\)'

# Header fields alone, no empty line, the last without its line end: a
# message with an empty body (RFC 5322 §3.5), signed and verified.
printf '%s\nX-Last: no empty line follows' "$hdrs" >"$T/nosep"
hsign "no header/body separator (fields only)" "$T/nosep" 0
cp "$T/so" "$T/nosep.signed"
hverify "no header/body separator, signed" "$T/nosep.signed" 'dkim=pass'
hverify "no header/body separator, unsigned" "$T/nosep" 'dkim=none'
printf '\nThis is only a body.\nFrom: not a header\n' >"$T/onlybody"
both "only a body" "$T/onlybody"
head -c 150 "$PASS" >"$T/trunc"
both "truncated mid-header (signed message)" "$T/trunc"
printf 'From: Alice <ali' >"$T/trunc2"
both "truncated in From" "$T/trunc2"
: >"$T/empty"
both "empty input" "$T/empty"
head -c 100000 /dev/urandom >"$T/garbage"
both "100 KB of random bytes" "$T/garbage"

printf 'From: \303\251l\303\250ve <eleve@hanko.example>\nSubject: \377\376 bad \300\200 utf-8 \355\240\200\nTo: x@y.example\n\nbody \377\n' >"$T/utf8"
hsign "invalid UTF-8" "$T/utf8" any
hverify "invalid UTF-8" "$T/utf8"

printf 'From: a@hanko.example\n\377\376 invalid UTF-8, no colon\n\nbody\n' >"$T/utf8b"
both "invalid UTF-8 in a line without colon" "$T/utf8b"
printf 'From: a@hanko.example\n\377\376: invalid UTF-8 name\n\nbody\n' >"$T/utf8c"
both "invalid UTF-8 in a field name" "$T/utf8c"

awk 'BEGIN { printf "DKIM-Signature: v=1; a=ed25519-sha256; d=hanko.example; s=ed;\n h=from; bh=AAAA; b=AAAA"
	for (i = 0; i < 10000; i++) printf ";\n x%d=%d", i, i
	printf "\n" }' >"$T/tags"
cat "$T/tags" "$T/nulbody" >"$T/manytags"
hverify "10,000-tag DKIM-Signature" "$T/manytags" 'dkim=\(permerror\|fail\)'
hsign "10,000-tag DKIM-Signature (signing)" "$T/manytags" any

head -c 750000 /dev/urandom | base64 -w 76 | sed 's/^/\t/; s/$/\r/' >"$T/b64"
awk -v bf="$T/b64" '!done && /^\tb=/ {
		printf "\tb=\r\n"; while ((getline l < bf) > 0) print l
		skip = 1; done = 1; next }
	skip && /^\t/ { next } { skip = 0; print }' "$PASS" >"$T/bigb"
check "1 MB b= built" test "$(wc -c <"$T/bigb")" -gt 1000000
hverify "1 MB base64 in b=" "$T/bigb" 'dkim=\(permerror\|fail\)'
hsign "1 MB base64 in an existing b=" "$T/bigb" any

head -c 5000 /dev/zero | tr '\0' x | fold -w 70 | sed "1s/^/$(echo "$hdrs" | tr '\n' '\001' | sed 's/\x01/\\n/g')\\n\\n/" >"$T/big"
hsign "over --max-size" "$T/big" 65 --max-size 1000
hverify "over --max-size (one A-R, permerror)" "$T/big" 'dkim=permerror' --max-size 1000

# d= with CR/LF injection attempts: a bare CR, an encoded CRLF, a folded
# fake result, a CRLF that starts a new field.
sed '1s/d=hanko.example;/d=hanko.example\rAuthentication-Results: evil; dkim=pass;/' "$PASS" >"$T/inj1"
hverify "d= with a bare CR + fake A-R" "$T/inj1" 'dkim=\(permerror\|fail\)'
sed '1s/d=hanko.example;/d=hanko.example%0d%0aAuthentication-Results:evil;/' "$PASS" >"$T/inj2"
hverify "d= with %0d%0a" "$T/inj2" 'dkim=\(permerror\|fail\)'
sed '1s/d=hanko.example;/d=hanko.example\r\n\tAuthentication-Results: evil\; dkim=pass;/' "$PASS" >"$T/inj3"
hverify "d= with folded fake A-R" "$T/inj3" 'dkim=\(permerror\|fail\)'
sed '1s/d=hanko.example;/d=hanko.example\r\nAuthentication-Results: evil; dkim=pass\r\nX: ;/' "$PASS" >"$T/inj4"
hverify "d= with CRLF starting a new field" "$T/inj4" 'dkim=\(permerror\|fail\)'
for f in inj1 inj2 inj3 inj4; do
	run "$T/vo" "$T/ve" "$HANKO" verify --dns-zone "$ZONE" \
	    --authserv-id test.example "$T/$f"
	if grep -q '^Authentication-Results: evil\|dkim=pass' "$T/vo" ||
	   [ "$(grep -c '^Authentication-Results:' "$T/vo")" -ne 1 ]; then
		nok "injection $f reached the A-R"; sed 's/^/#   /' "$T/vo"
	else ok "injection $f: no fake result in the A-R"; fi
done
hsign "an already signed message" "$PASS" 0
run "$T/so" "$T/se" "$HANKO" sign -d "$(printf 'hanko.example\r\nX-Evil: 1')" \
    -s ed -k "$T/ed.private" <"$T/nulbody"
if [ -s "$T/so" ] && grep -q '^X-Evil' "$T/so"; then
	nok "sign -d with CRLF injected a field"
else ok "sign -d with CRLF: no field injected (exit $rc)"; fi
run "$T/so" "$T/se" "$HANKO" sign -d hanko.example -s ed -k "$T/ed.private" \
    -i "$(printf '@hanko.example\r\nX-Evil: 1')" <"$T/nulbody"
if grep -q '^X-Evil' "$T/so"; then nok "sign -i with CRLF injected a field"
else ok "sign -i with CRLF: no field injected (exit $rc)"; fi

{ printf 'From: '; awk 'BEGIN { for (i = 0; i < 50000; i++) printf "("
	for (i = 0; i < 50000; i++) printf ")"; }'
  printf ' alice@hanko.example\n'; echo "$hdrs" | tail -n 3; printf '\nbody\n'; } >"$T/nest"
hsign "From with 50,000 nested comments" "$T/nest" any
hverify "From with 50,000 nested comments" "$T/nest"
{ printf 'From: '; awk 'BEGIN { for (i = 0; i < 50000; i++) printf "(" }'
  printf ' alice@hanko.example\n\nbody\n'; } >"$T/nest2"
both "From with 50,000 unclosed comments" "$T/nest2"
{ printf 'From: '; awk 'BEGIN { for (i = 0; i < 999; i++)
	printf "u%d@hanko.example,\n ", i; printf "last@hanko.example\n" }'
  echo "$hdrs" | tail -n 3; printf '\nbody\n'; } >"$T/many-from"
hsign "From with 1000 addresses" "$T/many-from" any
hverify "From with 1000 addresses" "$T/many-from"
if [ $rc -le 1 ]; then
	hsign "From with 1000 addresses, signed then verified" "$T/many-from" any
	if [ $rc -eq 0 ]; then cp "$T/so" "$T/mf.signed"
		hverify "From with 1000 addresses, signed" "$T/mf.signed" 'dkim=pass'
	fi
fi

# From domains against a KeyTable path with '%': the From domain is
# message content and must never lead the path out of its directory
# (a key there would sign, a FIFO there would hang the signer), and a
# FIFO at a path a legitimate domain names must not hang it either. Filter
# mode and batch mode; the good messages of the same batch are signed.
K=$T/pct
mkdir -p "$K/keys" "$K/elsewhere"
cp "$T/ed.private" "$K/keys/hanko.example.private"
cp "$T/ed.private" "$K/elsewhere/x.private"
chmod 600 "$K/keys/hanko.example.private" "$K/elsewhere/x.private"
mkfifo "$K/keys/fifo.example.private" "$K/fifo.private"
printf 'pct %%:ed:%s/keys/%%.private\n' "$K" >"$K/KeyTable"
printf '* pct\n' >"$K/SigningTable"
pmsg() { printf 'From: Alice <alice@%s>\nTo: b@recipient.example\nSubject: pct\n\nbody\n' "$1"; }
# prun OUT ERR ARGS...: hanko sign with the tables, killed if it hangs
prun() {
	_o=$1; _e=$2; shift 2
	timeout -k 5 20 "$HANKO" sign --key-table "$K/KeyTable" \
	    --signing-table "refile:$K/SigningTable" --time 1700000000 \
	    "$@" >"$_o" 2>"$_e"
	rc=$?
}
for d in ../elsewhere/x ../fifo hanko.example/../../elsewhere/x \
    'x/y' '..' 'HANKO.EXAMPLE/../../elsewhere/x'; do
	pmsg "$d" >"$T/pm"
	prun "$T/so" "$T/se" <"$T/pm"
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		nok "filter: From domain $d: hung"
	elif [ $rc -eq 65 ] && [ ! -s "$T/so" ] &&
	    grep -q 'not a host name' "$T/se"; then
		ok "filter: From domain $d: refused (65), says it is not a host name"
	else
		nok "filter: From domain $d: exit $rc, want 65 and a reason"
		head -3 "$T/se" | sed 's/^/#   /'
	fi
done
pmsg fifo.example >"$T/pm"
prun "$T/so" "$T/se" <"$T/pm"
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then nok "filter: FIFO at the key path: hung"
elif [ $rc -eq 66 ] && [ ! -s "$T/so" ] && grep -q 'not a regular file' "$T/se"; then
	ok "filter: FIFO at the key path: refused (66), not a regular file"
else
	nok "filter: FIFO at the key path: exit $rc, want 66"
	head -3 "$T/se" | sed 's/^/#   /'
fi
pmsg hanko.example >"$T/pm"
prun "$T/so" "$T/se" <"$T/pm"
check "filter: a good From domain is still signed with its % key" \
    sh -c "test $rc -eq 0 && grep -q '^DKIM-Signature:.*d=hanko.example' '$T/so'"

mkdir -p "$K/spool" "$K/out"
pmsg hanko.example >"$K/spool/good1"
pmsg ../elsewhere/x >"$K/spool/traverse"
pmsg ../fifo >"$K/spool/traverse-fifo"
pmsg fifo.example >"$K/spool/fifo"
pmsg hanko.example >"$K/spool/good2"
prun "$T/bo" "$T/be" -j 2 "$K/spool" "$K/out"
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	nok "batch with hostile % domains: hung"
else
	check "batch with hostile % domains: exit 1 (some failed)" test $rc -eq 1
	check "batch: the good messages are signed" \
	    sh -c "test -f '$K/out/good1' && test -f '$K/out/good2'"
	for f in traverse traverse-fifo; do
		check "batch: $f failed, reason: not a host name" \
		    grep -q 'not a host name' "$K/spool/failed/$f.reason"
	done
	check "batch: FIFO at the key path failed, reason: not a regular file" \
	    grep -q 'not a regular file' "$K/spool/failed/fifo.reason"
fi

# Batch mode: every hostile input above through the spool pipeline at
# once. Each must end up signed in OUT (ending with its own bytes) or,
# unchanged, in the failed directory with a non-empty NAME.reason; none
# lost, none in both, within the time and memory bound.
mkdir -p "$T/spool" "$T/keep" "$T/out"
for f in nocolon nulhdr nulname nulbody longline many many2 nosep onlybody \
    trunc trunc2 empty garbage utf8 utf8b utf8c manytags bigb big inj1 inj2 \
    inj3 inj4 nest nest2 many-from; do
	[ -f "$T/$f" ] && cp "$T/$f" "$T/keep/$f" && cp "$T/$f" "$T/spool/$f"
done
n=$(ls "$T/keep" | wc -l)
run "$T/bo" "$T/be" "$HANKO" sign -d hanko.example -s ed -k "$T/ed.private" \
    --time 1700000000 --max-size 2000000 "$T/spool" "$T/out"
if [ $rc -eq 124 ]; then nok "batch of $n hostile inputs: hung"
elif ! sanitizer_clean "$T/be"; then nok "batch: sanitizer report"
elif [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
	nok "batch of $n hostile inputs: exit $rc"; head -5 "$T/be" | sed 's/^/#   /'
else
	bad=""; nsigned=0; nfailed=0
	for f in $(ls "$T/keep"); do
		if [ -f "$T/out/$f" ] && [ -f "$T/spool/failed/$f" ]; then
			bad="$bad $f(both)"
		elif [ -f "$T/out/$f" ]; then
			_sz=$(wc -c <"$T/keep/$f")
			if [ "$_sz" -gt 0 ] && ! tail -c "$_sz" "$T/out/$f" | cmp -s - "$T/keep/$f"; then
				bad="$bad $f(signed copy differs)"
			fi
			nsigned=$((nsigned + 1))
		elif [ -f "$T/spool/failed/$f" ]; then
			if ! cmp -s "$T/spool/failed/$f" "$T/keep/$f"; then
				bad="$bad $f(failed copy changed)"
			elif [ ! -s "$T/spool/failed/$f.reason" ]; then
				bad="$bad $f(no reason)"
			fi
			nfailed=$((nfailed + 1))
		else
			bad="$bad $f(lost)"
		fi
		[ -f "$T/spool/$f" ] && bad="$bad $f(left in the spool)"
	done
	if [ -n "$bad" ]; then
		nok "batch of $n hostile inputs:$bad"
	else
		ok "batch of $n hostile inputs: $nsigned signed, $nfailed in failed/ with a reason, none lost (exit $rc)"
	fi
fi
finish
