#!/bin/sh
# NSD on loopback serving one zone, for the hanko check suite and bench.
#
#   tests/check/nsd.sh start DIR ZONE FILE   prints the port it serves on
#   tests/check/nsd.sh stop DIR              stops it (safe to call twice)
#
# FILE is a master file of absolute names without SOA; a SOA and NS for
# ZONE are added. Everything NSD writes stays in DIR. If HANKO_DNS_OWNER
# holds a process id, a watchdog stops NSD once that process is gone.
# Starting, watching and stopping NSD is tests/dns/nsd_lib.sh, shared
# with tests/dns/server.sh.
set -u
PY=/usr/bin/python3
die() { echo "nsd.sh: $*" >&2; exit 1; }
. "$(dirname "$0")/../dns/nsd_lib.sh"

write_conf() {
	cat <<CONF >"$DIR/nsd.conf"
server:
	ip-address: 127.0.0.1@$PORT
	port: $PORT
	do-ip4: yes
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$DIR"
	database: ""
	zonelistfile: "$DIR/zone.list"
	xfrdfile: "$DIR/xfrd.state"
	xfrdir: "$DIR"
	pidfile: "$DIR/nsd.pid"
	logfile: "$DIR/nsd.log"
	server-count: 1
	verbosity: 1
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "$ZONE"
	zonefile: "$DIR/zone"
CONF
}

ready() { drill -Q -p "$PORT" SOA "$ZONE" @127.0.0.1 2>/dev/null | grep -q .; }

start() {
	{
		echo "$ZONE. IN SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 60"
		echo "$ZONE. IN NS ns.$ZONE."
		echo "ns.$ZONE. IN A 127.0.0.1"
		grep -v '^;' "$FILE"
	} >"$DIR/zone"
	if nsd_start write_conf ready 300; then	# up to 30 s a port
		nsd_watchdog
		echo "$PORT"
		return 0
	fi
	sed 's/^/nsd.sh: nsd: /' "$DIR/nsd.log" >&2
	die "nsd did not start"
}

case ${1:-} in
start)
	[ $# -eq 4 ] || die "usage: nsd.sh start DIR ZONE FILE"
	command -v nsd >/dev/null 2>&1 || die "no nsd"
	mkdir -p "$2" || die "cannot create $2"
	DIR=$(cd "$2" && pwd) ZONE=$3 FILE=$4
	start
	;;
stop)
	[ -d "${2:-}" ] || exit 0
	DIR=$(cd "$2" && pwd)
	nsd_stop
	;;
*)
	die "usage: nsd.sh start DIR ZONE FILE | stop DIR"
	;;
esac
