# Operating hanko: one log line per message (text, JSON, syslog), hostile
# From domains escaped, the log file opened safely, the --watch status
# line, and the Prometheus endpoint scraped during a run, checked by
# promtool and against the run's summary.
. "$(dirname "$0")/../lib.sh"

K=$TOP/tests/vectors/dkim/keys
cp "$K/rsa.private" "$K/ed.private" "$T/" && chmod 600 "$T"/*.private
SIGN="$HANKO sign -d hanko.example -s rsa -k $T/rsa.private -s ed -k $T/ed.private --time 1700000000"

# mkspool DIR N: N good messages, then the hostile and the failing ones.
mkspool() {
	mkdir -p "$1"
	i=1
	while [ "$i" -le "$2" ]; do
		printf 'From: News <news@hanko.example>\r\nTo: r%d@x.example\r\nSubject: %d\r\n\r\nbody\r\n' "$i" "$i" >"$1/msg$i"
		i=$((i + 1))
	done
	# Control bytes, a quote, a backslash, invalid UTF-8 and a bare CR
	# in the From domain: each must stay inside its own escaped value.
	printf 'From: a@ev\033il\001.example\r\n\r\nb\r\n' >"$1/hostile-ctl"
	printf 'From: a@x.example\r action=published id="forged"\r\n\r\nb\r\n' >"$1/hostile-cr"
	printf 'From: a@\377\376.example\r\n\r\nb\r\n' >"$1/hostile-utf8"
	printf 'From: <a@"q\\"}{x.example>\r\n\r\nb\r\n' >"$1/hostile-quote"
	printf 'To: nobody@x.example\r\n\r\nno From\r\n' >"$1/nofrom"
}
N=20
ALL=$((N + 5))

# summary FILE WHAT: the number the summary line gives for WHAT.
summary() {
	sed -n "s/.*hanko: signed \([0-9]*\), failed \([0-9]*\), left \([0-9]*\).*/\1 \2 \3/p" "$1" |
	    tail -n 1 | { read -r s f l; case $2 in signed) echo "$s" ;;
	    failed) echo "$f" ;; left) echo "$l" ;; esac; }
}

# --- text lines -------------------------------------------------------
d=$T/text
mkspool "$d/spool" $N
$SIGN --log "$d/log" "$d/spool" "$d/out" 2>"$d/err"
signed=$(summary "$d/err" signed)
failed=$(summary "$d/err" failed)
check "text: one line per message ($ALL)" test "$(wc -l <"$d/log")" -eq $ALL
check "text: published lines match the summary ($signed)" \
    test "$(grep -c ' action=published ' "$d/log")" -eq "$signed"
check "text: failed lines match the summary ($failed)" \
    test "$(grep -c ' action=failed ' "$d/log")" -eq "$failed"
check "text: every line starts with its own time stamp" \
    sh -c "! grep -v -E '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z level=' '$d/log'"
check "text: no raw control byte or non-ASCII byte in the log" \
    sh -c "! LC_ALL=C grep -q '[^ -~]' '$d/log'"
check "text: the signatures made (d/s/algorithm)" \
    grep -q 'id="msg7" from_domain="hanko.example" sig="hanko.example/rsa/rsa-sha256" sig="hanko.example/ed/ed25519-sha256" action=published seconds=[0-9.]*$' "$d/log"
check "text: control bytes escaped" \
    grep -q 'id="hostile-ctl" from_domain="ev\\x1bil\\x01.example"' "$d/log"
check "text: a CR in the From domain cannot forge fields" \
    sh -c "! grep -q '^[^\"]*id=\"forged\"' '$d/log' && test \$(grep -c 'hostile-cr' '$d/log') -eq 1"
check "text: the failure's reason" \
    grep -q 'id="nofrom" from_domain="" action=failed reason="message has no From field"' "$d/log"
check "log file created 0640" test "$(stat -c %a "$d/log")" = 640

# --- JSON lines -------------------------------------------------------
d=$T/json
mkspool "$d/spool" $N
$SIGN --log "$d/log" --log-format json "$d/spool" "$d/out" 2>"$d/err"
check "json: every line is one JSON object" \
    sh -c "jq -e -c 'select(type == \"object\")' '$d/log' | wc -l | grep -qx $ALL"
check "json: published objects match the summary" \
    test "$(jq -r 'select(.action == "published") | .id' "$d/log" | wc -l)" -eq "$(summary "$d/err" signed)"
