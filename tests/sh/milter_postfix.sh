#!/bin/sh
# hanko milter behind a real Postfix (tests/postfix.sh): a submission
# service whose milter signs, inbound services whose milters verify
# (annotating, enforcing, and one whose DNS is dead), all relaying into
# smtp-sink. Outbound mail must arrive signed and verify in dkimpy and in
# hanko verify; inbound mail must carry exactly one Authentication-Results
# of ours, forged ones of our authserv-id removed, others' kept; a spoof
# of a p=reject domain is refused (5xx) when enforcing, annotated when
# not; a DNS failure answers 4xx. Inbound clients get a public address
# through Postfix's XCLIENT, as a remote MTA would have.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/postfix.sh"

PY=/usr/bin/python3
IOP=$TOP/tests/interop
AUTHSERV=mx.hanko.test
GOOD_IP=198.51.100.7	# in signer.test's SPF record
[ -x "$PY" ] || skip_all "no $PY"
postfix_usable || skip_all "needs root, postfix and smtp-sink"
# Under ThreadSanitizer the milters are stopped with SIGKILL: libmilter's
# own shutdown (its signal thread against its listener, after smfi_main
# returns) races inside libmilter. Races in hanko's callbacks are
# reported when they happen, before that.
STOPSIG=TERM
[ "${CONFIG:-release}" = tsan ] && STOPSIG=KILL
"$HANKO" milter --help >/dev/null 2>&1 ||
    { nok "hanko milter --help"; finish; exit; }

# --- keys and the zone -------------------------------------------------------
mkdir -p "$T/k" "$T/out" "$T/log"
"$HANKO" keygen -d signer.test -s s1 -a rsa -o "$T/k" >/dev/null &&
"$HANKO" keygen -d signer.test -s e1 -a ed25519 -o "$T/k" >/dev/null ||
    { nok "hanko keygen"; finish; exit; }
ZONE=$T/zone
{
	cat "$T/k/s1.txt" "$T/k/e1.txt"
	printf 'signer.test.\tIN\tTXT\t"v=spf1 ip4:198.51.100.0/24 -all"\n'
	printf '_dmarc.signer.test.\tIN\tTXT\t"v=DMARC1; p=reject"\n'
	printf 'strict.test.\tIN\tTXT\t"v=spf1 -all"\n'
	printf '_dmarc.strict.test.\tIN\tTXT\t"v=DMARC1; p=reject"\n'
	printf 'held.test.\tIN\tTXT\t"v=spf1 -all"\n'
	printf '_dmarc.held.test.\tIN\tTXT\t"v=DMARC1; p=quarantine"\n'
} >"$ZONE"

