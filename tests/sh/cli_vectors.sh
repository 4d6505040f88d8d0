#!/bin/sh
# Golden DKIM verify vectors: tests/vectors/dkim/NNN-name.{eml,args,expect}.
# Each .eml is verified against keys.zone at a fixed time and stdout must
# equal the .expect file byte for byte (regenerate with `make
# vectors-update`, never from here). Every Authentication-Results field is
# also checked for RFC 8601 well-formedness, and the exit status against
# the results.
. "$(dirname "$0")/../lib.sh"

V=$TOP/tests/vectors/dkim
VERIFY_TIME=1700003600	# keep in step with tests/vectors-update.sh
[ -f "$V/keys.zone" ] || skip_all "no vectors in $V"

# RFC 8601 section 2.2 grammar, reduced to what one DKIM result uses:
# authserv-id ";" resinfo *(";" resinfo) or "; dkim=none", each value a
# token or a quoted-string, comments balanced, no control characters.
cat >"$T/ar.py" <<'PY'
import re, sys
tok = r'[^\x00-\x20\x7f()<>@,;:\\"/\[\]?=]+'
qs = r'"(?:[^"\\\r\n]|\\[\x20-\x7e])*"'
ctext = r'(?:[^()\\\r\n]|\\[\x20-\x7e])'
cmt = r'\((?:%s|\((?:%s)*\))*\)' % (ctext, ctext)
# pvalue: value / [[local-part] "@"] domain-name (RFC 8601 2.2)
addr = r'(?:%s)?@[A-Za-z0-9.-]+' % tok
val = r'(?:%s|%s|%s)' % (addr, tok, qs)
prop = r'(?:header|body|smtp|policy)\.[A-Za-z0-9-]+=%s' % val
res = r'dkim=(?:pass|fail|neutral|policy|temperror|permerror|none)' \
      r'(?:\s+%s)?(?:\s+reason=%s)?(?:\s+%s)*(?:\s+%s)?' % (cmt, qs, prop, cmt)
ar = r'Authentication-Results:\s+%s;\s*(?:%s)(?:;\s+%s)*' % (tok, res, res)
bad = 0
fields, cur = [], None
for line in sys.stdin.read().split("\n"):
    if line.startswith("Authentication-Results:"):
        cur = [line]; fields.append(cur)
    elif line.startswith("\t") and cur is not None:
        cur.append(line)
    else:
        cur = None
for f in fields:
    s = " ".join(f)
    if re.search(r'[\x00-\x08\x0a-\x1f\x7f]', s) or not re.fullmatch(ar, s):
        print("malformed: " + s); bad += 1
if not fields:
    print("no Authentication-Results field"); bad += 1
sys.exit(1 if bad else 0)
PY

cd "$V" || exit 1
n=0
for eml in [0-9][0-9][0-9]-*.eml; do
	v=${eml%.eml}
	n=$((n + 1))
	if [ ! -f "$v.expect" ]; then
		nok "$v: no $v.expect (run make vectors-update)"
		continue
	fi
	args=$(cat "$v.args" 2>/dev/null)
	# shellcheck disable=SC2086 # args are words on purpose
	"$HANKO" verify --dns-zone keys.zone --time "$VERIFY_TIME" \
	    --authserv-id test.example $args "$eml" >"$T/out" 2>"$T/err"
	rc=$?
	if cmp -s "$T/out" "$v.expect"; then
		ok "$v: output matches $v.expect"
	else
		nok "$v: output differs from $v.expect"
		diff "$v.expect" "$T/out" | head -20 | sed 's/^/#   /'
	fi
	# Exit status agrees with the results: 0 iff some dkim=pass, 75 iff
	# a temperror and no pass, else 1.
	if grep -q 'dkim=pass\|"result":"pass"' "$T/out"; then want=0
	elif grep -q 'dkim=temperror\|"result":"temperror"' "$T/out"; then want=75
	else want=1; fi
	if [ "$rc" -eq "$want" ]; then ok "$v: exit $rc"
	else nok "$v: exit $rc, want $want"; sed 's/^/#   /' "$T/err"; fi
	case $args in
	*--json*)
		if /usr/bin/python3 -m json.tool <"$T/out" >/dev/null 2>&1; then
			ok "$v: valid JSON"
		else nok "$v: invalid JSON"; fi
		/usr/bin/python3 -c 'import json,sys
print(json.load(sys.stdin)["authentication_results"])' <"$T/out" \
		    >"$T/ar" 2>/dev/null ;;
	*) cp "$T/out" "$T/ar" ;;
	esac
	if /usr/bin/python3 "$T/ar.py" <"$T/ar" >"$T/arerr" 2>&1; then
		ok "$v: Authentication-Results well-formed"
	else
		nok "$v: Authentication-Results malformed"
		sed 's/^/#   /' "$T/arerr"
	fi
done
[ "$n" -ge 20 ] && ok "found $n vectors" || nok "found only $n vectors"

# The results the vectors exist for, spelled out, so that a bad
# `make vectors-update` cannot silently bless a regression.
want() {	# want VECTOR PATTERN
	if grep -q -- "$2" "$1.expect"; then ok "$1: expect has $2"
	else nok "$1: expect lacks $2"; fi
}
want 001-rfc8463-signed 'dkim=pass .*header.s=brisbane'
want 001-rfc8463-signed 'dkim=pass .*header.s=test'
for v in 002-pass-rsa-relaxed-relaxed 003-pass-rsa-relaxed-simple \
    004-pass-rsa-simple-relaxed 005-pass-rsa-simple-simple \
    006-pass-ed-relaxed-relaxed 007-pass-ed-relaxed-simple \
    008-pass-ed-simple-relaxed 009-pass-ed-simple-simple \
    018-l-partial-body 019-testing-key; do
	want $v 'dkim=pass'
done
want 010-fail-body-tamper 'dkim=fail'
want 011-fail-header-tamper 'dkim=fail'
want 012-revoked-key 'dkim=permerror'
want 013-missing-key 'dkim=permerror'
want 014-temperror 'dkim=temperror'
want 015-rsa-sha1 'dkim=permerror'
want 016-h-without-from 'dkim=permerror'
want 017-expired 'dkim=permerror'
want 018-l-partial-body 'l='
want 019-testing-key 'testing'
want 020-hostile-d-semicolon 'dkim=permerror'
want 021-hostile-d-quotes 'dkim=permerror'
want 023-malformed-no-colon 'dkim=permerror'
want 024-dual-json '"result":"pass"'
want 025-unsigned 'dkim=none'
want 026-rfc8463-ed25519-tamper 'dkim=fail'
c=$(grep -c 'dkim=' 022-too-many-signatures.expect)
[ "$c" -eq 10 ] && ok "022: ten signatures checked, the rest skipped" ||
    nok "022: $c signatures checked, want 10"

# Both relaxed and simple canonicalization really matter: the relaxed
# vectors were re-spaced after signing, so the same change under simple
# canonicalization must fail.
sed 's/^Subject: Quarterly numbers/SUBJECT:   Quarterly \t numbers  /' \
    005-pass-rsa-simple-simple.eml >"$T/s.eml"
"$HANKO" verify --dns-zone keys.zone --time "$VERIFY_TIME" \
    --authserv-id test.example "$T/s.eml" >"$T/out" 2>&1
grep -q 'dkim=fail' "$T/out" && ok "simple header canon rejects re-spacing" ||
    nok "simple header canon accepted re-spacing"

finish
