#!/bin/sh
# hanko report aggregate (the receiver side) and the round trip: history
# lines made by hanko dmarc --json (plus "time"), reports written, checked
# against RFC 9990's schema, their messages checked, then read back by
# hanko report from every container with totals equal to the history's.
. "$(dirname "$0")/../lib.sh"

XSD=$SHARED/dmarc/schema/rfc9990.xsd
[ -f "$XSD" ] || skip_all "no $XSD"
command -v xmllint >/dev/null || skip_all "no xmllint (libxml2-utils)"
command -v jq >/dev/null || skip_all "no jq"
PASS_IP=192.0.2.25
FAIL_IP=198.51.100.7
LIST_IP=203.0.113.5
DAY=1767225600 # 2026-01-01T00:00:00Z
mkdir "$T/k" "$T/m"

"$HANKO" keygen -d example.com -s s1 -a ed25519 -o "$T/k" >/dev/null ||
    { nok "hanko keygen"; finish; exit; }
PUB=$(sed 's/^[^"]*"//; s/".*$//' "$T/k/s1.txt")
# zone P: the policy of example.com is p=P; rua names the same domain,
# an authorised and an unauthorised external domain, and one limit of a
# single byte and one of 10 KiB.
zone() {
	cat <<EOF
\$TTL 300
example.com. TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com. TXT "v=DMARC1; p=$1; rua=mailto:agg@example.com,mailto:dmarc@auth.example,mailto:dmarc@unauth.example,mailto:tiny@example.com!1,mailto:big@example.com!10k"
example.com._report._dmarc.auth.example. TXT "v=DMARC1"
list.example. TXT "v=spf1 ip4:203.0.113.0/24 -all"
other.example. TXT "v=spf1 -all"
_dmarc.other.example. TXT "v=DMARC1; p=quarantine; rua=mailto:rua@other.example"
s1._domainkey.example.com. TXT "$PUB"
s1._domainkey.list.example. TXT "$PUB"
EOF
}
zone none >"$T/z-none"
zone reject >"$T/z-reject"

