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

interop_keys
Q=$T/query
"$PY" "$IOP/zonefile.py" flat "$ZONE" >"$Q"

# Driving the peer for the two-way run in tests/interop/common.sh.
PEER=mailauth
peer_verify() { _q=$1; shift; $TOOL verify -q "$_q" "$@"; }
peer_sign() {
	$TOOL sign -d "$DOMAIN" -s "$1" -k "$KEYS/$1.private" -a "$2" \
	    -c "$3" -o "$4" "$MSGS"/*.eml
}

"$PY" "$IOP/zonefile.py" flat "$RFC8463/keys.zone" >"$T/rfc8463.q"
interop_rfc8463 "$T/rfc8463.q"
interop_hanko_to_peer "$Q"
interop_peer_to_hanko "$ZONE"

finish