check "json: failed objects match the summary" \
    test "$(jq -r 'select(.action == "failed") | .id' "$d/log" | wc -l)" -eq "$(summary "$d/err" failed)"
check "json: two signatures with d, s and a" \
    test "$(jq -r 'select(.id == "msg3") | .signatures | map(.d + "/" + .s + "/" + .a) | join(" ")' "$d/log")" = \
    "hanko.example/rsa/rsa-sha256 hanko.example/ed/ed25519-sha256"
check "json: the hostile domain survives as data" \
    test "$(jq -r 'select(.id == "hostile-ctl") | .from_domain' "$d/log" | od -An -c | tr -s ' ')" = \
    " e v 033 i l 001 . e x a m p l e \\n"
check "json: invalid UTF-8 becomes U+FFFD" \
    grep -q '"from_domain":"\\ufffd\\ufffd.example"' "$d/log"
check "json: time, level, seconds and reason" \
    jq -e -s 'all(.[]; (.time | test("^20[0-9-]{8}T[0-9:.]{12}Z$")) and (.seconds >= 0) and (.level | IN("info", "error")) and ((.action == "failed") == (.reason != "")))' "$d/log"

# --- levels, stdout, appending ------------------------------------------
d=$T/level
mkspool "$d/spool" $N
echo "kept line" >"$d/log"
$SIGN --log "$d/log" --log-level error "$d/spool" "$d/out" 2>"$d/err"
check "--log-level error: only the failures" \
    test "$(grep -c 'level=error' "$d/log")" -eq "$(summary "$d/err" failed)" -a \
    "$(grep -c 'level=info' "$d/log")" -eq 0
check "--log FILE appends: what was there is kept" \
    test "$(head -n 1 "$d/log")" = "kept line"
d=$T/stdout
mkspool "$d/spool" 3
$SIGN --log - --log-format json "$d/spool" "$d/out" >"$d/stdout" 2>"$d/err"
check "--log -: JSON lines on standard output" \
    test "$(jq -r .id "$d/stdout" | sort | tr '\n' ' ')" = \
    "hostile-cr hostile-ctl hostile-quote hostile-utf8 msg1 msg2 msg3 nofrom "

# --- the log file is opened safely ------------------------------------
d=$T/unsafe
mkspool "$d/spool" 2
echo secret >"$d/target"
ln -s "$d/target" "$d/link"
check_exit "--log through a symbolic link: refused (73)" 73 \
    $SIGN --log "$d/link" "$d/spool" "$d/out"
check "the link's target is untouched" test "$(cat "$d/target")" = secret
check "nothing was signed" test ! -e "$d/out"
mkfifo "$d/fifo"
check_exit "--log to a FIFO: refused at once, no hang" 73 \
    timeout 10 $SIGN --log "$d/fifo" "$d/spool" "$d/out"
check_exit "--log-format bad: usage" 64 $SIGN --log-format xml --log - "$d/spool" "$d/out"
check_exit "--log-level bad: usage" 64 $SIGN --log-level debug --log - "$d/spool" "$d/out"

# --- verify and dmarc: one line per message with its results -------------
ZONE=$TOP/tests/vectors/dkim/keys.zone
d=$T/verify
mkdir -p "$d"
$HANKO verify --dns-zone "$ZONE" --time 1700000000 --log "$d/log" \
    --log-format json "$T/json/out" >"$d/results" 2>"$d/err"
n=$(ls "$T/json/out" | wc -l)
check "verify --log: one JSON line per message ($n)" \
    test "$(jq -r .id "$d/log" | wc -l)" -eq "$n"
check "verify --log: both signatures' results, with d=" \
    test "$(jq -r 'select(.id | endswith("/msg5")) | .results | map(.method + "=" + .result + "/" + .domain) | join(" ")' "$d/log")" = \
    "dkim=pass/hanko.example dkim=pass/hanko.example"
check "verify --log: the results still go to standard output" \
    test "$(grep -c '^Authentication-Results:' "$d/results")" -eq "$n"
$HANKO dmarc --dns-zone "$ZONE" --time 1700000000 --ip 192.0.2.1 \
    --mail-from news@hanko.example --log "$d/dlog" "$T/json/out" >/dev/null 2>&1
check "dmarc --log: spf, dkim and dmarc results per message" \
    grep -q 'id=".*/msg5" from_domain="hanko.example" spf="[a-z]*/hanko.example" dkim="pass/hanko.example" dkim="pass/hanko.example" dmarc="[a-z]*/hanko.example" action=evaluated' "$d/dlog"
