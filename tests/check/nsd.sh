#!/bin/sh
# NSD on loopback serving one zone, for the hanko check suite and bench.
#
#   tests/check/nsd.sh start DIR ZONE FILE   prints the port it serves on
#   tests/check/nsd.sh stop DIR              stops it (safe to call twice)
#
# FILE is a master file of absolute names without SOA; a SOA and NS for
# ZONE are added. Everything NSD writes stays in DIR. If HANKO_DNS_OWNER
# holds a process id, a watchdog stops NSD once that process is gone.
set -u
PY=/usr/bin/python3
die() { echo "nsd.sh: $*" >&2; exit 1; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

free_port() {
	"$PY" - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 60999)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        u.bind(("127.0.0.1", p)); t.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        u.close(); t.close()
    print(p)
    break
PY
}

conf() {
	cat <<CONF
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

stop() {
	pid=$(cat "$DIR/nsd.pid" 2>/dev/null)
	case $pid in *[!0-9]*) pid= ;; esac
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		i=0
		while alive "$pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$DIR/nsd.pid"
	w=$(cat "$DIR/watchdog.pid" 2>/dev/null)
	rm -f "$DIR/watchdog.pid"
	case $w in ''|*[!0-9]*) ;; *) kill "$w" 2>/dev/null ;; esac
	return 0
}

start() {
	{
		echo "$ZONE. IN SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 60"
		echo "$ZONE. IN NS ns.$ZONE."
		echo "ns.$ZONE. IN A 127.0.0.1"
		grep -v '^;' "$FILE"
	} >"$DIR/zone"
	for _ in 1 2 3 4 5; do
		PORT=$(free_port)
		[ -n "$PORT" ] || die "no free port"
		conf >"$DIR/nsd.conf"
		rm -f "$DIR/nsd.pid"
		nsd -c "$DIR/nsd.conf" </dev/null >>"$DIR/nsd.log" 2>&1 || continue
		i=0
		while [ $i -lt 300 ]; do
			pid=$(cat "$DIR/nsd.pid" 2>/dev/null)
			if alive "$pid" && drill -Q -p "$PORT" SOA "$ZONE" \
			    @127.0.0.1 2>/dev/null | grep -q .; then
				owner=${HANKO_DNS_OWNER:-}
				case $owner in ''|*[!0-9]*) ;; *)
					( trap '' HUP INT
					  while alive "$owner" && alive "$pid"; do
						sleep 1; done
					  alive "$pid" && kill -TERM "$pid"
					) </dev/null >/dev/null 2>&1 &
					echo $! >"$DIR/watchdog.pid" ;;
				esac
				echo "$PORT"
				return 0
			fi
			[ -f "$DIR/nsd.pid" ] && ! alive "$pid" && break
			sleep 0.1
			i=$((i + 1))
		done
		stop
	done
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
	stop
	;;
*)
	die "usage: nsd.sh start DIR ZONE FILE | stop DIR"
	;;
esac
