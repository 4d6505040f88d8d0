#!/bin/sh
# A real authoritative DNS server for the live-DNS suites.
#
#   tests/dns/server.sh start DIR    prints the port it serves on
#   tests/dns/server.sh stop DIR     stops it (safe to call twice, or after
#                                    a failed start)
#
# start generates everything into DIR (which it creates): the zones from the
# templates beside this script, with the test keys of
# tests/vectors/dkim/keys/*.txt; a DNSSEC key pair for secure.example and the
# signed zone; the trust anchors; the NSD configuration. It then starts NSD
# on 127.0.0.1 on a free high port (UDP and TCP) and waits until it answers.
#
# Zones:
#   hanko.example   unsigned. rsa, ed (the test keys), multi (the RSA key cut
#                   into many short strings), revoked (p=), alias (CNAME to
#                   ed-key.keys.hanko.example), xalias (CNAME into
#                   secure.example), bulk001..bulk200 (the Ed25519 key),
#                   missing (NXDOMAIN); for typed lookups: MX at the apex
#                   (10 mail, 20 MX2.Hanko.Example.), mail (two A, one
#                   AAAA), mx2, nomail (null MX), www (CNAME mail),
#                   mxalias (CNAME to the apex), big (200 A records)
#   0.0.192.in-addr.arpa, f.f.f.3.ip6.arpa
#                   unsigned reverse zones: PTRs for mail's addresses
#   hanko.test, 10.in-addr.arpa
#                   zones libunbound would answer itself (RFC 6761, RFC
#                   6303): ed key, SPF and DMARC records; PTR for 10.0.0.10
#   secure.example  signed (ECDSA P-256, NSEC): rsa, ed, rsa-key.keys
#   broken.example  configured without a zone file: NSD answers SERVFAIL
#
# Files left in DIR for the tests:
#   port                    the port (also printed)
#   trust-anchor            DS of secure.example's KSK, for --dnssec / unbound
#   trust-anchor.dnskey     the same anchor as a DNSKEY record
#   trust-anchor.wrong      a DS for a key the zone does not use (answers from
#                           secure.example are then bogus)
#   nsd.log, nsd.pid, nsd.conf
#
# If HANKO_DNS_OWNER holds a process id, a watchdog stops the server when
# that process is gone, so a suite killed with SIGKILL leaves nothing behind.
#
# Needs nsd (package nsd) and ldns-keygen, ldns-signzone, drill (package
# ldnsutils); it installs nothing. Exit status 0, or 1 with a message.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
KEYS=$TOP/tests/vectors/dkim/keys
PY=/usr/bin/python3	# the system one: starts fast, always has socket
[ -x "$PY" ] || PY=python3

die() { echo "server.sh: $*" >&2; exit 1; }
. "$HERE/nsd_lib.sh"

# The value of a TXT record file: its character-strings, concatenated.
txt_value() { grep -o '"[^"]*"' "$1" | tr -d '"\n'; }

# The value cut into quoted character-strings of at most $2 bytes.
txt_split() {
	printf '%s\n' "$1" | fold -b -w "$2" | sed 's/.*/"&"/' |
	    tr '\n' ' ' | sed 's/^/( /; s/ $/ )/'
}

fill() {	# fill TEMPLATE OUT: replace the @...@ fields
	sed -e "s|@SERIAL@|$SERIAL|g" -e "s|@RSA_TXT@|$RSA_TXT|g" \
	    -e "s|@ED_TXT@|$ED_TXT|g" -e "s|@RSA_MULTI_TXT@|$RSA_MULTI_TXT|g" \
	    -e "s|@DIR@|$DIR|g" -e "s|@PORT@|${PORT:-0}|g" "$1" >"$2" ||
	    die "cannot write $2"
}