check_exit "verify --log -: refused, the results use standard output" 64 \
    $HANKO verify --dns-zone "$ZONE" --log - "$T/json/out"

# --- SIGHUP reopens the log file (rotation) ---------------------------------
d=$T/rotate
mkdir -p "$d/spool" "$d/in"
$SIGN --watch --log "$d/log" "$d/spool" "$d/out" 2>"$d/err" &
pid=$!
# wait_out N: until OUT_DIR holds N messages (10 s at most).
wait_out() {
	i=0
	while [ "$(ls "$d/out" 2>/dev/null | wc -l)" -lt "$1" ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1)); done
}
mkspool "$d/in" 2
mv "$d/in/msg1" "$d/in/msg2" "$d/spool/"
wait_out 2
sleep 0.2
mv "$d/log" "$d/log.1"
kill -HUP $pid
sleep 1.5
printf 'From: a@hanko.example\r\n\r\nb\r\n' >"$d/in/late"
mv "$d/in/late" "$d/spool/"
wait_out 3
sleep 0.2
kill -TERM $pid
wait $pid
check "SIGHUP: the rotated file keeps the lines written before" \
    test "$(grep -c action=published "$d/log.1")" -eq 2
check "SIGHUP: a new log file takes the lines after" \
    grep -q 'id="late" .*action=published' "$d/log"

# --- filter mode ----------------------------------------------------------
d=$T/filter
mkdir -p "$d"
printf 'From: a@hanko.example\r\n\r\nb\r\n' >"$d/msg"
$SIGN --log "$d/log" --log-format json --queue-id 4QxY7 <"$d/msg" >"$d/signed" 2>"$d/err"
check "filter: the message is signed on stdout" grep -q '^DKIM-Signature:' "$d/signed"
check "filter: one JSON line with --queue-id" \
    jq -e 'select(.id == "4QxY7" and .action == "signed" and (.signatures | length) == 2)' "$d/log"
printf 'To: a@hanko.example\r\n\r\nb\r\n' | $SIGN --log "$d/log" >/dev/null 2>&1
check "filter: a failure is logged with its reason" \
    grep -q 'action=failed reason="message has no From field"' "$d/log"
check_exit "filter: --log - would mix with the message (64)" 64 \
    sh -c "$SIGN --log - <'$d/msg'"
check_exit "filter: --metrics needs a spool (64)" 64 \
    sh -c "$SIGN --metrics 0 <'$d/msg'"

