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

KEYS=$T/keys
hanko_keys "$KEYS" || { nok "hanko keygen"; finish; exit; }
ZONE=$KEYS/zone

# --- harness sanity: the RFC 8463 example verifies in dkimpy ---------------
"$PY" "$TOOL" verify -z "$RFC8463/keys.zone" "$RFC8463/signed.eml" >"$T/r.out" 2>&1
peer_result "dkimpy verifies the RFC 8463 example (rsa + ed25519)" pass "$RFC8463/signed.eml" "$T/r.out"
tamper_body "$RFC8463/signed.eml" "$T/rfc8463-tampered.eml"
"$PY" "$TOOL" verify -z "$RFC8463/keys.zone" "$T/rfc8463-tampered.eml" >"$T/r.out" 2>&1
peer_result "dkimpy rejects the tampered RFC 8463 example" fail "$T/rfc8463-tampered.eml" "$T/r.out"

# --- hanko signs, dkimpy verifies -------------------------------------------
H2P=$T/h2p
for alg in rsa ed; do
	for c in $CANONS; do
		hanko_sign_all "$H2P/$alg-$(cslug "$c")" "$alg" "$alg" "$c"
	done
done
for f in "$H2P"/*/*.eml; do
	tamper_body "$f" "${f%.eml}.tbody"
	tamper_header "$f" "${f%.eml}.thdr"
done
# one dkimpy process for everything (startup dominates otherwise)
"$PY" "$TOOL" verify -z "$ZONE" "$H2P"/*/*.eml "$H2P"/*/*.tbody \
    "$H2P"/*/*.thdr >"$T/h2p.out" 2>&1
for alg in rsa ed; do
	for c in $CANONS; do
		d=$H2P/$alg-$(cslug "$c")
		for m in "$MSGS"/*.eml; do
			n=$(basename "$m" .eml)
			peer_result "hanko->dkimpy $alg $c $n" pass "$d/$n.eml" "$T/h2p.out"
			peer_result "hanko->dkimpy $alg $c $n: body tamper rejected" fail "$d/$n.tbody" "$T/h2p.out"
			peer_result "hanko->dkimpy $alg $c $n: header tamper rejected" fail "$d/$n.thdr" "$T/h2p.out"
		done
	done
done

# --- dkimpy signs, hanko verifies -------------------------------------------
P2H=$T/p2h
for alg in rsa ed; do
	a=rsa; [ "$alg" = ed ] && a=ed25519
	for c in $CANONS; do
		d=$P2H/$alg-$(cslug "$c")
		mkdir -p "$d"
		"$PY" "$TOOL" sign -d "$DOMAIN" -s "$alg" -k "$KEYS/$alg.private" \
		    -a "$a" -c "$c" --all-headers -o "$d" "$MSGS"/*.eml >"$T/.out" 2>&1 ||
		    { nok "dkimpy sign $alg $c"; sed 's/^/#   /' "$T/.out" | head -5; }
		for m in "$MSGS"/*.eml; do
			n=$(basename "$m" .eml)
			hanko_verifies "dkimpy->hanko $alg $c $n" "$d/$n.eml" "$ZONE"
			tamper_body "$d/$n.eml" "$d/$n.tbody"
			hanko_rejects "dkimpy->hanko $alg $c $n: body tamper rejected" "$d/$n.tbody" "$ZONE"
			tamper_header "$d/$n.eml" "$d/$n.thdr"
			hanko_rejects "dkimpy->hanko $alg $c $n: header tamper rejected" "$d/$n.thdr" "$ZONE"
		done
	done
done

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

finish
