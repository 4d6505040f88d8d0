# hanko sign --deliver: envelopes from sidecars and headers, SMTP, LMTP
# and sendmail hand-off, exactly-once spool updates by the MTA's replies,
# partial recipients, hostile servers, and a crash mid-delivery. The MTA
# is tests/smtp_server.py on loopback, scripted per test.
. "$(dirname "$0")/../lib.sh"

K=$TOP/tests/vectors/dkim/keys
ZONE=$TOP/tests/vectors/dkim/keys.zone
SRV=$TOP/tests/smtp_server.py
CHK=$TOP/tests/deliver_check.py
cp "$K/rsa.private" "$K/ed.private" "$T/" && chmod 600 "$T"/*.private
SIGN="$HANKO sign -d hanko.example -s rsa -k $T/rsa.private -s ed -k $T/ed.private --time 1700000000"
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

# server NAME [ARGS]: a scripted server saving into $T/NAME.out; sets PORT.
server() {
	_n=$1; shift
	mkdir -p "$T/$_n.out"
	python3 "$SRV" --port-file "$T/$_n.port" --out "$T/$_n.out" "$@" \
	    2>"$T/$_n.log" &
	pids="$pids $!"
	eval "pid_$_n=$!"
	_i=0
	while [ ! -s "$T/$_n.port" ] && [ $_i -lt 100 ]; do
		sleep 0.05; _i=$((_i + 1)); done
	PORT=$(cat "$T/$_n.port")
}
stop() { eval "kill \$pid_$1" 2>/dev/null; }

# msg SPOOL NAME STYLE [SIDECAR-LINE...]: a message whose line endings
# are STYLE (lf, crlf, cr), with lines starting with dots, written as a
# dot file and renamed in after its sidecar; a copy kept in $T/orig.
msg() {
	_s=$1 _n=$2 _st=$3; shift 3
	mkdir -p "$_s" "$T/orig"
	case $_st in lf) _e='\n' ;; crlf) _e='\r\n' ;; cr) _e='\r' ;; esac
	printf "From: News <news@hanko.example>${_e}To: r@x.example${_e}Subject: $_n${_e}X-Name: $_n${_e}${_e}.leading dot${_e}..two dots${_e}.${_e}body of $_n${_e}" \
	    >"$_s/.$_n"
	cp "$_s/.$_n" "$T/orig/$_n"
	if [ $# -gt 0 ]; then
		: >"$_s/.$_n.env"
		for l in "$@"; do echo "$l" >>"$_s/.$_n.env"; done
		mv "$_s/.$_n.env" "$_s/$_n.env"
	fi
	mv "$_s/.$_n" "$_s/$_n"
}

# messages left in a spool (not dot files, not the failed directory)
left() { ls "$1" | grep -v '^failed$' | tr '\n' ' '; }

# --- Sidecar envelopes, exact, over a pipelining server; all line endings.
server a
S=$T/a.spool
i=0
for st in lf crlf cr lf crlf cr; do
	i=$((i + 1))
	msg "$S" m$i $st "# a comment" "mail-from=<bounce+m$i@hanko.example>" \
	    "rcpt=one@x.example" "rcpt=<two@y.example>" "ip=192.0.2.1" \
	    "helo=ignored.example"
done
msg "$S" null lf "mail-from=<>" "rcpt=one@x.example"
printf 'From: news@hanko.example\r\nX-Name: noeol\r\n\r\nlast line has no CRLF' >"$T/orig/noeol"
cp "$T/orig/noeol" "$S/noeol"
printf 'mail-from=\nrcpt=one@x.example\n' >"$S/noeol.env"
$SIGN --deliver "smtp://127.0.0.1:$PORT" --connections 3 \
    --stats-json "$T/a.json" "$S" 2>"$T/a.err"
check_exit "sidecar run: exit 0" 0 test "$(cat "$T/a.json" | jq .failed)" = 0
check "all 8 delivered, spool and sidecars gone" \
    test -z "$(left "$S")" -a "$(ls "$T/a.out" | wc -l)" -eq 8
python3 "$CHK" envelopes "$T/a.out" >"$T/a.env"
cat >"$T/a.want" <<'W'
m1 <bounce+m1@hanko.example> one@x.example,two@y.example
m2 <bounce+m2@hanko.example> one@x.example,two@y.example
m3 <bounce+m3@hanko.example> one@x.example,two@y.example
m4 <bounce+m4@hanko.example> one@x.example,two@y.example
m5 <bounce+m5@hanko.example> one@x.example,two@y.example
m6 <bounce+m6@hanko.example> one@x.example,two@y.example
noeol <> one@x.example
null <> one@x.example
W
check "envelopes exactly as the sidecars say (null sender included)" \
    cmp "$T/a.want" "$T/a.env"
python3 "$CHK" wire "$T/a.out" "$T/orig" >"$T/a.wire"
tab_report <"$T/a.wire"
mkdir "$T/a.eml"
python3 "$CHK" dump "$T/a.out" "$T/a.eml"
"$HANKO" verify --dns-zone "$ZONE" --time 1700000000 "$T/a.eml" >"$T/a.ver" 2>&1
check "every delivered message verifies (16 dkim=pass)" \
    test "$(grep -c 'dkim=pass' "$T/a.ver")" -eq 16
check "stats json: delivered 8" grep -q '"delivered":8,"deferred":0' "$T/a.json"
check "summary line" grep -q 'delivered 8, deferred 0, failed 0' "$T/a.err"

# --- Postfix's smtp-sink (when installed): 200 messages, each once, signed.
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
if [ -x "$SINK" ]; then
	# smtp-sink drops to nobody, who must reach its dump directory.
	chmod 711 "$T" && mkdir -p "$T/sink.d" && chmod 777 "$T/sink.d"
	SP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$SINK" -u nobody -d "$T/sink.d/%H%M%S." "127.0.0.1:$SP" 64 &
	pids="$pids $!"
	S=$T/sink
	mkdir -p "$S"
	i=1
	while [ $i -le 200 ]; do
		printf 'From: news@hanko.example\nX-Name: s%d\n\n.body %d\n' $i $i >"$S/s$i"
		printf 'mail-from=<b@hanko.example>\nrcpt=r%d@x.example\n' $i >"$S/s$i.env"
		i=$((i + 1))
	done
	i=0
	until $SIGN --deliver "smtp://127.0.0.1:$SP" --connections 4 \
	    "$S" 2>"$T/sink.err" || [ $i -ge 20 ]; do sleep 0.1; i=$((i + 1)); done
	check "smtp-sink: 200 delivered, spool empty" \
	    sh -c "grep -q 'delivered 200' '$T/sink.err' && test -z \"\$(ls '$S' | grep -v failed)\""
	sleep 0.3
	check "smtp-sink: 200 transactions, one per recipient" \
	    sh -c "test \"\$(grep -h '^X-Rcpt-Args:' '$T'/sink.d/* | sort -u | wc -l)\" -eq 200 && test \"\$(ls '$T/sink.d' | wc -l)\" -eq 200"
	"$HANKO" verify --dns-zone "$ZONE" --time 1700000000 "$T/sink.d" >"$T/sink.ver" 2>&1
	check "smtp-sink: every message verifies" \
	    sh -c "test \"\$(grep -c 'dkim=pass' '$T/sink.ver')\" -eq 400 && ! grep -q 'dkim=fail' '$T/sink.ver'"
else
	echo "# smtp-sink not installed (postfix): that leg skipped"
fi

# --- A real Postfix (tests/postfix.sh): private instance on loopback,
# relaying into smtp-sink; what it relays verifies with hanko and dkimpy.
. "$TOP/tests/postfix.sh"
if postfix_usable; then
	postfix_init
	# Our own servers and $T as well, whatever postfix_init made of the trap.
	trap 'postfix_stop; for p in $pids; do kill $p 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
	PFP=$(postfix_service deliver "")
	if postfix_start; then
		S=$T/pf.spool
		mkdir -p "$S"
		i=1
		while [ $i -le 40 ]; do
			# Date and Message-ID present: an MTA adds missing ones,
			# and an added Date breaks a signature over Date.
			printf 'From: News <news@hanko.example>\nTo: r%d@x.example\nSubject: issue %d\nDate: Thu, 03 Dec 2026 12:00:00 +0000\nMessage-ID: <p%d@hanko.example>\nX-Name: p%d\n\n.dot first\nbody %d\n' $i $i $i $i $i >"$S/p$i"
			printf 'mail-from=<bounce+%d@hanko.example>\nrcpt=r%d@x.example\n' $i $i >"$S/p$i.env"
			i=$((i + 1))
		done
		$SIGN --deliver "smtp://127.0.0.1:$PFP" --connections 4 "$S" 2>"$T/pf.err"
		check "postfix: 40 accepted, spool empty" \
		    sh -c "test $? -eq 0 && test -z \"\$(ls '$S' | grep -v failed)\""
		check "postfix: 40 relayed to the sink" postfix_sink_wait 40 60
		check "postfix: each with its sidecar's envelope" \
		    sh -c "test \"\$(grep -h '^X-Mail-Args: <bounce+[0-9]*@hanko.example>' '$PF_SINK'/* | sort -u | wc -l)\" -eq 40 && test \"\$(grep -h '^X-Rcpt-Args: <r[0-9]*@x.example>' '$PF_SINK'/* | sort -u | wc -l)\" -eq 40"
		mkdir -p "$T/pf.eml"
		for f in "$PF_SINK"/*; do
			postfix_sink_msg "$f" "$T/pf.eml/$(basename "$f").eml"
		done
		"$HANKO" verify --dns-zone "$ZONE" --time 1700000000 "$T/pf.eml" >"$T/pf.ver" 2>&1
		check "postfix: every relayed message verifies with hanko" \
		    sh -c "test \"\$(grep -c 'dkim=pass' '$T/pf.ver')\" -eq 80 && ! grep -q 'dkim=fail' '$T/pf.ver'"
		check "postfix: and with dkimpy" /usr/bin/python3 \
		    "$TOP/tests/interop/dkimpy_tool.py" verify -z "$ZONE" "$T"/pf.eml/*
	else
		nok "postfix: the private instance did not start"
	fi
	postfix_stop
else
	echo "# postfix, smtp-sink or root missing: the Postfix leg skipped"
fi

# --- The same without PIPELINING (one command per reply), RSET between.
server np --no-pipelining
msg "$T/np" p1 lf "mail-from=a@hanko.example" "rcpt=one@x.example" "rcpt=two@x.example"
msg "$T/np" p2 crlf "mail-from=a@hanko.example" "rcpt=three@x.example"
check "no PIPELINING: exit 0" \
    $SIGN --deliver "smtp://127.0.0.1:$PORT" --connections 1 "$T/np"
check "no PIPELINING: both delivered in one session" \
    test "$(python3 "$CHK" envelopes "$T/np.out" | wc -l)" -eq 2

# --- Sidecar rules.
S=$T/sc
msg "$S" bad lf "mail-from=a@hanko.example" "rcpt one@x.example"
msg "$S" inject lf "mail-from=a@hanko.example" "rcpt=x@y>SIZE=1"
msg "$S" twofrom lf "mail-from=a@hanko.example" "mail-from=b@hanko.example" "rcpt=x@y.example"
msg "$S" norcpt lf "mail-from=a@hanko.example"
msg "$S" nosidecar lf
printf 'mail-from=a@hanko.example\nrcpt=x@x.example\n' >"$S/orphan.env"
$SIGN --deliver "smtp://127.0.0.1:$PORT" "$S" 2>"$T/sc.err"
check_exit "bad sidecars: exit 1" 1 sh -c "exit $?"
check "malformed sidecar fails with the line that is wrong" \
    grep -q 'bad.env: line 2: no .=' "$S/failed/bad.reason"
check "the sidecar travels to the failed directory" \
    test -f "$S/failed/bad.env" -a -f "$S/failed/bad" -a ! -e "$S/bad.env"
check "an address that could carry an SMTP parameter is refused" \
    grep -q 'line 2: rcpt=x@y>SIZE=1 is not a usable address' "$S/failed/inject.reason"
check "two mail-from lines are refused" grep -q 'line 2: a second mail-from' "$S/failed/twofrom.reason"
check "no rcpt= line is refused" grep -q 'no rcpt= line' "$S/failed/norcpt.reason"
check "no sidecar: fails with a clear reason" \
    grep -q 'no envelope: nosidecar.env is missing' "$S/failed/nosidecar.reason"
check "a sidecar is never taken as a message" \
    test -f "$S/orphan.env" -a ! -e "$S/failed/orphan.env.reason"
check "nothing of these reached the server" \
    test "$(ls "$T/np.out" | wc -l)" -eq 2

# --- --envelope headers: Return-Path, else From; To, Cc, Bcc; Bcc removed.
S=$T/hd
mkdir -p "$S"
printf 'Return-Path: <bounces@hanko.example>\nFrom: News <news@hanko.example>\nTo: A <a@x.example>, b@x.example\nCc: c@x.example\nBcc: secret@x.example\nX-Name: h1\nSubject: h\n\nbody\n' >"$T/orig/h1"
printf 'From: News <news@hanko.example>\nTo: d@x.example\nX-Name: h2\n\nbody\n' >"$T/orig/h2"
printf 'From: News <news@hanko.example>\nX-Name: h3\n\nno recipients\n' >"$T/orig/h3"
cp "$T/orig/h1" "$T/orig/h2" "$T/orig/h3" "$S/"
server hd
$SIGN --deliver "smtp://127.0.0.1:$PORT" --envelope headers "$S" 2>"$T/hd.err"
python3 "$CHK" envelopes "$T/hd.out" >"$T/hd.env"
printf 'h1 <bounces@hanko.example> a@x.example,b@x.example,c@x.example,secret@x.example\nh2 <news@hanko.example> d@x.example\n' >"$T/hd.want"
check "headers: Return-Path, else From; To, Cc and Bcc" cmp "$T/hd.want" "$T/hd.env"
python3 "$CHK" wire "$T/hd.out" "$T/orig" >"$T/hd.wire"
tab_report <"$T/hd.wire"
check "headers: no recipient fails with a reason" \
    grep -q 'no To, Cc or Bcc' "$S/failed/h3.reason"

# --- Replies: refused and deferred recipients, whole-message 4xx/5xx.
cat >"$T/rules.json" <<'R'
[{"on": "rcpt", "match": "bad@", "reply": "550 5.1.1 no such user"},
 {"on": "rcpt", "match": "later@", "reply": "451 4.3.0 try later", "times": 1},
 {"on": "final", "match": "X-Name: defer1", "reply": "421 4.3.2 busy", "times": 1},
 {"on": "final", "match": "X-Name: reject1", "reply": "554 5.7.1 spam"}]
R
server r --rules "$T/rules.json"
S=$T/r
msg "$S" partial lf "mail-from=a@hanko.example" "rcpt=good@x.example" \
    "rcpt=bad@x.example" "rcpt=later@x.example"
msg "$S" allbad lf "mail-from=a@hanko.example" "rcpt=bad@x.example" "rcpt=bad@y.example"
msg "$S" refusedsome lf "mail-from=a@hanko.example" "rcpt=ok@x.example" "rcpt=bad@z.example"
msg "$S" defer1 lf "mail-from=a@hanko.example" "rcpt=ok@x.example"
msg "$S" reject1 lf "mail-from=a@hanko.example" "rcpt=ok@x.example"
$SIGN --deliver "smtp://127.0.0.1:$PORT" --stats-json "$T/r.json" "$S" 2>"$T/r.err"
check_exit "replies: exit 1 (deferred and failed)" 1 sh -c "exit $?"
check "partial: only the deferred recipient stays in the sidecar" \
    sh -c "test -f '$S/partial' && grep -v '^mail-from' '$S/partial.env' | tr '\n' ' ' | grep -qx 'rcpt=later@x.example '"
check "partial: the refused recipient is in failed/ with its reply" \
    sh -c "grep -qx 'rcpt=bad@x.example' '$S/failed/partial.env' && grep -q 'bad@x.example: 550 5.1.1 no such user' '$S/failed/partial.reason' && ! grep -q good '$S/failed/partial.env'"
check "all refused: failed/ with the RCPT's 550, not the 554 after it" \
    sh -c "grep -q '550 5.1.1' '$S/failed/allbad.reason' && ! grep -q 554 '$S/failed/allbad.reason' && test -f '$S/failed/allbad.env' -a ! -e '$S/allbad'"
check "some refused, none deferred: delivered, refused ones recorded" \
    sh -c "test ! -e '$S/refusedsome' -a ! -e '$S/refusedsome.env' && grep -qx 'rcpt=bad@z.example' '$S/failed/refusedsome.env'"
check "4xx after the dot: kept with its sidecar" test -f "$S/defer1" -a -f "$S/defer1.env"
check "5xx after the dot: failed/ with the reply" \
    sh -c "grep -q '554 5.7.1 spam' '$S/failed/reject1.reason' && test ! -e '$S/reject1'"
check "stats json counts" grep -q '"delivered":1,"deferred":2,"failed":2,"left":0,"rcpt_refused":2' "$T/r.json"
$SIGN --deliver "smtp://127.0.0.1:$PORT" "$S" 2>"$T/r2.err"
check_exit "retry: exit 0 (this run's messages only)" 0 sh -c "exit $?"
check "retry: spool empty" test -z "$(left "$S")"
python3 "$CHK" envelopes "$T/r.out" >"$T/r.env"
cat >"$T/r.want" <<'W'
defer1 <a@hanko.example> ok@x.example
partial <a@hanko.example> good@x.example
partial <a@hanko.example> later@x.example
refusedsome <a@hanko.example> ok@x.example
W
check "every accepted recipient got one copy, none twice" cmp "$T/r.want" "$T/r.env"

# --- Hostile servers: each message is kept, nothing hangs or crashes.
cat >"$T/hostile.json" <<'R'
[{"on": "final", "match": "X-Name: overlong", "action": "overlong"},
 {"on": "final", "match": "X-Name: silent", "action": "silent"},
 {"on": "final", "match": "X-Name: garbage", "action": "garbage"},
 {"on": "final", "match": "X-Name: endless", "action": "endless"},
 {"on": "data", "match": "cut@", "action": "close"}]
R
server h --rules "$T/hostile.json"
for n in overlong silent garbage endless; do
	S=$T/h.$n
	msg "$S" $n lf "mail-from=a@hanko.example" "rcpt=x@x.example"
	start=$(date +%s)
	$SIGN --deliver "smtp://127.0.0.1:$PORT" --smtp-timeout 2 "$S" 2>"$T/h.$n.err"
	rc=$? took=$(($(date +%s) - start))
	check "hostile $n: exit 1, message and sidecar kept, ${took}s" \
	    sh -c "test $rc -eq 1 -a $took -le 10 -a -f '$S/$n' -a -f '$S/$n.env' && grep -q 'deferred 1' '$T/h.$n.err'"
done
S=$T/h.cut
msg "$S" cut lf "mail-from=a@hanko.example" "rcpt=cut@x.example"
yes 'a long body line to fill the socket' | head -c 200000 >>"$S/cut"
$SIGN --deliver "smtp://127.0.0.1:$PORT" --smtp-timeout 2 "$S" 2>"$T/h.cut.err"
check "disconnect mid-DATA: kept" sh -c "test $? -eq 1 -a -f '$S/cut' -a -f '$S/cut.env'"
check "disconnect mid-DATA: the session end is reported" grep -q 'session ended' "$T/h.cut.err"
S=$T/h.down
msg "$S" down lf "mail-from=a@hanko.example" "rcpt=x@x.example"
msg "$S" down2 lf "mail-from=a@hanko.example" "rcpt=x@x.example"
stop h
sleep 0.2
$SIGN --deliver "smtp://127.0.0.1:$PORT" --smtp-timeout 2 "$S" 2>"$T/h.down.err"
check "no server: exit 1, both deferred" \
    sh -c "test $? -eq 1 -a -f '$S/down' -a -f '$S/down2' && grep -q 'deferred 2' '$T/h.down.err'"

# --- LMTP: one reply per recipient after the dot; TCP and a unix socket.
cat >"$T/lmtp.json" <<'R'
[{"on": "final", "match": "full@x.example ", "reply": "452 4.2.2 mailbox full", "times": 1},
 {"on": "final", "match": "gone@x.example ", "reply": "550 5.1.1 gone"}]
R
server l --lmtp --rules "$T/lmtp.json"
S=$T/l
msg "$S" l1 crlf "mail-from=a@hanko.example" "rcpt=in@x.example" \
    "rcpt=full@x.example" "rcpt=gone@x.example"
$SIGN --deliver "lmtp://127.0.0.1:$PORT" "$S" 2>"$T/l.err"
check "lmtp: per-recipient replies: delivered, deferred, refused" \
    sh -c "test $? -eq 1 && grep -qx 'rcpt=full@x.example' '$S/l1.env' && grep -q 'gone@x.example: 550 5.1.1 gone' '$S/failed/l1.reason'"
$SIGN --deliver "lmtp://127.0.0.1:$PORT" "$S" 2>>"$T/l.err"
check "lmtp: the retry goes to the deferred recipient only" \
    sh -c "test $? -eq 0 && test \"\$(python3 '$CHK' envelopes '$T/l.out' | tr '\n' ' ')\" = 'l1 <a@hanko.example> full@x.example l1 <a@hanko.example> in@x.example '"
mkdir -p "$T/lu.out"
python3 "$SRV" --lmtp --unix "$T/lmtp.sock" --out "$T/lu.out" 2>/dev/null &
pids="$pids $!"
i=0; while [ ! -S "$T/lmtp.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
msg "$T/lu" u1 lf "mail-from=a@hanko.example" "rcpt=u@x.example"
check "lmtp:unix:PATH delivers" \
    sh -c "$SIGN --deliver 'lmtp:unix:$T/lmtp.sock' '$T/lu' && test \"\$(ls '$T/lu.out' | wc -l)\" -eq 1"

# --- sendmail[:PATH]: arguments, the message on stdin, exit statuses.
cat >"$T/sendmail" <<EOF2
#!/bin/sh
n=\$(date +%s%N)
echo "\$@" >"$T/sm.out/\$n.args"
cat >"$T/sm.out/\$n.msg"
case "\$*" in *tempfail@*) exit 75 ;; *nouser@*) exit 67 ;; esac
exit 0
EOF2
chmod +x "$T/sendmail"
mkdir -p "$T/sm.out"
S=$T/sm
msg "$S" s1 crlf "mail-from=<>" "rcpt=a@x.example" "rcpt=b@x.example"
msg "$S" s2 lf "mail-from=a@hanko.example" "rcpt=tempfail@x.example"
msg "$S" s3 lf "mail-from=a@hanko.example" "rcpt=nouser@x.example"
$SIGN --deliver "sendmail:$T/sendmail" "$S" 2>"$T/sm.err"
check "sendmail: exit 1 (one deferred, one failed)" sh -c "test $? -eq 1"
check "sendmail: -i -f <> -- recipients" grep -qx -- '-i -f <> -- a@x.example b@x.example' "$T"/sm.out/*.args
check "sendmail: the message in LF form, signed" \
    sh -c "f=\$(grep -l 'a@x.example' '$T'/sm.out/*.args); m=\${f%.args}.msg; grep -q '^DKIM-Signature' \$m && ! grep -q \"\$(printf '\r')\" \$m"
check "sendmail: EX_TEMPFAIL keeps the message" test -f "$S/s2" -a -f "$S/s2.env"
check "sendmail: another status fails it" grep -q 'exited with status 67' "$S/failed/s3.reason"

# --- SIGKILL mid-delivery: nothing lost; duplicates only for messages in
# flight, no more than the restart reports.
server k --delay 0.3
S=$T/k
mkdir -p "$S"
i=1
while [ $i -le 300 ]; do
	printf 'From: news@hanko.example\nX-Name: k%d\n\nbody %d\n' $i $i >"$S/k$i"
	printf 'mail-from=b@hanko.example\nrcpt=r%d@x.example\n' $i >"$S/k$i.env"
	i=$((i + 1))
done
$SIGN --deliver "smtp://127.0.0.1:$PORT" --connections 4 "$S" 2>"$T/k1.err" &
kp=$!
# Killed while the server holds messages it has saved but not yet
# answered: those are the duplicates the marker must account for.
i=0
while [ "$(ls "$T/k.out" | wc -l)" -lt 12 ] && [ $i -lt 200 ]; do
	sleep 0.05; i=$((i + 1)); done
sleep 0.1
kill -9 $kp
wait $kp 2>/dev/null
before=$(ls "$T/k.out" | wc -l)
stop k
rm -f "$T/k.port"
server k # the same record, now without the delay
$SIGN --deliver "smtp://127.0.0.1:$PORT" --connections 4 --stats-json "$T/k.json" "$S" 2>"$T/k2.err"
check_exit "after SIGKILL: the restart delivers the rest (exit 0)" 0 sh -c "exit $?"
set -- $(python3 "$CHK" dups "$T/k.out")
dups=$1 total=$2
resent=$(jq .inflight_resent "$T/k.json")
check "after SIGKILL: killed mid-run ($before of 300 before the kill)" \
    test "$before" -gt 0 -a "$before" -lt 300
check "after SIGKILL: every message delivered ($total copies, $dups twice)" \
    test "$((total - dups))" -eq 300
check "after SIGKILL: duplicates ($dups) <= in flight reported ($resent) <= connections" \
    test "$dups" -le "$resent" -a "$resent" -le 4 -a "$resent" -ge 1
check "after SIGKILL: the restart names what was in flight" \
    sh -c "test $resent -eq 0 || grep -q 'in flight when the last run stopped' '$T/k2.err'"
check "after SIGKILL: spool empty, no marker left" \
    test -z "$(left "$S")" -a -z "$(ls -A "$S/.hanko-inflight")"

# --- --watch: a deferred message is retried with back-off.
cat >"$T/w.json" <<'R'
[{"on": "final", "match": "X-Name: w1", "reply": "451 4.3.0 later", "times": 2}]
R
server w --rules "$T/w.json"
S=$T/w
mkdir -p "$S"
$SIGN --deliver "smtp://127.0.0.1:$PORT" --watch "$S" 2>"$T/w.err" &
wp=$!
sleep 0.3
msg "$S" w1 lf "mail-from=a@hanko.example" "rcpt=x@x.example"
i=0
while [ -e "$S/w1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $wp
wait $wp
check "watch: deferred twice, then delivered once (in ${i}00 ms)" \
    sh -c "test ! -e '$S/w1' && test \"\$(ls '$T/w.out' | wc -l)\" -eq 1"
check "watch: backed off (at least 1 s + 2 s)" test "$i" -ge 25

# --- STARTTLS (--tls): verified against --tls-ca and the host name.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -days 2 -keyout "$T/tls.pem" -out "$T/ca.pem" 2>/dev/null &&
    cat "$T/ca.pem" >>"$T/tls.pem"
server tls --tls-cert "$T/tls.pem"
S=$T/tls
msg "$S" t1 crlf "mail-from=a@hanko.example" "rcpt=x@x.example"
$SIGN --deliver "smtp://localhost:$PORT" --tls --tls-ca "$T/ca.pem" "$S" 2>"$T/tls.err"
check "tls: delivered over STARTTLS, certificate verified" \
    sh -c "test $? -eq 0 && python3 '$CHK' envelopes '$T/tls.out' | grep -qx 't1 <a@hanko.example> x@x.example tls'"
msg "$S" t2 lf "mail-from=a@hanko.example" "rcpt=x@x.example"
$SIGN --deliver "smtp://localhost:$PORT" --tls "$S" 2>"$T/tls2.err"
check "tls: an unknown CA is refused by default (kept, reason said)" \
    sh -c "test $? -eq 1 -a -f '$S/t2' && grep -q 'certificate' '$T/tls2.err'"
$SIGN --deliver "smtp://127.0.0.1:$PORT" --tls --tls-ca "$T/ca.pem" "$S" 2>"$T/tls3.err"
check "tls: a certificate for another name is refused" \
    sh -c "test $? -eq 1 -a -f '$S/t2'"
$SIGN --deliver "smtp://localhost:$PORT" --tls-no-verify "$S" 2>"$T/tls4.err"
check "tls: --tls-no-verify encrypts without the check" \
    sh -c "test $? -eq 0 -a ! -e '$S/t2' && python3 '$CHK' envelopes '$T/tls.out' | grep -qx 't2 <a@hanko.example> x@x.example tls'"
msg "$S" t3 lf "mail-from=a@hanko.example" "rcpt=x@x.example"
$SIGN --deliver "smtp://127.0.0.1:$(cat "$T/a.port")" --tls-no-verify "$S" 2>"$T/tls5.err"
check "tls: a server without STARTTLS is not used in the clear" \
    sh -c "test $? -eq 1 -a -f '$S/t3' && grep -q 'does not offer STARTTLS' '$T/tls5.err'"
server tlsi --tls-cert "$T/tls.pem" --tls-inject
$SIGN --deliver "smtp://localhost:$PORT" --tls --tls-ca "$T/ca.pem" "$S" 2>"$T/tls6.err"
check "tls: a reply injected before the handshake ends the session" \
    sh -c "test $? -eq 1 -a -f '$S/t3' && grep -q 'injection\|TLS handshake' '$T/tls6.err' && ! grep -q 'X-Name: t3' '$T'/tlsi.out/* 2>/dev/null"

# --- Directory mode (SPOOL_DIR OUT_DIR): the sidecar travels too.
for io in sync uring; do
	S=$T/dir.$io
	msg "$S/spool" d1 lf "mail-from=<b@hanko.example>" "rcpt=x@x.example"
	msg "$S/spool" d2 crlf
	printf 'To: x@x.example\n\nno From\n' >"$S/spool/nofrom"
	printf 'mail-from=b@hanko.example\nrcpt=x@x.example\n' >"$S/spool/nofrom.env"
	printf 'mail-from=b@hanko.example\nrcpt=y@x.example\n' >"$S/spool/lonely.env"
	cp "$S/spool/d1.env" "$T/d1.env.ref"
	$SIGN --io $io "$S/spool" "$S/out" 2>"$S/err"
	rc=$?
	if [ $io = uring ] && grep -q 'io_uring is not available' "$S/err"; then
		echo "# io_uring unavailable here: ring run skipped"; continue; fi
	check "dir $io: exit 1 (one unsignable)" test $rc -eq 1
	check "dir $io: the sidecar is published beside its signed message" \
	    sh -c "cmp -s '$T/d1.env.ref' '$S/out/d1.env' && grep -q '^DKIM-Signature' '$S/out/d1' && test ! -e '$S/spool/d1.env'"
	check "dir $io: a message without a sidecar is published alone" \
	    test -f "$S/out/d2" -a ! -e "$S/out/d2.env"
	check "dir $io: a failed message takes its sidecar to failed/" \
	    test -f "$S/spool/failed/nofrom" -a -f "$S/spool/failed/nofrom.env" -a ! -e "$S/spool/nofrom.env"
	check "dir $io: a sidecar alone is never a message" \
	    sh -c "test -f '$S/spool/lonely.env' && ! ls '$S/out' '$S/spool/failed' | grep -q lonely"
done
# A sidecar whose name is taken in OUT_DIR fails its message rather than
# publish it beside someone else's envelope.
S=$T/dir.taken
msg "$S/spool" t1 lf "mail-from=<b@hanko.example>" "rcpt=x@x.example"
mkdir -p "$S/out"
echo 'mail-from=<other@x.example>' >"$S/out/t1.env"
$SIGN --io sync "$S/spool" "$S/out" 2>"$S/err"
check "dir: OUT_DIR/NAME.env taken: the message goes to failed/ with its sidecar" \
    sh -c "test $? -eq 1 -a ! -e '$S/out/t1' -a -f '$S/spool/failed/t1' -a -f '$S/spool/failed/t1.env' && grep -q other '$S/out/t1.env'"

check_exit "--deliver with a bad URL: usage" 64 $SIGN --deliver "ftp://x" "$T/w"
check_exit "--deliver with two directories: usage" 64 $SIGN --deliver "smtp://x" "$T/w" "$T/w2"
finish
