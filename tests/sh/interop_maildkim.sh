#!/bin/sh
# Interop with Mail::DKIM (Debian libmail-dkim-perl): hanko-signed messages
# verify in Mail::DKIM::Verifier and Mail::DKIM::Signer output verifies in
# hanko, for every canonicalization pair over tests/interop/msgs/*.eml. RSA
# only: Mail::DKIM 1.20230212 (Debian 12) has no Ed25519. Tampered copies
# must fail on the other side. DNS is answered offline from the zone file
# (tests/interop/maildkim_tool.pl installs a resolver object with
# Mail::DKIM::DNS::resolver()). Mail::DKIM is fed CRLF (bare LF -> CRLF),
# what the MTA would see on the wire, as its own dkimverify.pl does.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/interop/common.sh"

TOOL=$IOP/maildkim_tool.pl
command -v perl >/dev/null 2>&1 || skip_all "no perl"
perl -MMail::DKIM::Verifier -MMail::DKIM::Signer -MNet::DNS::ZoneFile -e 1 \
    2>/dev/null || skip_all "libmail-dkim-perl not installed"

KEYS=$T/keys
hanko_keys "$KEYS" || { nok "hanko keygen"; finish; exit; }
ZONE=$KEYS/zone

# --- harness sanity: the RFC 8463 example (its RSA signature) ---------------
# signed.eml also carries an Ed25519 signature, which this Mail::DKIM reports
# as "invalid (unsupported algorithm)"; signed-rsa-only.eml is the same
# message with only the RSA one.
r=$RFC8463/signed-rsa-only.eml
perl "$TOOL" verify -z "$RFC8463/keys.zone" "$r" >"$T/r.out" 2>&1
peer_result "Mail::DKIM verifies the RFC 8463 example (rsa)" pass "$r" "$T/r.out"
tamper_header "$r" "$T/rfc8463-tampered.eml"
perl "$TOOL" verify -z "$RFC8463/keys.zone" "$T/rfc8463-tampered.eml" >"$T/r.out" 2>&1
peer_result "Mail::DKIM rejects the tampered RFC 8463 example" fail "$T/rfc8463-tampered.eml" "$T/r.out"

# --- hanko signs, Mail::DKIM verifies ----------------------------------------
H2P=$T/h2p
for c in $CANONS; do
	hanko_sign_all "$H2P/rsa-$(cslug "$c")" rsa rsa "$c"
done
for f in "$H2P"/*/*.eml; do
	tamper_body "$f" "${f%.eml}.tbody"
	tamper_header "$f" "${f%.eml}.thdr"
done
perl "$TOOL" verify -z "$ZONE" "$H2P"/*/*.eml "$H2P"/*/*.tbody \
    "$H2P"/*/*.thdr >"$T/h2p.out" 2>&1
for c in $CANONS; do
	d=$H2P/rsa-$(cslug "$c")
	for m in "$MSGS"/*.eml; do
		n=$(basename "$m" .eml)
		peer_result "hanko->Mail::DKIM rsa $c $n" pass "$d/$n.eml" "$T/h2p.out"
		peer_result "hanko->Mail::DKIM rsa $c $n: body tamper rejected" fail "$d/$n.tbody" "$T/h2p.out"
		peer_result "hanko->Mail::DKIM rsa $c $n: header tamper rejected" fail "$d/$n.thdr" "$T/h2p.out"
	done
done

# --- Mail::DKIM signs, hanko verifies ----------------------------------------
P2H=$T/p2h
for c in $CANONS; do
	d=$P2H/rsa-$(cslug "$c")
	mkdir -p "$d"
	perl "$TOOL" sign -d "$DOMAIN" -s rsa -k "$KEYS/rsa.private" -c "$c" \
	    -o "$d" "$MSGS"/*.eml >"$T/.out" 2>&1 ||
	    { nok "Mail::DKIM sign $c"; sed 's/^/#   /' "$T/.out" | head -5; }
	for m in "$MSGS"/*.eml; do
		n=$(basename "$m" .eml)
		hanko_verifies "Mail::DKIM->hanko rsa $c $n" "$d/$n.eml" "$ZONE"
		tamper_body "$d/$n.eml" "$d/$n.tbody"
		hanko_rejects "Mail::DKIM->hanko rsa $c $n: body tamper rejected" "$d/$n.tbody" "$ZONE"
		tamper_header "$d/$n.eml" "$d/$n.thdr"
		hanko_rejects "Mail::DKIM->hanko rsa $c $n: header tamper rejected" "$d/$n.thdr" "$ZONE"
	done
done

PEER=Mail::DKIM
peer_verify() { _z=$1; shift; perl "$TOOL" verify -z "$_z" "$@"; }
peer_sign_files() {
	_a=$1 _c=$2 _o=$3
	shift 3
	perl "$TOOL" sign -d "$DOMAIN" -s "$_a" -k "$KEYS/$_a.private" -c "$_c" \
	    -o "$_o" "$@"
}
interop_fields_only "$ZONE" rsa

finish