# --- syslog, through a private /dev/log ---------------------------------
cat >"$T/syslogd.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + ".ready", "w").close()
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536) + b"\n")
EOF
d=$T/syslog
mkspool "$d/spool" 3
# A mount namespace of our own, with a tmpfs on /dev holding only our
# socket: syslog(3) writes to /dev/log, and the system's stays untouched.
if unshare -m sh -c 'mount -t tmpfs none /dev' 2>/dev/null; then
	unshare -m sh -c '
	    mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 || exit 1
	    python3 "$1/syslogd.py" /dev/log "$2/got" & p=$!
	    i=0; while [ ! -e "$2/got.ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	    $3 --log syslog "$2/spool" "$2/out" 2>"$2/err"
	    sleep 0.3; kill $p' sh "$T" "$d" "$SIGN"
	check "syslog: one record per message, facility mail" \
	    test "$(grep -c -E '^<(19|20|22)>' "$d/got")" -eq 8
	check "syslog: failures at priority err (mail.err = <19>)" \
	    test "$(grep -c '^<19>.*action=failed' "$d/got")" -eq "$(summary "$d/err" failed)"
	check "syslog: published at priority info, tagged hanko[pid]" \
	    grep -q '^<22>.* hanko\[[0-9]*\]: level=info id="msg1"' "$d/got"
else
	echo "# syslog: no private mount namespace here (needs CAP_SYS_ADMIN); not tested"
fi

# --- the status line on a terminal --------------------------------------
d=$T/tty
mkspool "$d/spool" 3
script -qec "timeout -s TERM 3 $SIGN --watch '$d/spool' '$d/out'" "$d/typescript" >/dev/null 2>&1
check "--watch on a terminal: status line with rate, backlog and oldest age" \
    grep -q 'hanko: watching: [0-9]* signed, [0-9]* failed, [0-9]* msgs/s, backlog [0-9]*, oldest [0-9]*s' "$d/typescript"

# --- metrics, scraped during a --watch run ------------------------------
d=$T/metrics
mkdir -p "$d/spool/failed"
$SIGN --watch --metrics 127.0.0.1:0 --log "$d/log" "$d/spool" "$d/out" 2>"$d/err" &
pid=$!
i=0
while ! grep -q 'metrics on port' "$d/err" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
port=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$d/err")
mkspool "$d/in" $N
# One message that must stay: it fails, and its name is taken in failed/.
printf 'To: nobody@x.example\r\n\r\nstays\r\n' >"$d/in/stuck"
touch -d '-120 seconds' "$d/in/stuck"
: >"$d/spool/failed/stuck"
for f in "$d/in"/*; do mv "$f" "$d/spool/"; done
i=0
while [ "$(ls "$d/out" 2>/dev/null | wc -l)" -lt $((N + 4)) ] && [ $i -lt 200 ]; do
	sleep 0.05; i=$((i + 1)); done
sleep 2.5 # a backlog scan after the last hand-off
curl -s -f "http://127.0.0.1:$port/metrics" >"$d/scrape"
code404=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")
code405=$(curl -s -o /dev/null -w '%{http_code}' -d x=1 "http://127.0.0.1:$port/metrics")
kill -TERM $pid
wait $pid
check "metrics: a scrape during the run" test -s "$d/scrape"
check "metrics: promtool check metrics accepts it" \
    sh -c "promtool check metrics <'$d/scrape'"
val() { awk -v k="$1" '$1 == k { print $2 }' "$d/scrape"; }
signed=$(summary "$d/err" signed)
failed=$(summary "$d/err" failed)
check "metrics: signed by rsa = the summary's signed ($signed)" \
    test "$(val 'hanko_messages_signed_total{domain="hanko.example",selector="rsa",algorithm="rsa-sha256"}')" = "$signed"
check "metrics: signed by ed25519 = the summary's signed" \
    test "$(val 'hanko_messages_signed_total{domain="hanko.example",selector="ed",algorithm="ed25519-sha256"}')" = "$signed"
check "metrics: failed, summed over domains = the summary's failed ($failed)" \
    test "$(awk '/^hanko_messages_failed_total/ { n += $2 } END { print n }' "$d/scrape")" = "$failed"
check "metrics: latency histogram counts each signed or failed message" \
    test "$(val hanko_message_duration_seconds_count)" -eq $((signed + failed)) -a \
    "$(val 'hanko_message_duration_seconds_bucket{le="+Inf"}')" -eq $((signed + failed))
check "metrics: backlog gauge sees the message left in the spool" \
    test "$(val hanko_spool_backlog_messages)" = 1
check "metrics: its age (over 120 s)" \
    awk -v a="$(val hanko_spool_oldest_message_age_seconds)" 'BEGIN { exit !(a >= 120 && a < 1000) }'
check "metrics: the left message is logged as left" \
    grep -q 'level=warning id="stuck" .*action=left' "$d/log"
check "metrics: other paths 404, other methods 405" \
    test "$code404:$code405" = "404:405"
check "metrics: serves loopback only when given a port alone" \
    sh -c "$SIGN --metrics 0 --watch '$d/spool' '$d/out' 2>'$d/err2' & p=\$!; sleep 1;
        port=\$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' '$d/err2');
        ss -Hltn \"sport = :\$port\" | grep -q '127.0.0.1:'\$port; r=\$?; kill \$p; wait \$p; exit \$r"
check_exit "metrics: a bad address is a usage error" 64 \
    $SIGN --metrics 'nonsense:port' "$d/spool" "$d/out"

# --- the alert rules in the README's Operating section -------------------
RULES=$TOP/doc/prometheus/hanko-alerts.yml
check "promtool check rules: doc/prometheus/hanko-alerts.yml" \
    sh -c "promtool check rules '$RULES' >/dev/null"
missing=""
for m in $(grep -o 'hanko_[a-z_]*' "$RULES" | sort -u); do
	grep -q "^$m" "$d/scrape" || missing="$missing $m"
done
check "every metric the rules use is served (missing:$missing)" test -z "$missing"

# --- the summary: wall time, start-up apart ---------------------------------
d=$T/wall
mkspool "$d/spool" 3
$SIGN --stats-json "$d/stats.json" "$d/spool" "$d/out" 2>"$d/err"
check "summary: wall time with start-up shown apart" \
    grep -q 'in [0-9.]*s (start-up [0-9.]*s)' "$d/err"
check "stats json: wall_seconds >= startup_seconds > 0" \
    jq -e '.wall_seconds >= .startup_seconds and .startup_seconds > 0' "$d/stats.json"
finish