# msg NAME FROM [SIGNER]
msg() {
	printf 'From: %s\nTo: r@receiver.example\nSubject: %s\nDate: Thu, 01 Jan 2026 00:00:00 +0000\nMessage-ID: <%s@t>\n\nbody\n' \
	    "$2" "$1" "$1" >"$T/m/$1.eml"
	[ $# -lt 3 ] && return
	"$HANKO" sign -d "$3" -s s1 -k "$T/k/s1.private" --time 1767225600 \
	    <"$T/m/$1.eml" >"$T/m/.s" 2>/dev/null && mv "$T/m/.s" "$T/m/$1.eml"
}
msg good a@example.com example.com
msg list a@example.com list.example
msg spoof a@example.com
msg other b@other.example

# ev ZONE IP MAILFROM MSG: one hanko dmarc --json line
ev() {
	"$HANKO" dmarc --dns-zone "$T/$1" --ip "$2" --mail-from "$3" \
	    --helo mta.test --json "$T/m/$4.eml" 2>/dev/null
}
{
	ev z-none $PASS_IP x@example.com good
	ev z-none $LIST_IP x@list.example list
	ev z-none $FAIL_IP x@example.com spoof
	ev z-none $PASS_IP x@other.example other
	ev z-reject $PASS_IP x@example.com good
	ev z-reject $FAIL_IP x@example.com spoof
	echo '{"file":"-","error":"unreadable","dmarc":{"record_domain":null}}'
} >"$T/evals"
[ "$(wc -l <"$T/evals")" -eq 7 ] && ok "history: 7 evaluations made" ||
    nok "history: $(cat "$T/evals")"
# The history: evaluation LINE repeated COPIES times, OFFSET seconds into
# the first day and one second apart.
: >"$T/hist"
while read -r line copies off; do
	sed -n "${line}p" "$T/evals" |
	    jq -c --argjson t $((DAY + off)) --argjson n "$copies" \
	    '. as $o | range($n) | $o + {time: ($t + .)}' >>"$T/hist"
done <<EOF
1 5 0
2 3 60
3 2 120
4 4 180
1 2 86400
5 7 3600
6 1 7200
7 1 10
EOF
echo 'not json at all' >>"$T/hist"
[ "$(wc -l <"$T/hist")" -eq 26 ] && ok "history: 26 lines" ||
    nok "history: $(wc -l <"$T/hist") lines"

O=$T/out
"$HANKO" report aggregate --dns-zone "$T/z-none" --history "$T/hist" \
    --org-name receiver.example --email dmarc@receiver.example -o "$O" \
    >"$T/so" 2>"$T/se"
rc=$?
[ "$rc" -eq 1 ] && ok "aggregate: exit 1 for the unreadable line" ||
    nok "aggregate: exit $rc: $(cat "$T/se")"
grep -q 'hist:26: not a JSON object' "$T/se" &&
    ok "aggregate: the bad line is named by file and number" ||
    nok "aggregate: $(cat "$T/se")"
grep -q '24 lines counted in 7 rows, 1 without a policy record' "$T/se" &&
    ok "aggregate: identical evaluations merge into rows" ||
    nok "aggregate: $(cat "$T/se")"

# --- the files ------------------------------------------------------------
ls "$O" >"$T/ls"
grep -v '\.xml\.gz$' "$T/ls" | grep -v '\.eml$' | grep -q . &&
    nok "aggregate: -o holds other files: $(cat "$T/ls")" ||
    ok "aggregate: -o holds only .xml.gz and .eml files"
# example.com: day 1 under p=none, day 1 under p=reject, day 2 p=none;
# other.example: day 1
[ "$(grep -c '\.xml\.gz$' "$T/ls")" -eq 4 ] &&
    ok "aggregate: one report per (domain, day, policy seen)" ||
    nok "aggregate: reports $(cat "$T/ls")"
bad=0
for f in "$O"/*.xml.gz; do
	gzip -t "$f" || bad=1
	gzip -dc "$f" | xmllint --noout --schema "$XSD" - 2>>"$T/xl" || bad=1
done
[ $bad -eq 0 ] && ok "aggregate: every report is gzip and valid RFC 9990" ||
    nok "aggregate: schema: $(cat "$T/xl")"
bad=
for f in $(grep '\.xml\.gz$' "$T/ls"); do
	IFS='!' read -r org dom b e id <<EOF
${f%.xml.gz}
EOF
	[ "$org" = receiver.example ] && [ $((b % 86400)) -eq 0 ] &&
	    [ "$e" -eq $((b + 86399)) ] && [ -n "$id" ] ||
	    bad="$bad $f"
	gzip -dc "$O/$f" | grep -q "<report_id>$id</report_id>" ||
	    bad="$bad $f(id)"
	gzip -dc "$O/$f" | grep -q "<begin>$b</begin>" || bad="$bad $f(begin)"
done
[ -z "$bad" ] && ok "aggregate: names are ORG!DOMAIN!BEGIN!END!ID, UTC days" ||
    nok "aggregate: names:$bad"
[ "$(grep '\.xml\.gz$' "$T/ls" | cut -d'!' -f5 | sort -u | wc -l)" -eq 4 ] &&
    ok "aggregate: report ids are unique" || nok "aggregate: ids repeat"
# policy as seen at evaluation time
P=$(for f in "$O"/receiver.example\!example.com\!$DAY\!*.xml.gz; do
	gzip -dc "$f" | sed -n 's|.*<p>\([a-z]*\)</p>.*|\1|p'; done | sort | tr '\n' ' ')
[ "$P" = "none reject " ] &&
    ok "aggregate: each report carries the policy seen when evaluated" ||
    nok "aggregate: policies of day 1: $P"
gzip -dc "$O"/receiver.example\!example.com\!$DAY\!*.xml.gz |
    grep -q '<source_ip>192.0.2.25</source_ip><count>5</count>' &&
    ok "aggregate: 5 identical messages are one row with count 5" ||
    nok "aggregate: merged row"

# --- the messages -----------------------------------------------------------
grep -q 'dmarc@unauth.example not authorised' "$T/se" &&
    ok "destinations: unauthorised external rua warned about" ||
    nok "destinations: $(cat "$T/se")"
grep -q "tiny@example.com's limit of 1" "$T/se" &&
    ok "destinations: !size limit warned about" || nok "destinations: size"
python3 - "$O" >"$T/chk" <<'EOF'
import email, email.policy, gzip, os, re, sys
o = sys.argv[1]
names = os.listdir(o)
emls = sorted(n for n in names if n.endswith(".eml"))
rcpts = sorted(n.rsplit("!", 1)[1][:-4] for n in emls)
# 3 example.com reports x (agg@, dmarc@auth.example, big@ within its
# 10k) + other.example's 1
want = sorted(["agg@example.com", "dmarc@auth.example", "big@example.com"] * 3 +
              ["rua@other.example"])
print(("ok" if rcpts == want else "fail") +
      "\tdestinations: messages for the authorised addresses only\t%s" % rcpts)
bad = []
for n in emls:
    m = email.message_from_bytes(open(os.path.join(o, n), "rb").read(),
                                 policy=email.policy.default)
    base = n.rsplit("!", 1)[0]
    gz = base + ".xml.gz"
    rid = base.split("!")[4]
    att = [p for p in m.iter_attachments()]
    if m["From"] != "dmarc@receiver.example": bad.append(n + " From")
    if m["To"] != n.rsplit("!", 1)[1][:-4]: bad.append(n + " To")
    dom = base.split("!")[1]
    if not re.fullmatch(r"Report Domain: %s Submitter: receiver\.example "
                        r"Report-ID: <%s>" % (re.escape(dom), rid),
                        m["Subject"]): bad.append(n + " Subject")
    if len(att) != 1 or att[0].get_content_type() != "application/gzip" \
       or att[0].get_filename() != gz \
       or att[0].get_content() != open(os.path.join(o, gz), "rb").read():
        bad.append(n + " attachment")
print(("ok" if not bad else "fail") +
      "\tdestinations: From, To, Subject with Report-ID, the gzip attached\t%s" % bad)
EOF
tab_report <"$T/chk"

# --- round trip: totals equal the history ------------------------------------
grep -v '^not json' "$T/hist" | jq -s -c '
    map(select(.dmarc.record_domain != null)) | group_by(.dmarc.header_from) |
    map({key: .[0].dmarc.header_from, value: [length,
        (map(select(.dmarc.dkim_aligned or .dmarc.spf_aligned)) | length),
        (map(select(.dmarc.dkim_aligned)) | length),
        (map(select(.dmarc.spf_aligned)) | length)]}) | from_entries' >"$T/want"
# roundtrip NAME DB INPUT...: the store's totals equal the history's
roundtrip() {
	_n=$1 _db=$2; shift 2
	"$HANKO" report --db "$_db" --json "$@" >"$T/rt" 2>"$T/rte"
	_rc=$?
	_got=$(jq -c '.domains | map_values([.messages, .dmarc_pass, .dkim_aligned, .spf_aligned])' "$T/rt")
	if [ "$_rc" -eq 0 ] && [ "$_got" = "$(cat "$T/want")" ]; then
		ok "round trip: $_n: totals equal the history $_got"
	else
		nok "round trip: $_n: exit $_rc, got $_got want $(cat "$T/want") $(cat "$T/rte")"
	fi
}
roundtrip ".xml.gz and .eml" "$T/a.db" "$O"
[ "$(jq -c '[.reports, .duplicates]' "$T/rt")" = "[4,10]" ] &&
    ok "round trip: the 10 messages carry the 4 reports again (duplicates)" ||
    nok "round trip: $(jq -c '[.reports, .duplicates]' "$T/rt")"
mkdir "$T/x" "$T/z" "$T/md" "$T/md/cur" "$T/md/new" "$T/md/tmp" "$T/e"
for f in "$O"/*.xml.gz; do
	b=$(basename "$f" .gz)
	gzip -dc "$f" >"$T/x/$b"
done
roundtrip "plain .xml" "$T/b.db" "$T/x"
python3 - "$T/x" "$T/z/reports.zip" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
    for n in sorted(os.listdir(sys.argv[1])):
        z.write(os.path.join(sys.argv[1], n), n)
EOF
roundtrip ".zip" "$T/c.db" "$T/z/reports.zip"
# one message per report: the agg@example.com ones and other.example's
i=0
for f in "$O"/*agg@example.com.eml "$O"/*rua@other.example.eml; do
	i=$((i + 1))
	cp "$f" "$T/e/$i.eml"
	cp "$f" "$T/md/new/$i.host"
	{ echo "From dmarc@receiver.example Thu Jan  1 00:00:00 2026"
	  tr -d '\r' <"$f"; echo; } >>"$T/e/all.mbox"
done
roundtrip ".eml" "$T/d.db" "$T/e/1.eml" "$T/e/2.eml" "$T/e/3.eml" "$T/e/4.eml"
roundtrip "mbox" "$T/f.db" "$T/e/all.mbox"
roundtrip "Maildir" "$T/g.db" "$T/md"

# --- options ------------------------------------------------------------------
"$HANKO" report aggregate --dns-zone "$T/z-none" --history "$T/hist" \
    --org-name receiver.example --email dmarc@receiver.example -o "$O" \
    >/dev/null 2>"$T/se2"
rc=$?
[ "$rc" -eq 73 ] && grep -q 'File exists' "$T/se2" &&
    ok "aggregate: an existing report is never overwritten (73)" ||
    nok "aggregate: rerun exit $rc $(cat "$T/se2")"
"$HANKO" report aggregate --dns-zone "$T/z-none" --history "$T/hist" \
    --org-name receiver.example --email dmarc@receiver.example \
    -o "$T/hour" --period hour >/dev/null 2>&1
bad=
for f in "$T/hour"/*.xml.gz; do
	b=$(basename "$f" | cut -d'!' -f3) e=$(basename "$f" | cut -d'!' -f4)
	[ $((b % 3600)) -eq 0 ] && [ "$e" -eq $((b + 3599)) ] || bad="$bad $f"
done
# hours: 0 (p=none, both domains), 1 and 2 (p=reject), day 2's 0
n=$(ls "$T/hour"/*.xml.gz | wc -l)
[ -z "$bad" ] && [ "$n" -eq 5 ] &&
    ok "aggregate: --period hour makes hourly reports ($n)" ||
    nok "aggregate: hourly: $n reports,$bad"
# Memory follows distinct rows, not lines: 10 times the lines (same 3
# rows) must not need more than a little more memory.
if [ -x /usr/bin/time ] && [ "${CONFIG:-release}" = release ]; then
	sed -n '1p;6p;9p' "$T/hist" >"$T/h3"
	for n in 3000 30000; do
		awk -v n=$((n / 3)) '{ l[NR] = $0 } END { for (i = 0; i < n; i++)
		    for (j = 1; j <= NR; j++) print l[j] }' "$T/h3" >"$T/h$n"
		/usr/bin/time -f %M -o "$T/rss$n" "$HANKO" report aggregate \
		    --dns-zone "$T/z-none" --history "$T/h$n" --org-name r \
		    --email x@r.example -o "$T/o$n" 2>"$T/e$n" >/dev/null
	done
	a=$(tail -1 "$T/rss3000") b=$(tail -1 "$T/rss30000")
	grep -q '30000 lines counted in 3 rows' "$T/e30000" &&
	    [ "$b" -lt $((a + 4096)) ] &&
	    ok "aggregate: 30000 lines in 3 rows take no more memory than 3000 (${a} vs ${b} KB)" ||
	    nok "aggregate: memory ${a} KB for 3000 lines, ${b} KB for 30000: $(cat "$T/e30000")"
fi
check_exit "aggregate: --org-name with ! is refused" 64 \
    "$HANKO" report aggregate --history "$T/hist" --org-name 'a!b' \
    --email x@y -o "$T/o3"
check_exit "aggregate: a missing history file exits 66" 66 \
    "$HANKO" report aggregate --dns-zone "$T/z-none" --history "$T/nope" \
    --org-name r --email x@y -o "$T/o4"
finish