# --- milters and Postfix -----------------------------------------------------
MPIDS=""
milter_start() {	# milter_start NAME ARGS...: port on stdout
	_n=$1
	shift
	_p=$(free_port)
	"$HANKO" milter --socket "inet:$_p@127.0.0.1" "$@" \
	    </dev/null >"$T/log/$_n.out" 2>"$T/log/$_n.log" &
	echo $! >"$T/log/$_n.pid"
	echo "$_p"
}
milter_wait() {	# milter_wait NAME: listening within 5 s
	_i=0
	while [ $_i -lt 50 ]; do
		grep -q "listening on" "$T/log/$1.log" 2>/dev/null && return 0
		kill -0 "$(cat "$T/log/$1.pid")" 2>/dev/null || return 1
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
milters_stop() {
	for _f in "$T"/log/*.pid; do
		[ -f "$_f" ] || continue
		_p=$(cat "$_f")
		kill -s "$STOPSIG" "$_p" 2>/dev/null && wait "$_p" 2>/dev/null
		rm -f "$_f"
	done
}

postfix_init || { nok "postfix_init"; finish; exit; }
PF_ON_EXIT=milters_stop

SIGN=$(milter_start sign -d signer.test -s s1 -k "$T/k/s1.private" \
    -s e1 -k "$T/k/e1.private" --dns-zone "$ZONE" --max-size 300000)
# A second signer from OpenDKIM tables: one key path fixed (loaded at
# start), one with '%' (the From domain, loaded per connection).
cp "$T/k/e1.private" "$T/k/signer.test-e1.private"
printf 'rsa signer.test:s1:%s\ned %%:e1:%s\n' "$T/k/s1.private" \
    "$T/k/%-e1.private" >"$T/KeyTable"
printf '*@signer.test rsa\n*@signer.test ed\n' >"$T/SigningTable"
TAB=$(milter_start table --key-table "$T/KeyTable" \
    --signing-table "refile:$T/SigningTable" --multiple-signatures)
COMMON="--internal-hosts 192.0.2.1/32 --authserv-id $AUTHSERV --dns-zone $ZONE"
# shellcheck disable=SC2086
ENF=$(milter_start enforce $COMMON --dmarc-reject --history "$T/history" \
    --dmarc-quarantine hold)
# The annotating milter reads its settings from --config.
cat >"$T/annotate.conf" <<EOF
# as doc/examples/milter.conf: one "option value" a line
internal-hosts   192.0.2.1/32
authserv-id      $AUTHSERV
dns-zone         $ZONE
dmarc-quarantine header
max-size         300000
max-signatures 10
EOF
ANN=$(milter_start annotate --config "$T/annotate.conf" --user nobody \
    --pidfile "$T/log/annotate.pidfile")
DEAD=$(free_port)
DNSFAIL=$(milter_start dnsfail --internal-hosts 192.0.2.1/32 \
    --authserv-id $AUTHSERV --resolver "127.0.0.1@$DEAD" --dns-timeout 1 \
    --dmarc-reject --max-connections 1)
# OpenDKIM's milter as a peer verifier, in the foreground on loopback with
# its own configuration here; keys from its TestPublicKeys file (the same
# records as the zone), so it needs no DNS.
OPENDKIM=""
if command -v opendkim >/dev/null 2>&1; then
	"$PY" - "$ZONE" >"$T/odkim.keys" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    m = re.match(r'(\S+)\.\s+IN\s+TXT\s+(.*)', line)
    if m and '_domainkey' in m.group(1):
        print(m.group(1), ''.join(re.findall(r'"([^"]*)"', m.group(2))))
PY
	OPENDKIM=$(free_port)
	cat >"$T/opendkim.conf" <<EOF
Mode v
Background no
Syslog no
Socket inet:$OPENDKIM@127.0.0.1
PidFile $T/log/opendkim.pidfile
AuthservID opendkim.hanko.test
AlwaysAddARHeader yes
TestPublicKeys $T/odkim.keys
EOF
	opendkim -x "$T/opendkim.conf" -f </dev/null >"$T/log/opendkim.log" 2>&1 &
	echo $! >"$T/log/opendkim.pid"
fi
ok=1
for n in sign table enforce annotate dnsfail; do
	milter_wait $n || { ok=0; nok "milter $n starts"; sed 's/^/#   /' "$T/log/$n.log"; }
done
[ $ok -eq 1 ] && ok "five hanko milters listen"
apid=$(cat "$T/log/annotate.pid")
check "--pidfile holds the milter's pid" test "$(cat "$T/log/annotate.pidfile" 2>/dev/null)" = "$apid"
check "--user nobody: the milter runs as nobody after binding" \
    test "$(awk '/^Uid:/ { print $2 }' "/proc/$apid/status")" = "$(id -u nobody)"

P_SUB=$(postfix_service submit "inet:127.0.0.1:$SIGN")
P_TAB=$(postfix_service table "inet:127.0.0.1:$TAB")
P_ENF=$(postfix_service enforce "inet:127.0.0.1:$ENF")
P_ANN=$(postfix_service annotate "inet:127.0.0.1:$ANN")
P_DNS=$(postfix_service dnsfail "inet:127.0.0.1:$DNSFAIL")
[ -n "$OPENDKIM" ] && P_PEER=$(postfix_service peer "inet:127.0.0.1:$OPENDKIM")
postfix_start || { nok "postfix starts"; finish; exit; }
ok "private postfix starts"

# send PORT FILE [ADDR]: one message (MAIL FROM from its From field),
# XCLIENT ADDR when given; prints the SMTP reply code of DATA, or
# MAIL:CODE when MAIL FROM was refused.
send() {
	"$PY" - "$@" <<'PY'
import smtplib, sys, email.utils, re
port, path = int(sys.argv[1]), sys.argv[2]
addr = sys.argv[3] if len(sys.argv) > 3 else None
data = open(path, 'rb').read()
m = re.search(rb'^From:.*?([\w.+-]+@[\w.-]+)', data, re.M | re.I)
frm = m.group(1).decode() if m else ''
s = smtplib.SMTP('127.0.0.1', port, local_hostname='mail.signer.test')
try:
    if addr:
        s.ehlo('mail.signer.test')
        code, _ = s.docmd('XCLIENT', 'ADDR=%s NAME=[UNAVAILABLE] HELO=mail.signer.test' % addr)
        if code != 220:
            print('xclient-%d' % code); sys.exit(0)
        s.ehlo('mail.signer.test')
    s.sendmail(frm, ['rcpt@dest.test'], data)
    print(250)
except smtplib.SMTPDataError as e:
    print(e.smtp_code)
except smtplib.SMTPSenderRefused as e:
    print('MAIL:%d' % e.smtp_code)
except smtplib.SMTPRecipientsRefused as e:
    print(list(e.recipients.values())[0][0])
finally:
    try:
        s.quit()
    except Exception:
        pass
PY
}

# expect_code NAME WANT PORT FILE [ADDR]
expect_code() {
	_name=$1 _want=$2
	shift 2
	_got=$(send "$@" 2>&1)
	case $_got in
	$_want) ok "$_name (SMTP $_got)" ;;
	*) nok "$_name: SMTP $_got, want $_want" ;;
	esac
}

# Captured messages so far, and the newest one whose Subject is given.
sink_subject() {	# sink_subject SUBJECT OUT: 0 when found
	for _f in "$PF_SINK"/*; do
		[ -f "$_f" ] || continue
		if grep -q "^Subject: $1\$" "$_f"; then
			postfix_sink_msg "$_f" "$2"
			return 0
		fi
	done
	return 1
}
wait_subject() {	# wait_subject SUBJECT OUT: up to 20 s
	_i=0
	while [ $_i -lt 200 ]; do
		sink_subject "$1" "$2" && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

sink_with() {	# sink_with SUBJECT REGEX OUT: the copy with a line REGEX, 20 s
	_i=0
	while [ $_i -lt 200 ]; do
		for _f in "$PF_SINK"/*; do
			grep -q "^Subject: $1\$" "$_f" 2>/dev/null &&
			    grep -q "$2" "$_f" &&
			    { postfix_sink_msg "$_f" "$3"; return 0; }
		done
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

annotated() {	# annotated SUBJECT OUT: the copy carrying our field, 20 s
	sink_with "$1" "^Authentication-Results: $AUTHSERV;" "$2"
}

mkmsg() {	# mkmsg FROM SUBJECT OUT [EXTRA-HEADER-FILE]
	{
		[ -n "${4:-}" ] && cat "$4"
		printf 'From: Someone <%s>\r\nTo: rcpt@dest.test\r\n' "$1"
		printf 'Subject: %s\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n' "$2"
		printf 'Message-ID: <%s@signer.test>\r\n\r\n' "$2"
		printf 'Hello,\r\n\r\nthis is %s.  Trailing space \r\n\r\n\r\n' "$2"
	} >"$3"
}

# --- outbound: signed by the submission milter -------------------------------
for i in 1 2 3; do
	mkmsg "news@signer.test" "out-$i" "$T/out/in-$i.eml"
	expect_code "submission accepts message $i" 250 "$P_SUB" "$T/out/in-$i.eml"
done
for i in 1 2 3; do
	if wait_subject "out-$i" "$T/out/out-$i.eml"; then
		n=$(grep -c '^DKIM-Signature:' "$T/out/out-$i.eml")
		[ "$n" -eq 2 ] && ok "out-$i arrives with 2 DKIM-Signature fields" ||
		    nok "out-$i arrives with $n DKIM-Signature fields, want 2"
		check "out-$i passes dkimpy" "$PY" "$IOP/dkimpy_tool.py" verify \
		    -z "$ZONE" "$T/out/out-$i.eml"
		n=$("$HANKO" verify --dns-zone "$ZONE" "$T/out/out-$i.eml" |
		    grep -c 'dkim=pass')
		[ "$n" -eq 2 ] && ok "out-$i passes hanko verify (2 signatures)" ||
		    nok "out-$i: hanko verify finds $n passing signatures, want 2"
	else
		nok "out-$i reaches the sink"
	fi
done
mkmsg "news@signer.test" "table-1" "$T/out/table.eml"
expect_code "the KeyTable/SigningTable milter accepts a message" 250 \
    "$P_TAB" "$T/out/table.eml"
if wait_subject "table-1" "$T/out/table.out"; then
	check "it is signed by both table keys (s=s1 and s=e1 via '%')" \
	    sh -c "[ \$(grep -c '^DKIM-Signature:' '$T/out/table.out') -eq 2 ] &&
	           grep -q '[; ]s=s1;' '$T/out/table.out' &&
	           grep -q '[; ]s=e1;' '$T/out/table.out'"
	check "and passes dkimpy" "$PY" "$IOP/dkimpy_tool.py" verify -z "$ZONE" \
	    "$T/out/table.out"
else
	nok "the table-signed message reaches the sink"
fi
# A tampered copy must fail dkimpy: the check above can fail.
sed 's/^Subject: out-1/Subject: out-1 (changed)/' "$T/out/out-1.eml" >"$T/out/bad.eml"
if "$PY" "$IOP/dkimpy_tool.py" verify -z "$ZONE" "$T/out/bad.eml" >/dev/null 2>&1; then
	nok "a tampered signed message fails dkimpy"
else
	ok "a tampered signed message fails dkimpy"
fi
grep -q 'signed d=signer.test s=s1' "$T/log/sign.log" &&
    ok "the signing milter logs each signature" ||
    nok "the signing milter logs each signature"

# --- OpenDKIM's milter verifies our signatures --------------------------------
if [ -n "$OPENDKIM" ]; then
	cp "$T/out/out-3.eml" "$T/peer.eml"
	expect_code "OpenDKIM's milter accepts our signed mail" 250 "$P_PEER" \
	    "$T/peer.eml" "$GOOD_IP"
	if sink_with out-3 'opendkim.hanko.test' "$T/peer.out"; then
		awk '{ sub(/\r$/, "") } /^$/ { exit }
		     /^[ \t]/ { if (k) f = f $0; next }
		     { if (k) print f; k = 0 }
		     /^Authentication-Results: opendkim/ { k = 1; f = $0 }
		     END { if (k) print f }' "$T/peer.out" >"$T/peer.ar"
		# One resinfo a line: each selector's own result.
		tr ';' '\n' <"$T/peer.ar" >"$T/peer.res"
		check "OpenDKIM: dkim=pass for our RSA signature (s=s1)" \
		    sh -c "grep 'header\.s=s1 ' '$T/peer.res' | grep -q '^[[:space:]]*dkim=pass'"
		check "OpenDKIM: dkim=pass for our Ed25519 signature (s=e1)" \
		    sh -c "grep 'header\.s=e1 ' '$T/peer.res' | grep -q '^[[:space:]]*dkim=pass'"
	else
		nok "the message verified by OpenDKIM reaches the sink"
		sed 's/^/#   /' "$T/log/opendkim.log"
	fi
else
	echo "# opendkim not installed: no peer check"
fi

# --- inbound: verified, annotated, enforced ----------------------------------
ar_ours() {	# ar_ours FILE: our Authentication-Results fields, unfolded
	awk '{ sub(/\r$/, "") } /^$/ { exit }
	     /^[ \t]/ { if (keep) f = f " " $0; next }
	     { if (keep) print f; keep = 0 }
	     tolower($0) ~ /^authentication-results:/ { keep = 1; f = $0 }
	     END { if (keep) print f }' "$1"
}
# The signed message again, now from outside (its Subject is signed:
# keep it, and find the copy by its Message-ID instead).
cp "$T/out/out-2.eml" "$T/in-signed.eml"
expect_code "inbound (enforcing) accepts signed mail from the SPF address" \
    250 "$P_ENF" "$T/in-signed.eml" "$GOOD_IP"
if sink_with out-2 "^Authentication-Results: $AUTHSERV" "$T/in-signed.out"; then
	ar_ours "$T/in-signed.out" >"$T/ar1"
	n=$(grep -c "$AUTHSERV" "$T/ar1")
	[ "$n" -eq 1 ] && ok "exactly one Authentication-Results of ours" ||
	    nok "Authentication-Results of ours: $n, want 1"
	check "inbound signed mail: dkim=pass" grep -q 'dkim=pass' "$T/ar1"
	check "inbound signed mail: spf=pass" grep -q 'spf=pass' "$T/ar1"
	check "inbound signed mail: dmarc=pass" grep -q 'dmarc=pass' "$T/ar1"
else
	nok "inbound signed mail reaches the sink"
fi

mkmsg "ceo@strict.test" "spoof-enf" "$T/spoof1.eml"
expect_code "a spoof of a p=reject domain is refused when enforcing" \
    '5[0-9][0-9]' "$P_ENF" "$T/spoof1.eml" "$GOOD_IP"
mkmsg "ceo@strict.test" "spoof-ann" "$T/spoof2.eml"
expect_code "the same spoof is accepted when annotating" 250 "$P_ANN" \
    "$T/spoof2.eml" "$GOOD_IP"
if wait_subject "spoof-ann" "$T/spoof2.out"; then
	ar_ours "$T/spoof2.out" >"$T/ar2"
	check "the annotated spoof says dmarc=fail" grep -q "dmarc=fail" "$T/ar2"
else
	nok "the annotated spoof reaches the sink"
fi
grep -q 'action=reject' "$T/log/enforce.log" &&
    ok "the enforcing milter logs the rejection" ||
    nok "the enforcing milter logs the rejection"

# --- p=quarantine: held in Postfix's hold queue, or marked ----------------
mkmsg "ceo@held.test" "held-enf" "$T/held1.eml"
expect_code "a p=quarantine failure is accepted when holding" 250 \
    "$P_ENF" "$T/held1.eml" "$GOOD_IP"
_i=0
while [ $_i -lt 100 ] && [ -z "$(find "$PF/queue/hold" -type f 2>/dev/null)" ]; do
	sleep 0.1
	_i=$((_i + 1))
done
check "--dmarc-quarantine hold puts it in Postfix's hold queue" \
    test -n "$(find "$PF/queue/hold" -type f 2>/dev/null)"
mkmsg "ceo@held.test" "held-ann" "$T/held2.eml"
expect_code "a p=quarantine failure is accepted when marking" 250 \
    "$P_ANN" "$T/held2.eml" "$GOOD_IP"
if wait_subject "held-ann" "$T/held2.out"; then
	check "--dmarc-quarantine header adds X-Hanko-Quarantine" \
	    grep -q '^X-Hanko-Quarantine: DMARC p=quarantine' "$T/held2.out"
else
	nok "the marked p=quarantine message reaches the sink"
fi
check "the spoof of p=reject was not marked for quarantine" \
    sh -c "! grep -q '^X-Hanko-Quarantine' '$T/spoof2.out'"

# --- forged Authentication-Results -------------------------------------------
printf '%s\r\n' \
    "Authentication-Results: $AUTHSERV; dkim=pass forged-1" \
    "Authentication-Results:" \
    "	MX.Hanko.TEST; dmarc=pass forged-2" \
    "authentication-results: $AUTHSERV; spf=pass forged-3" \
    "Authentication-Results: (looks innocent) $AUTHSERV; dkim=pass forged-4" \
    "Authentication-Results: other.example; dkim=pass kept-1" \
    "AUTHENTICATION-RESULTS: \"$AUTHSERV\"; dmarc=pass forged-5" \
    "Authentication-Results: $AUTHSERV.evil; dkim=pass kept-2" \
    >"$T/forged.hdr"
mkmsg "ceo@strict.test" "forged-ar" "$T/forged.eml" "$T/forged.hdr"
expect_code "mail with forged Authentication-Results is accepted" 250 \
    "$P_ANN" "$T/forged.eml" "$GOOD_IP"
if wait_subject "forged-ar" "$T/forged.out"; then
	ar_ours "$T/forged.out" >"$T/ar3"
	for k in 1 2 3 4 5; do
		if grep -q "forged-$k" "$T/ar3"; then
			nok "forged Authentication-Results $k removed"
			sed 's/^/#   /' "$T/ar3"
		else
			ok "forged Authentication-Results $k removed"
		fi
	done
	check "another authserv-id's field is kept" grep -q 'kept-1' "$T/ar3"
	check "a look-alike authserv-id's field is kept" grep -q 'kept-2' "$T/ar3"
	n=$(grep -ci "^authentication-results: $AUTHSERV;" "$T/ar3")
	[ "$n" -eq 1 ] && ok "one field of ours after removal" ||
	    nok "fields of ours after removal: $n, want 1"
	check "ours reports dmarc=fail for the unsigned strict.test mail" \
	    grep -q "^Authentication-Results: $AUTHSERV;.*dmarc=fail" "$T/ar3"
else
	nok "the forged-A-R message reaches the sink"
fi

# --- --max-connections: one connection held open, the next one waits ---
"$PY" - "$P_DNS" <<'PY' >"$T/hold.out" 2>&1 &
import smtplib, sys, time
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='mail.signer.test')
s.mail('news@signer.test')
print('held', flush=True)
time.sleep(4)
s.quit()
PY
holder=$!
_i=0
while [ $_i -lt 50 ] && ! grep -q held "$T/hold.out"; do sleep 0.1; _i=$((_i + 1)); done
mkmsg "news@signer.test" "over-conns" "$T/over.eml"
expect_code "a second connection past --max-connections 1 is refused 4xx at MAIL" \
    'MAIL:4[0-9][0-9]' "$P_DNS" "$T/over.eml" "$GOOD_IP"
wait "$holder"

# --- DNS failure ---------------------------------------------------------------
mkmsg "news@signer.test" "dns-fail" "$T/dnsfail.eml"
# The held connection's slot frees once Postfix has closed its milter
# connection, shortly after the client left: retry while MAIL is refused.
_i=0
while :; do
	code=$(send "$P_DNS" "$T/dnsfail.eml" "$GOOD_IP" 2>&1)
	case $code in MAIL:*) ;; *) break ;; esac
	_i=$((_i + 1))
	[ $_i -ge 50 ] && break
	sleep 0.1
done
case $code in
4[0-9][0-9]) ok "the slot is free again, and a DNS failure is answered 4xx when enforcing (SMTP $code)" ;;
*) nok "a DNS failure is answered 4xx when enforcing: SMTP $code" ;;
esac
grep -q 'action=tempfail' "$T/log/dnsfail.log" &&
    ok "the DNS failure is logged as tempfail" ||
    nok "the DNS failure is logged as tempfail"

# --- --max-size: the body is hashed as it streams, up to the bound -----------
big() {	# big FROM SUBJECT OUT LINES: a message of LINES 100-byte lines
	mkmsg "$1" "$2" "$3"
	awk -v n="$4" 'BEGIN { for (i = 0; i < n; i++)
	    printf "%099d\r\n", i }' >>"$3"
}
big "news@signer.test" "big-ok" "$T/big-ok.eml" 2500
expect_code "a 250 kB message under --max-size is signed" 250 "$P_SUB" \
    "$T/big-ok.eml"
if wait_subject "big-ok" "$T/big-ok.out"; then
	check "the 250 kB message passes dkimpy" "$PY" "$IOP/dkimpy_tool.py" \
	    verify -z "$ZONE" "$T/big-ok.out"
	cp "$T/big-ok.out" "$T/big-in.eml"
	expect_code "it is accepted inbound" 250 "$P_ANN" "$T/big-in.eml" \
	    "$GOOD_IP"
	if annotated "big-ok" "$T/big-in.out"; then
		check "inbound, its body hashed in chunks passes: dkim=pass twice" \
		    test "$(ar_ours "$T/big-in.out" | grep -o 'dkim=pass' | wc -l)" -eq 2
	else
		nok "the 250 kB inbound message reaches the sink"
	fi
else
	nok "the 250 kB message reaches the sink"
fi
big "news@signer.test" "big-over" "$T/big-over.eml" 4000
expect_code "a 400 kB message over --max-size is refused, not sent unsigned" \
    '5[0-9][0-9]' "$P_SUB" "$T/big-over.eml"
big "ceo@strict.test" "big-over-in" "$T/big-over-in.eml" 4000
expect_code "inbound, it is annotated as unreadable" 250 "$P_ANN" \
    "$T/big-over-in.eml" "$GOOD_IP"
if wait_subject "big-over-in" "$T/big-over-in.out"; then
	check "its field says the message was over the limits" \
	    grep -q 'larger than the milter' "$T/big-over-in.out"
else
	nok "the oversized inbound message reaches the sink"
fi

# --- hostile input and vanishing clients ----------------------------------------
# A client that stops mid-DATA makes Postfix abort the milter transaction
# (xxfi_abort/xxfi_close free it); the milters must keep serving.
vanish() {	# vanish PORT [ADDR]: send half a message, then disconnect
	"$PY" - "$@" <<'PY'
import socket, sys
port = int(sys.argv[1]); addr = sys.argv[2] if len(sys.argv) > 2 else None
s = socket.create_connection(('127.0.0.1', port)); f = s.makefile('rb')
def cmd(c):
    s.sendall(c.encode() + b'\r\n')
    while True:
        l = f.readline()
        if l[3:4] != b'-':
            return l
f.readline()
cmd('EHLO mail.signer.test')
if addr:
    cmd('XCLIENT ADDR=%s HELO=mail.signer.test' % addr); cmd('EHLO mail.signer.test')
cmd('MAIL FROM:<news@signer.test>'); cmd('RCPT TO:<rcpt@dest.test>'); cmd('DATA')
s.sendall(b'From: news@signer.test\r\nSubject: vanish\r\n\r\n' + b'x' * 100000)
s.close()
PY
}
for i in 1 2 3; do
	vanish "$P_SUB"
	vanish "$P_ANN" "$GOOD_IP"
done
printf 'From: a@signer.test\r\nFrom: b@strict.test\r\nSubject: two-from\r\n\r\nx\r\n' >"$T/h1.eml"
expect_code "two From fields: submission still answers" '[245][0-9][0-9]' "$P_SUB" "$T/h1.eml"
printf 'Subject: no-from\r\nTo: r@dest.test\r\n\r\nx\r\n' >"$T/h2.eml"
expect_code "no From field: accepted unsigned by the submission milter" 250 "$P_SUB" "$T/h2.eml"
{
	printf 'From: ceo@strict.test\r\nSubject: long-header\r\nX-Long: '
	awk 'BEGIN { for (i = 0; i < 3000; i++) printf "%099d\r\n\t", i }'
	printf 'end\r\n\r\nbody\r\n'
} >"$T/h3.eml"
expect_code "a 300 kB header field: the inbound milter answers" '[245][0-9][0-9]' \
    "$P_ANN" "$T/h3.eml" "$GOOD_IP"
mkmsg "news@signer.test" "after-hostile" "$T/after.eml"
expect_code "the submission milter still signs after aborted clients" 250 \
    "$P_SUB" "$T/after.eml"
if wait_subject "after-hostile" "$T/after.out"; then
	check "and its signature passes dkimpy" "$PY" "$IOP/dkimpy_tool.py" \
	    verify -z "$ZONE" "$T/after.out"
else
	nok "the message after the hostile ones reaches the sink"
fi
for n in sign annotate; do
	check "milter $n is still running" kill -0 "$(cat "$T/log/$n.pid")"
done

# --- concurrency: connections at once, signing and verifying ----------------
# Each connection has its own resolver, verifier and signer; eight of each
# kind at once must give the same results as one at a time.
senders=""
for i in 1 2 3 4 5 6 7 8; do
	mkmsg "news@signer.test" "par-out-$i" "$T/par-out-$i.eml"
	send "$P_SUB" "$T/par-out-$i.eml" >"$T/par-out-$i.code" &
	senders="$senders $!"
	mkmsg "ceo@strict.test" "par-in-$i" "$T/par-in-$i.eml"
	send "$P_ANN" "$T/par-in-$i.eml" "$GOOD_IP" >"$T/par-in-$i.code" &
	senders="$senders $!"
done
for p in $senders; do wait "$p"; done
bad=""
outs=""
for i in 1 2 3 4 5 6 7 8; do
	wait_subject "par-out-$i" "$T/par-out-$i.out" &&
	    [ "$(grep -c '^DKIM-Signature:' "$T/par-out-$i.out")" -eq 2 ] ||
	    bad="$bad out-$i"
	outs="$outs $T/par-out-$i.out"
	wait_subject "par-in-$i" "$T/par-in-$i.out" &&
	    [ "$(ar_ours "$T/par-in-$i.out" | grep -c "^Authentication-Results: $AUTHSERV;.*dmarc=fail")" -eq 1 ] ||
	    bad="$bad in-$i"
done
# shellcheck disable=SC2086
"$PY" "$IOP/dkimpy_tool.py" verify -z "$ZONE" $outs >"$T/par.dkimpy" 2>&1 ||
    bad="$bad dkimpy:$(grep -c '^fail' "$T/par.dkimpy")"
[ -z "$bad" ] && ok "16 concurrent connections: 8 signed (dkimpy pass), 8 annotated" ||
    nok "concurrent connections went wrong:$bad"

# --- history -----------------------------------------------------------------
if [ -s "$T/history" ]; then
	check "history lines are JSON with time, client IP and policy" \
	    "$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) >= 2, rows
for r in rows:
    assert isinstance(r["time"], int) and r["time"] > 1700000000
    assert r["envelope"]["ip"] == sys.argv[2], r["envelope"]
assert any(r["dmarc"]["result"] == "pass" for r in rows)
assert any(r["dmarc"]["result"] == "fail" and r["dmarc"]["p"] == "reject" for r in rows)
' "$T/history" "$GOOD_IP"
else
	nok "the enforcing milter writes --history"
fi

postfix_drain 10 || nok "the queue drains"
milters_stop
postfix_stop
for n in sign table enforce annotate dnsfail; do
	if grep -qiE 'Sanitizer|runtime error' "$T/log/$n.log"; then
		nok "milter $n ran clean"; sed 's/^/#   /' "$T/log/$n.log" | head -30
	fi
done
finish
