#!/bin/sh
# hanko milter against OpenDKIM's milter, both signing the same messages
# with the same RSA-2048 key behind one private Postfix (tests/postfix.sh):
# three smtpd services (no milter, hanko milter, opendkim) relaying into
# smtp-sink. C clients send N messages to each service over one SMTP
# connection apiece; the time of each transaction (MAIL to the reply
# after DATA, the milter's work included) is taken at the client.
#
#   sh bench/milter.sh [N] [C]      (defaults 400 messages, 4 clients)
#   SOCKET=unix sh bench/milter.sh  both milters on unix sockets instead
#                                   of loopback TCP
#
# Prints, per service, msgs/s and the transaction latency p50/p99, the
# latency each milter adds to the unfiltered service's, and the ratio of
# hanko's throughput to OpenDKIM's. Needs root, postfix and opendkim
# (tests/deps.sh installs them). make bench runs it (400 messages, 4
# clients, unix sockets) for its milter rows.
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/lib.sh"
. "$TOP/tests/postfix.sh"

N=${1:-400}
C=${2:-4}
PY=/usr/bin/python3
postfix_usable || { echo "needs root, postfix and smtp-sink" >&2; exit 1; }
command -v opendkim >/dev/null || { echo "needs opendkim" >&2; exit 1; }
[ -x "$HANKO" ] || { echo "build $HANKO first (make)" >&2; exit 1; }

mkdir -p "$T/k"
"$HANKO" keygen -d signer.test -s s1 -a rsa -o "$T/k" >/dev/null || exit 1
postfix_init || exit 1
# Postfix's smtpd (user postfix) must reach a unix socket: its own
# directory, open to it, under $T (0711).
mkdir -m 0777 "$T/sock"
if [ "${SOCKET:-inet}" = unix ]; then
	HS="unix:$T/sock/hanko" HM="unix:$T/sock/hanko"
	OS="local:$T/sock/opendkim" OM="unix:$T/sock/opendkim"
else
	HP=$(free_port)
	OP=$(free_port)
	HS="inet:$HP@127.0.0.1" HM="inet:127.0.0.1:$HP"
	OS="inet:$OP@127.0.0.1" OM="inet:127.0.0.1:$OP"
fi
"$HANKO" milter --socket "$HS" -d signer.test -s s1 \
    -k "$T/k/s1.private" 2>"$T/hanko.log" &
HPID=$!
cat >"$T/opendkim.conf" <<CONF
Mode s
Background no
Syslog no
Socket $OS
UMask 000
PidFile $T/opendkim.pid
Domain signer.test
Selector s1
KeyFile $T/k/s1.private
Canonicalization relaxed/relaxed
InternalHosts 127.0.0.0/8
# The key sits under the temporary directory, whose parent is /tmp.
RequireSafeKeys false
CONF
opendkim -x "$T/opendkim.conf" -f </dev/null >"$T/opendkim.log" 2>&1 &
OPID=$!
PF_ON_EXIT='kill $HPID $OPID 2>/dev/null'
P0=$(postfix_service none "")
P1=$(postfix_service hanko "$HM")
P2=$(postfix_service opendkim "$OM")
sleep 1
[ -S "$T/sock/hanko" ] && chmod 0666 "$T/sock/hanko"
postfix_start || exit 1

"$PY" - "$N" "$C" "$P0" "$P1" "$P2" "${SOCKET:-inet}" <<'PY'
import smtplib, sys, threading, time
n, c = int(sys.argv[1]), int(sys.argv[2])
ports = dict(zip(("none", "hanko", "opendkim"), map(int, sys.argv[3:6])))
body = "".join("Line %04d of a newsletter paragraph, long enough to be "
               "typical text.\r\n" % i for i in range(60))
def msg(i):
    return ("From: News <news@signer.test>\r\nTo: r%d@dest.test\r\n"
            "Subject: issue %d\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
            "Message-ID: <%d@signer.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" % (i, i, i)) + body
def run(port):
    lat, lock = [], threading.Lock()
    def client(k):
        s = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test")
        mine = []
        for i in range(k, n, c):
            t0 = time.perf_counter()
            s.sendmail("news@signer.test", ["r%d@dest.test" % i], msg(i))
            mine.append(time.perf_counter() - t0)
        s.quit()
        with lock:
            lat.extend(mine)
    for i in range(2):  # warm-up: each milter's first connection
        client_once = smtplib.SMTP("127.0.0.1", port)
        client_once.sendmail("news@signer.test", ["w@dest.test"], msg(0))
        client_once.quit()
    th = [threading.Thread(target=client, args=(k,)) for k in range(c)]
    t0 = time.perf_counter()
    for t in th: t.start()
    for t in th: t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return len(lat) / wall, lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3
res = {k: run(p) for k, p in ports.items()}
print("%d messages (%d B body), %d clients, RSA-2048 relaxed/relaxed, "
      "%s sockets" % (n, len(body), c, sys.argv[6]))
print("%-9s %9s %9s %9s %12s" % ("service", "msgs/s", "p50 ms", "p99 ms", "added p50"))
for k, (r, p50, p99) in res.items():
    add = "" if k == "none" else "%+.2f ms" % (p50 - res["none"][1])
    print("%-9s %9.1f %9.2f %9.2f %12s" % (k, r, p50, p99, add))
print("hanko/opendkim throughput ratio: %.2f" % (res["hanko"][0] / res["opendkim"][0]))
PY
postfix_drain 60 || echo "warning: the queue did not drain" >&2
n=$(find "$PF_SINK" -type f | xargs grep -l '^DKIM-Signature:.*' 2>/dev/null | wc -l)
echo "signed messages captured: $n"