make_zones() {
	RSA=$(txt_value "$KEYS/rsa.txt")
	ED=$(txt_value "$KEYS/ed.txt")
	case $RSA in v=DKIM1*p=?*) ;; *) die "no key in $KEYS/rsa.txt" ;; esac
	case $ED in v=DKIM1*p=?*) ;; *) die "no key in $KEYS/ed.txt" ;; esac
	RSA_TXT=$(txt_split "$RSA" 255)
	ED_TXT=$(txt_split "$ED" 255)
	# 37 bytes: "v=DKIM1; k=rsa; p=" splits inside, then ~11 strings.
	RSA_MULTI_TXT=$(txt_split "$RSA" 37)
	SERIAL=$(date +%s)
	fill "$HERE/hanko.example.zone.in" "$DIR/hanko.example.zone"
	# bulk001..bulk200: the Ed25519 key under 200 names, for batches whose
	# messages each need a lookup of their own
	seq -f 'bulk%03g._domainkey' 1 200 |
	    sed "s|\$|	IN	TXT	$ED_TXT|" >>"$DIR/hanko.example.zone" ||
	    die "cannot write $DIR/hanko.example.zone"
	# big: 200 A records (192.0.1.0 .. 192.0.1.199), too many for UDP
	seq -f 'big	IN	A	192.0.1.%g' 0 199 >>"$DIR/hanko.example.zone" ||
	    die "cannot write $DIR/hanko.example.zone"
	for z in 0.0.192.in-addr.arpa f.f.f.3.ip6.arpa hanko.test \
	    10.in-addr.arpa; do
		fill "$HERE/$z.zone.in" "$DIR/$z.zone"
	done
	fill "$HERE/secure.example.zone.in" "$DIR/secure.example.zone"
	rm -f "$DIR/broken.example.zone"

	# DNSSEC: a KSK and a ZSK, a fresh pair per start (nothing secret is
	# kept in the tree). ldns-keygen prints the base name of its files.
	rm -rf "$DIR/keys"
	mkdir "$DIR/keys" || die "cannot create $DIR/keys"
	(
		cd "$DIR/keys" || exit 1
		ksk=$(ldns-keygen -a ECDSAP256SHA256 -k secure.example) &&
		zsk=$(ldns-keygen -a ECDSAP256SHA256 secure.example) &&
		wrong=$(ldns-keygen -a ECDSAP256SHA256 -k secure.example) &&
		# signatures valid from an hour ago for 30 days
		ldns-signzone -i "$(date -u -d '-1 hour' +%Y%m%d%H%M%S)" \
		    -e "$(date -u -d '+30 days' +%Y%m%d%H%M%S)" \
		    -f "$DIR/secure.example.zone.signed" \
		    "$DIR/secure.example.zone" "$ksk" "$zsk" &&
		cp "$ksk.ds" "$DIR/trust-anchor" &&
		cp "$ksk.key" "$DIR/trust-anchor.dnskey" &&
		cp "$wrong.ds" "$DIR/trust-anchor.wrong"
	) >"$DIR/sign.log" 2>&1 || { cat "$DIR/sign.log" >&2;
		die "signing secure.example failed"; }
}

conf() {	# nsd.conf for $PORT, checked; a fresh log per attempt
	fill "$HERE/nsd.conf.in" "$DIR/nsd.conf"
	nsd-checkconf "$DIR/nsd.conf" >&2 || die "bad $DIR/nsd.conf"
	: >"$DIR/nsd.log"
}

ready() {	# both zones answer, secure.example signed
	drill -Q -p "$PORT" SOA hanko.example @127.0.0.1 2>/dev/null |
	    grep -q . &&
	    drill -p "$PORT" -D TXT ed._domainkey.secure.example \
	    @127.0.0.1 2>/dev/null | grep -q 'IN[[:space:]]*RRSIG'
}

[ $# -eq 2 ] || die "usage: server.sh start|stop DIR"
case $1 in
start)
	mkdir -p "$2" || die "cannot create $2"
	DIR=$(cd "$2" && pwd)
	for c in nsd nsd-checkconf ldns-keygen ldns-signzone drill "$PY"; do
		command -v "$c" >/dev/null 2>&1 ||
		    die "$c not found (packages: nsd ldnsutils python3)"
	done
	pid=$(cat "$DIR/nsd.pid" 2>/dev/null)
	alive "$pid" && die "already running in $DIR (pid $pid)"
	make_zones
	if nsd_start conf ready 100; then	# up to 10 s a port
		echo "$PORT" >"$DIR/port"
		nsd_watchdog
		echo "$PORT"
		exit 0
	fi
	sed 's/^/server.sh: nsd: /' "$DIR/nsd.log" >&2
	die "nsd did not start"
	;;
stop)
	[ -d "$2" ] || exit 0
	DIR=$(cd "$2" && pwd)
	nsd_stop
	;;
*)
	die "usage: server.sh start|stop DIR"
	;;
esac
