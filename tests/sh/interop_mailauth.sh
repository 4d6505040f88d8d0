#!/bin/sh
# Interop with the npm package mailauth (Node.js), installed on first use
# into $TOP/build/npm (npm install --prefix). Both directions, RSA and
# Ed25519, every canonicalization pair, over tests/interop/msgs/*.eml, with
# tampered copies that must fail. DNS: a resolver callback answering from the
# zone (tests/interop/mailauth_tool.js). Skipped when node/npm is missing or
# the package cannot be installed (offline).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/interop/common.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no /usr/bin/python3 (zone file conversion)"
command -v node >/dev/null 2>&1 || skip_all "no node"
NPMDIR=$TOP/build/npm
MAILAUTH_DIR=$NPMDIR/node_modules/mailauth
export MAILAUTH_DIR
if [ ! -f "$MAILAUTH_DIR/lib/dkim/verify.js" ]; then
	command -v npm >/dev/null 2>&1 || skip_all "no npm"
	mkdir -p "$NPMDIR"
	npm install --silent --no-audit --no-fund --prefix "$NPMDIR" mailauth \
	    >"$T/npm.out" 2>&1 && [ -f "$MAILAUTH_DIR/lib/dkim/verify.js" ] ||
	    skip_all "npm install mailauth failed"
fi
echo "# mailauth $(node -p "require('$MAILAUTH_DIR/package.json').version")"
TOOL="node $IOP/mailauth_tool.js"

KEYS=$T/keys
hanko_keys "$KEYS" || { nok "hanko keygen"; finish; exit; }
ZONE=$KEYS/zone
Q=$T/query
"$PY" "$IOP/zonefile.py" flat "$ZONE" >"$Q"

# --- harness sanity: the RFC 8463 example (rsa + ed25519) -------------------
"$PY" "$IOP/zonefile.py" flat "$RFC8463/keys.zone" >"$T/rfc8463.q"
$TOOL verify -q "$T/rfc8463.q" "$RFC8463/signed.eml" >"$T/r.out" 2>&1
peer_result "mailauth verifies the RFC 8463 example (rsa + ed25519)" pass "$RFC8463/signed.eml" "$T/r.out"
tamper_body "$RFC8463/signed.eml" "$T/rfc8463-tampered.eml"
$TOOL verify -q "$T/rfc8463.q" "$T/rfc8463-tampered.eml" >"$T/r.out" 2>&1
peer_result "mailauth rejects the tampered RFC 8463 example" fail "$T/rfc8463-tampered.eml" "$T/r.out"

# --- hanko signs, mailauth verifies ------------------------------------------
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
$TOOL verify -q "$Q" "$H2P"/*/*.eml "$H2P"/*/*.tbody "$H2P"/*/*.thdr \
    >"$T/h2p.out" 2>&1
for alg in rsa ed; do
	for c in $CANONS; do
		d=$H2P/$alg-$(cslug "$c")
		for m in "$MSGS"/*.eml; do
			n=$(basename "$m" .eml)
			peer_result "hanko->mailauth $alg $c $n" pass "$d/$n.eml" "$T/h2p.out"
			peer_result "hanko->mailauth $alg $c $n: body tamper rejected" fail "$d/$n.tbody" "$T/h2p.out"
			peer_result "hanko->mailauth $alg $c $n: header tamper rejected" fail "$d/$n.thdr" "$T/h2p.out"
		done
	done
done

# --- mailauth signs, hanko verifies --------------------------------------------
P2H=$T/p2h
for alg in rsa ed; do
	a=rsa; [ "$alg" = ed ] && a=ed25519
	for c in $CANONS; do
		d=$P2H/$alg-$(cslug "$c")
		mkdir -p "$d"
		$TOOL sign -d "$DOMAIN" -s "$alg" -k "$KEYS/$alg.private" -a "$a" \
		    -c "$c" -o "$d" "$MSGS"/*.eml >"$T/.out" 2>&1 ||
		    { nok "mailauth sign $alg $c"; sed 's/^/#   /' "$T/.out" | head -5; }
		for m in "$MSGS"/*.eml; do
			n=$(basename "$m" .eml)
			hanko_verifies "mailauth->hanko $alg $c $n" "$d/$n.eml" "$ZONE"
			tamper_body "$d/$n.eml" "$d/$n.tbody"
			hanko_rejects "mailauth->hanko $alg $c $n: body tamper rejected" "$d/$n.tbody" "$ZONE"
			tamper_header "$d/$n.eml" "$d/$n.thdr"
			hanko_rejects "mailauth->hanko $alg $c $n: header tamper rejected" "$d/$n.thdr" "$ZONE"
		done
	done
done

finish
