#!/bin/sh
# Interop with dkimpy (Debian python3-dkim, run by /usr/bin/python3):
# hanko-signed messages verify in dkimpy and dkimpy-signed ones in hanko, for
# every canonicalization pair, RSA and Ed25519, over tests/interop/msgs/*.eml.
# Tampered copies (body line appended, Subject changed) must fail on the
# other side, so a harness that passes everything cannot go unnoticed.
#
# LF-only messages: dkimpy's parser accepts CRLF or bare LF and rebuilds the
# message with CRLF (what the MTA sends on the wire), so lf-only.eml is given
# to dkimpy as stored; hanko likewise treats bare LF as CRLF.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/interop/common.sh"

PY=/usr/bin/python3
TOOL=$IOP/dkimpy_tool.py
[ -x "$PY" ] || skip_all "no /usr/bin/python3"
"$PY" -c 'import dkim, nacl.signing' 2>/dev/null ||
    skip_all "python3-dkim (with python3-nacl) not importable by $PY"

interop_keys

# Driving the peer for the two-way run in tests/interop/common.sh.
PEER=dkimpy
peer_verify() { _z=$1; shift; "$PY" "$TOOL" verify -z "$_z" "$@"; }
peer_sign() {
	"$PY" "$TOOL" sign -d "$DOMAIN" -s "$1" -k "$KEYS/$1.private" \
	    -a "$2" -c "$3" --all-headers -o "$4" "$MSGS"/*.eml
}

interop_rfc8463 "$RFC8463/keys.zone"
interop_hanko_to_peer "$ZONE"
interop_peer_to_hanko "$ZONE"

peer_sign_files() {
	_a=$1 _c=$2 _o=$3
	shift 3
	"$PY" "$TOOL" sign -d "$DOMAIN" -s "$_a" -k "$KEYS/$_a.private" \
	    -a "$([ "$_a" = ed ] && echo ed25519 || echo rsa)" -c "$_c" \
	    --all-headers -o "$_o" "$@"
}
interop_fields_only "$ZONE" ed

# --- key formats: dkimpy's Ed25519 key file (base64 seed) works in hanko ----
"$PY" - "$KEYS/ed.private" >"$T/ed.seed" <<'PY'
import base64, sys
der = base64.b64decode(b''.join(l for l in open(sys.argv[1], 'rb').read().splitlines() if l and not l.startswith(b'-----')))
print(base64.b64encode(der[16:48]).decode())
PY
chmod 600 "$T/ed.seed"
m=$MSGS/utf8.eml
"$HANKO" sign -d "$DOMAIN" -s ed -k "$T/ed.seed" --time 1700000000 <"$m" >"$T/seed.eml" 2>"$T/.err"
"$HANKO" sign -d "$DOMAIN" -s ed -k "$KEYS/ed.private" --time 1700000000 <"$m" >"$T/pem.eml" 2>>"$T/.err"
check "hanko: base64-seed and PKCS#8 forms of one Ed25519 key sign identically" \
    cmp "$T/seed.eml" "$T/pem.eml"
"$PY" "$TOOL" verify -z "$ZONE" "$T/seed.eml" >"$T/r.out" 2>&1
peer_result "hanko (seed key, default headers) -> dkimpy" pass "$T/seed.eml" "$T/r.out"

# --- a campaign: bodies repeat, so a batch reuses their hashes ----------------
# 30 messages with personalised headers over four raw bodies: the campaign's,
# the same with one byte changed, the same with bare LF line ends, and the
# same with two blank lines more (which canonicalize away). One worker keeps
# all four, so every message after the first of its body reuses a hash; each
# batch signature must be byte for byte the one filter mode (which never
# reuses) makes, and dkimpy must verify every message.
camp=$T/campaign
mkdir -p "$camp/spool" "$camp/out" "$camp/filter"
sed -n '1,/^\r*$/p' "$MSGS/multipart.eml" | grep -v '^To:' >"$camp/head"
sed '1,/^\r*$/d' "$MSGS/multipart.eml" >"$camp/b0"
sed '0,/e/s//E/' "$camp/b0" >"$camp/b1"
tr -d '\r' <"$camp/b0" >"$camp/b2"
{ cat "$camp/b0"; printf '\r\n\r\n'; } >"$camp/b3"
i=0
for b in 0 0 1 2 3 0 0 1 2 3 0 0 1 2 3 0 0 1 2 3 0 0 1 2 3 0 0 1 2 3; do
	i=$((i + 1))
	{
		printf 'To: <reader%d@example.net>\r\n' "$i"
		cat "$camp/head"
		cat "$camp/b$b"
	} >"$camp/m$i.tmp"
	if [ "$b" = 2 ]; then tr -d '\r' <"$camp/m$i.tmp" >"$camp/spool/m$i.eml"
	else cp "$camp/m$i.tmp" "$camp/spool/m$i.eml"; fi
	"$HANKO" sign -d "$DOMAIN" -s ed -k "$KEYS/ed.private" --time 1700000000 \
	    <"$camp/spool/m$i.eml" >"$camp/filter/m$i.eml" 2>>"$T/.err"
done
check "hanko: campaign batch of 30 messages, one worker" \
    "$HANKO" sign -d "$DOMAIN" -s ed -k "$KEYS/ed.private" --time 1700000000 \
    -j 1 --stats-json "$camp/stats.json" "$camp/spool" "$camp/out"
check "hanko: 26 of 30 body hashes reused (4 distinct raw bodies)" \
    grep -q '"bodies_reused":26[,}]' "$camp/stats.json"
same=0
for f in "$camp"/filter/*.eml; do
	cmp -s "$f" "$camp/out/${f##*/}" && same=$((same + 1))
done
check "hanko: every reused-hash batch signature equals filter mode's ($same/30)" \
    test "$same" = 30
"$PY" "$TOOL" verify -z "$ZONE" "$camp"/out/*.eml >"$camp/r.out" 2>&1
check "dkimpy verifies all 30 campaign messages" \
    test "$(grep -c '^pass ' "$camp/r.out")" = 30

finish
