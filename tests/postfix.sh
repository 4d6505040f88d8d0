# Sourced by shell suites (after tests/lib.sh) that need a real MTA: a
# private Postfix instance on loopback, relaying everything it accepts
# into smtp-sink, which writes each delivered message to a file.
#
#   postfix_init                    config, queue and data directories in $T
#   postfix_service NAME MILTERS    an smtpd on a free 127.0.0.1 port with
#                                   these smtpd_milters ("" for none); its
#                                   port is printed (and kept in PF_PORT_NAME)
#   postfix_start                   sink and master up (0), or 1 with the log
#   postfix_drain [SECONDS]         wait for an empty queue (0), else 1
#   postfix_sink_wait N [SECONDS]   wait for N captured messages (0), else 1
#   postfix_sink_msg FILE OUT       a capture without smtp-sink's envelope
#   postfix_stop                    stop master and sink; safe to repeat
#   free_port                       a TCP port free on 127.0.0.1
#
# Nothing outside $T/pf is written or started: its own config_directory,
# queue_directory and data_directory, inet_interfaces loopback, no port 25,
# the system's /etc/postfix only read (meta_directory: the shared-library
# maps list). Runs as root (Postfix drops to the postfix user itself).
# The caller's EXIT trap is extended so both servers stop on every exit.
#
# Variables: PF (the instance directory), PF_SINK (capture directory),
# PF_SINK_PORT, PF_LOG (Postfix's log file).

PF_PY=${PY:-/usr/bin/python3}

free_port() {
	"$PF_PY" - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 60999)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
PY
}

# postfix_usable: Postfix, smtp-sink and root are all here.
postfix_usable() {
	[ "$(id -u)" -eq 0 ] && command -v postfix >/dev/null 2>&1 &&
	    [ -x /usr/sbin/smtp-sink ] && id postfix >/dev/null 2>&1
}

postfix_init() {
	PF=$T/pf
	PF_SINK=$PF/sink
	PF_LOG=$PF/postfix.log
	mkdir -p "$PF/etc" "$PF/queue" "$PF/data" "$PF_SINK" || return 1
	# The daemons run as postfix: let them through $T (not list it).
	chmod 0711 "$T" "$PF"
	chown postfix "$PF/data" "$PF_SINK"
	PF_SINK_PORT=$(free_port)
	cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF/etc
queue_directory = $PF/queue
data_directory = $PF/data
meta_directory = /etc/postfix
maillog_file = $PF_LOG
maillog_file_prefixes = $PF
myhostname = mta.hanko.test
mydomain = hanko.test
myorigin = \$mydomain
mydestination =
local_transport = error:no local delivery
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$PF_SINK_PORT
relay_domains = static:ALL
smtpd_relay_restrictions = permit_mynetworks, permit_auth_destination, reject
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtp_dns_support_level = disabled
disable_dns_lookups = yes
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 10s
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
biff = no
EOF
	# master.cf: Debian's, with no chroot and no port 25 listener.
	awk '/^smtp[ \t]+inet/ { next }
	     /^[a-z]/ && NF >= 8 { $5 = "n" } { print }' \
	    /usr/share/postfix/master.cf.dist >"$PF/etc/master.cf" || return 1
	# maillog_file needs the postlog service.
	grep -q '^postlog' "$PF/etc/master.cf" ||
	    echo 'postlog   unix-dgram n  -       n       -       1       postlogd' \
	    >>"$PF/etc/master.cf"
	_pf_old_trap=$(trap | sed -n "s/^trap -- '\(.*\)' EXIT$/\1/p")
	trap 'postfix_stop; '"$_pf_old_trap" EXIT
}

postfix_service() {	# postfix_service NAME MILTERS
	_port=$(free_port)
	{
		echo "127.0.0.1:$_port inet n - n - - smtpd"
		echo "  -o syslog_name=postfix/$1"
		[ -n "$2" ] && echo "  -o smtpd_milters=$2"
	} >>"$PF/etc/master.cf"
	eval "PF_PORT_$1=$_port"
	echo "$_port"
}

postfix_start() {
	/usr/sbin/smtp-sink -u postfix -d "$PF_SINK/%H%M%S." \
	    "127.0.0.1:$PF_SINK_PORT" 128 </dev/null >"$PF/sink.log" 2>&1 &
	PF_SINK_PID=$!
	postfix -c "$PF/etc" start >"$PF/start.log" 2>&1 || {
		cat "$PF/start.log" "$PF_LOG" 2>/dev/null | sed 's/^/#   /'
		return 1
	}
	_i=0
	while [ $_i -lt 100 ]; do	# master writes its pid once listening
		[ -s "$PF/queue/pid/master.pid" ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# Messages still in the queue (incoming, active, deferred, maildrop).
postfix_queued() {
	find "$PF/queue/maildrop" "$PF/queue/incoming" "$PF/queue/active" \
	    "$PF/queue/deferred" -type f 2>/dev/null | wc -l
}

postfix_drain() {
	_n=$((${1:-30} * 10))
	while [ "$_n" -gt 0 ]; do
		[ "$(postfix_queued)" -eq 0 ] && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

postfix_sink_count() { find "$PF_SINK" -type f | wc -l; }

postfix_sink_wait() {
	_n=$((${2:-30} * 10))
	while [ "$_n" -gt 0 ]; do
		[ "$(postfix_sink_count)" -ge "$1" ] && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# The message as Postfix sent it: smtp-sink's X-Client-*/X-*-Args lines
# before it and the empty line it appends are removed, CRLF restored.
postfix_sink_msg() {
	awk 'h == 0 && /^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args): / { next }
	     { h = 1; l[n++] = $0 }
	     END { if (n > 0 && l[n - 1] == "") n--
	           for (i = 0; i < n; i++) printf "%s\r\n", l[i] }' "$1" >"$2"
}

postfix_stop() {
	if [ -n "${PF:-}" ] && [ -s "$PF/queue/pid/master.pid" ]; then
		postfix -c "$PF/etc" stop >/dev/null 2>&1
		_p=$(tr -dc 0-9 <"$PF/queue/pid/master.pid")
		_i=0
		while [ -n "$_p" ] && kill -0 "$_p" 2>/dev/null &&
		    [ $_i -lt 50 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		[ -n "$_p" ] && kill -KILL "$_p" 2>/dev/null
		rm -f "$PF/queue/pid/master.pid"
	fi
	if [ -n "${PF_SINK_PID:-}" ]; then
		kill "$PF_SINK_PID" 2>/dev/null
		wait "$PF_SINK_PID" 2>/dev/null
		PF_SINK_PID=
	fi
	return 0
}
