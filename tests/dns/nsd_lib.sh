# Sourced by tests/dns/server.sh and tests/check/nsd.sh: NSD in a private
# directory on a free loopback port, started, watched and stopped the
# same way for both. The caller sets DIR (absolute) and PY, and defines
# die. Everything NSD writes stays in DIR: nsd.conf, nsd.pid, nsd.log,
# and watchdog.pid while a watchdog runs.

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

free_port() {	# a port free for both UDP and TCP on 127.0.0.1
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

nsd_stop() {	# stop NSD, its children and the watchdog; safe to repeat
	pid=$(cat "$DIR/nsd.pid" 2>/dev/null)
	case $pid in *[!0-9]*) pid= ;; esac
	if alive "$pid"; then
		kids=$(pgrep -P "$pid" 2>/dev/null)
		kill -TERM "$pid" 2>/dev/null
		i=0
		while alive "$pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
		for k in $kids; do alive "$k" && kill -KILL "$k" 2>/dev/null; done
	fi
	rm -f "$DIR/nsd.pid"
	w=$(cat "$DIR/watchdog.pid" 2>/dev/null)
	rm -f "$DIR/watchdog.pid"
	case $w in ''|*[!0-9]*) ;; *) kill "$w" 2>/dev/null ;; esac
	return 0
}

# nsd_start CONF READY TRIES: up to five free ports, for each: CONF
# writes $DIR/nsd.conf for $PORT, NSD starts, and READY is polled every
# 0.1 s up to TRIES times until it succeeds. 0 with PORT set once READY
# does; otherwise 1, NSD stopped.
nsd_start() {
	for _ in 1 2 3 4 5; do	# another process may take the port first
		PORT=$(free_port)
		[ -n "$PORT" ] || die "no free port"
		"$1"
		rm -f "$DIR/nsd.pid"
		# NSD forks into the background once its sockets are bound.
		nsd -c "$DIR/nsd.conf" </dev/null >>"$DIR/nsd.log" 2>&1 ||
		    continue
		i=0
		while [ $i -lt "$3" ]; do
			pid=$(cat "$DIR/nsd.pid" 2>/dev/null)
			alive "$pid" && "$2" && return 0
			[ -f "$DIR/nsd.pid" ] && ! alive "$pid" && break
			sleep 0.1
			i=$((i + 1))
		done
		nsd_stop
	done
	return 1
}

nsd_watchdog() {	# stop NSD once $HANKO_DNS_OWNER is gone
	owner=${HANKO_DNS_OWNER:-}
	case $owner in ''|*[!0-9]*) return 0 ;; esac
	nsdpid=$(cat "$DIR/nsd.pid")
	(
		trap '' HUP INT
		while alive "$owner" && alive "$nsdpid"; do sleep 1; done
		alive "$nsdpid" || exit 0
		kill -TERM "$nsdpid"; sleep 5; kill -KILL "$nsdpid"
	) </dev/null >/dev/null 2>&1 &
	echo $! >"$DIR/watchdog.pid"
}
