#!/bin/sh
# hanko report reads DMARC aggregate reports (the sender side): the public
# parsedmarc samples, generated reports in every container, duplicates,
# hostile input (XML and zip bombs, huge counts, SQL-ish strings), the
# text summary's classification and verdict, and --csv. Expected totals
# come from tests/gen/report_gen.py, which parses the XML on its own.
. "$(dirname "$0")/../lib.sh"

S=$SHARED/dmarc/parsedmarc-samples
GEN="python3 $TOP/tests/gen/report_gen.py"
[ -d "$S" ] || skip_all "no $S"
LIMIT=
[ "${CONFIG:-release}" = asan ] || LIMIT="ulimit -v 2000000;"

# rep DB ARGS...: hanko report --db DB --json, bounded; sets rc, $T/out
rep() {
	_db=$1; shift
	(eval "$LIMIT" && exec timeout 20 "$HANKO" report --db "$_db" --json \
	    "$@") >"$T/out" 2>"$T/err"
	rc=$?
}
# j FILTER: jq over the JSON in $T/out, compact
j() { jq -c "$1" "$T/out"; }
sanitizer_clean() { ! grep -q 'Sanitizer\|runtime error:' "$T/err"; }

# --- the public samples -------------------------------------------------
rep "$T/s.db" "$S/aggregate" "$S/aggregate_invalid" "$S/extract_report"
[ "$rc" -eq 1 ] && ok "samples: exit 1 as some input is rejected" ||
    nok "samples: exit $rc, want 1"
got=$(j '[.rejected[].file | split("/")[-1]] | sort')
[ "$got" = '["empty.xml","invalid_xml.xml"]' ] &&
    ok "samples: exactly the broken files are rejected" ||
    nok "samples: rejected $got"
j '[.rejected[].reason]' | grep -q 'not well-formed XML' &&
    ok "samples: the reason names the XML error" ||
    nok "samples: reasons $(j .rejected)"
grep -q 'invalid_xml.xml: not well-formed' "$T/err" &&
    ok "samples: rejection is also on stderr" || nok "samples: stderr"
# 24 documents: 2 broken, 3 repeats (nice-input .xml/.gz/.zip and the
# invalid_utf_8 copy of the !example.com report)
[ "$(j '[.reports, .duplicates]')" = "[19,3]" ] &&
    ok "samples: 19 reports stored, 3 duplicates" ||
    nok "samples: reports/duplicates $(j '[.reports, .duplicates]')"
j '.domains["example.de"].messages' | grep -qx 1 &&
    ok "samples: the <xs:schema>-wrapped report (ikea) is read" ||
    nok "samples: example.de missing"
j '.domains["twlnet.com"].dmarc_pass' | grep -qx 1 &&
    ok "samples: zip in a mail (twilight.eml) is read" || nok "twilight"
j '.domains["ab.id.au"].messages' | grep -qx 1 &&
    ok "samples: mimecast's odd gzip mail is read" || nok "mimecast"
j '.domains["borschow.com"].messages' | grep -qx 1 &&
    ok "samples: google's zip mail is read" || nok "borschow"
# Upper-case PASS (aggregate_invalid) counts as pass once lower-cased;
# it is the only report of org example.com with that report id.
"$HANKO" report --db "$T/u.db" --json \
    "$S/aggregate_invalid/report_with_upper_cased_pass.xml" >"$T/out"
j '.domains["example.com"] | [.messages, .dmarc_pass, .dkim_aligned, .spf_aligned]' | grep -qx '\[1,1,1,1\]' &&
    ok "samples: upper-case result words are read as lower case" ||
    nok "samples: upper case $(cat "$T/out")"
# Same store, same input: nothing new.
rep "$T/s.db" "$S/aggregate" "$S/extract_report"
j '[.reports, .duplicates]' | grep -qx '\[0,21\]' &&
    ok "samples: a second read stores nothing (21 duplicates)" ||
    nok "samples: second read $(j '[.reports, .duplicates]')"
[ "$rc" -eq 1 ] && ok "samples: second read still rejects invalid_xml" ||
    nok "samples: second read exit $rc"

# --- generated reports in every container ------------------------------
G=$T/gen; mkdir -p "$G"
R1="192.0.2.1,5,pass,pass,example.com,example.com:pass"
R1="$R1;198.51.100.7,3,fail,fail,Example.COM,list.example:pass"
R1="$R1;203.0.113.9,2,fail,fail,example.com"
R2="192.0.2.1,7,pass,fail,example.com,example.com:pass"
R2="$R2;192.0.2.2,4,fail,pass,example.com"
tr '|' '\t' <<EOF | $GEN batch
xml|$G/r1.xml|Rep One|r1|example.com|$R1
xml|$G/r2.xml|Rep Two|r2|example.com|$R2
xml|$G/r3.xml|Rep Three|r3|other.example|192.0.2.9,11,pass,pass,other.example
xml|$G/r4.xml|Rep Four|r4|other.example|192.0.2.9,13,fail,pass,other.example
xml|$G/r5.xml|Rep Five|r5|example.com|192.0.2.5,17,pass,pass,example.com
xml|$G/r6.xml|Rep Six|r6|example.com|192.0.2.6,19,fail,fail,example.com
totals|$T/want.json|$G/r1.xml|$G/r2.xml|$G/r3.xml|$G/r4.xml|$G/r5.xml|$G/r6.xml
gzip|$G/r2.xml|$G/c2.xml.gz
zip|$G/r3.xml|$G/c3.zip|r3.xml
gzip|$G/r4.xml|$G/r4.xml.gz
eml|$G/c4.eml|base64|1|$G/r4.xml.gz
eml|$G/c5.eml|qp|0|$G/r5.xml
eml|$G/c6.eml|base64|0|$G/r6.xml
eml|$G/c1.eml|qp|1|$G/r1.xml
mbox|$G/box.mbox|$G/c5.eml|$G/c6.eml
EOF
MD=$T/Maildir; mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
cp "$G/c4.eml" "$MD/new/1.host"
cp "$G/c1.eml" "$MD/cur/2.host:2,S"
echo "half-delivered" >"$MD/tmp/3.host"
mkdir "$T/in"; cp "$G/c2.xml.gz" "$G/c3.zip" "$G/box.mbox" "$T/in/"
rep "$T/g.db" "$T/in" "$MD"
[ "$rc" -eq 0 ] && ok "containers: gz, zip, mbox, Maildir all read (exit 0)" ||
    nok "containers: exit $rc: $(cat "$T/err")"
for d in example.com other.example; do
	want=$(jq -c --arg d "$d" '.[$d] | [.messages, .dmarc_pass, .dkim_aligned, .spf_aligned]' "$T/want.json")
	got=$(jq -c --arg d "$d" '.domains[$d] | [.messages, .dmarc_pass, .dkim_aligned, .spf_aligned]' "$T/out")
	[ "$got" = "$want" ] &&
	    ok "containers: $d totals equal the XML's $want" ||
	    nok "containers: $d totals $got, want $want"
done
[ "$(j .reports)" = 6 ] && ok "containers: 6 reports from 7 files (tmp/ skipped)" ||
    nok "containers: $(cat "$T/out")"
"$HANKO" report --db "$T/st.db" --json - <"$G/c5.eml" >"$T/out"
j '.domains["example.com"].messages' | grep -qx 17 &&
    ok "stdin: a mail on - is read" || nok "stdin: $(cat "$T/out")"

# --- summary text: classification and verdict ---------------------------
"$HANKO" report --db "$T/g.db" >"$T/txt" 2>"$T/err"
# the example.com block: from its line to the next domain's
sed -n '/^example.com:/,/^[a-z]/p' "$T/txt" >"$T/ex"
grep -q '198.51.100.7 .* forwarder or mailing list' "$T/ex" &&
    ok "summary: DKIM pass for another domain is a forwarder/list" ||
    nok "summary: forwarder: $(cat "$T/ex")"
grep -q '203.0.113.9 .* spoofing' "$T/ex" &&
    ok "summary: nothing passing is spoofing" || nok "summary: spoofing"
grep -q 'not yet: quarantine/reject would have hit 24 of 57 messages' "$T/ex" &&
    ok "summary: verdict gives the failing count of the whole period" ||
    nok "summary: verdict: $(grep verdict "$T/ex")"
grep -q '3 of them legitimate-looking' "$T/ex" &&
    ok "summary: verdict counts the legitimate-looking failures" ||
    nok "summary: legit: $(grep verdict "$T/ex")"
sed -n '/^other.example:/,$p' "$T/txt" | grep -q 'safe to tighten: all 24' &&
    ok "summary: an all-pass domain is safe to tighten" ||
    nok "summary: other.example: $(cat "$T/txt")"
grep -q 'Rep Two .* 11 msgs' "$T/ex" && ok "summary: by reporting org" ||
    nok "summary: by org"

# --- PTR names, looked up once and cached in the store -----------------------
printf 'xml\t%s\t%s\t%s\t%s\t%s\n' "$G/v6.xml" "Rep Seven" r7 v6.example \
    "2001:db8::25,4,fail,fail,v6.example" | $GEN batch
cat >"$T/ptr.zone" <<'EOF'
$TTL 300
7.100.51.198.in-addr.arpa. PTR fwd.list.example.
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR six.v6.example.
EOF
"$HANKO" report --db "$T/g.db" --ptr --dns-zone "$T/ptr.zone" "$G/v6.xml" \
    >"$T/ptr.txt" 2>&1
grep -q '198.51.100.7 (fwd.list.example) .* forwarder' "$T/ptr.txt" &&
    ok "ptr: a failing source is shown with its PTR name (IPv4)" ||
    nok "ptr: $(grep 198.51.100.7 "$T/ptr.txt")"
grep -q '2001:db8::25 (six.v6.example)' "$T/ptr.txt" &&
    ok "ptr: IPv6 sources are looked up under ip6.arpa" ||
    nok "ptr: v6: $(grep 2001 "$T/ptr.txt")"
"$HANKO" report --db "$T/g.db" >"$T/ptr2.txt" 2>&1
grep -q '198.51.100.7 (fwd.list.example)' "$T/ptr2.txt" &&
    ok "ptr: the name is cached: a run without DNS still shows it" ||
    nok "ptr: not cached"
[ "$(sqlite3 "$T/g.db" "SELECT name FROM ptr WHERE ip = '192.0.2.1'")" = "" ] &&
    [ "$(sqlite3 "$T/g.db" "SELECT count(*) FROM ptr WHERE ip = '192.0.2.1'")" = 1 ] &&
    ok "ptr: an address without a name is cached as none" ||
    nok "ptr: negative cache"

# --- --csv ----------------------------------------------------------------
"$HANKO" report --db "$T/g.db" --csv "$T/rows.csv" >/dev/null 2>&1
# No field of these reports holds a comma, so awk can split the CSV.
got=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "count") c = i; next }
    { n++; s += $c } END { print n, s }' "$T/rows.csv")
[ "$got" = "10 85" ] && ok "csv: every row (10) and every message (85)" ||
    nok "csv: rows and messages $got, want 10 85"
head -1 "$T/rows.csv" | grep -q '^org,report_id,begin,end,domain' &&
    ok "csv: a header line names the columns" || nok "csv: header"

# --- hostile input ------------------------------------------------------
H=$T/h; mkdir -p "$H"
cat >"$H/laughs.xml" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE feedback [
<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<feedback><report_metadata><org_name>&g;</org_name><report_id>x</report_id>
<date_range><begin>1</begin><end>2</end></date_range></report_metadata>
<policy_published><domain>bomb.example</domain></policy_published>
</feedback>
EOF
cat >"$H/xxe.xml" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE feedback [ <!ENTITY x SYSTEM "file:///etc/passwd"> ]>
<feedback><report_metadata><org_name>&x;</org_name><report_id>x</report_id>
<date_range><begin>1</begin><end>2</end></date_range></report_metadata>
<policy_published><domain>xxe.example</domain></policy_published>
</feedback>
EOF
# Bombs just past the 64 MiB cap, and MIME nested deeper than any
# report mail; one interpreter start for all three.
python3 - "$H" <<'EOF'
import gzip, sys, zipfile
h = sys.argv[1]
zero = b"\0" * (65 * 1024 * 1024)
open(h + "/bomb.xml.gz", "wb").write(gzip.compress(zero, 1))
with zipfile.ZipFile(h + "/bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("r.xml", zero)
s = "Subject: deep\nContent-Type: application/xml\n\n<feedback/>\n"
for i in range(40):
    s = ("Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n%s\n--b%d--\n"
         % (i, i, s, i))
open(h + "/deep.eml", "w").write("Subject: x\n" + s)
EOF
sed 's|<count>5</count>|<count>99999999999999999999999</count>|' "$G/r1.xml" \
    >"$H/hugecount.xml"
sed 's|<count>5</count>|<count>4294967296</count>|' "$G/r1.xml" \
    >"$H/overcount.xml"
printf 'just some text\nnot a report\n' >"$H/text.txt"
# 60,000 records, each a few bytes: past the records cap, refused before
# 60,000 rows of memory are taken
{
	sed -n '1,/<\/policy_published>/p' "$G/r1.xml"
	awk 'BEGIN { for (i = 0; i < 60000; i++) print "<record><row>" \
	    "<source_ip>192.0.2.1</source_ip><count>1</count></row></record>" }'
	echo '</feedback>'
} >"$H/manyrecords.xml"
for f in laughs.xml xxe.xml bomb.xml.gz bomb.zip hugecount.xml \
    overcount.xml text.txt deep.eml manyrecords.xml; do
	rep "$T/h.db" "$H/$f"
	if [ "$rc" -eq 1 ] && sanitizer_clean &&
	    [ "$(j '[(.rejected | length), .reports]')" = "[1,0]" ]; then
		ok "hostile: $f rejected ($(j '.rejected[0].reason'))"
	else
		nok "hostile: $f: exit $rc $(cat "$T/out") $(head -5 "$T/err")"
	fi
done
rep "$T/h.db" "$H/xxe.xml"
! grep -q 'root:' "$T/out" "$T/err" && ok "hostile: no file content leaks" ||
    nok "hostile: /etc/passwd leaked"
j '.rejected[0].reason' | grep -q 'DOCTYPE' &&
    ok "hostile: the DOCTYPE is what is refused" || nok "hostile: xxe reason"
rep "$T/h.db" "$H/manyrecords.xml"
j '.rejected[0].reason' | grep -q 'more than 50000 records' &&
    ok "hostile: the records cap is what refuses 60,000 records" ||
    nok "hostile: records: $(j .rejected)"
rep "$T/h.db" "$H/bomb.zip"
j '.rejected[0].reason' | grep -q 'beyond' &&
    ok "hostile: zip bomb stops at the size cap" || nok "hostile: zip reason"
EVIL="x'); DROP TABLE rows; --"
printf 'xml\t%s\t%s\t%s\t%s\t%s\n' \
    "$H/sql.xml" "$EVIL" "1' OR '1'='1" evil.example \
    "192.0.2.1,1,pass,pass,evil.example" \
    "$H/sql2.xml" "$EVIL" "2' OR '1'='1" evil.example \
    "192.0.2.1,2,pass,pass,evil.example" | $GEN batch
rep "$T/h.db" "$H/sql.xml" "$H/sql2.xml" "$H/sql.xml"
[ "$(j '[.reports, .duplicates, .domains["evil.example"].messages]')" = "[2,1,3]" ] &&
    ok "hostile: SQL-ish org and id are data (2 stored, 1 duplicate)" ||
    nok "hostile: sql $(cat "$T/out")"
sqlite3 "$T/h.db" "SELECT org FROM reports WHERE report_id LIKE '2%'" |
    grep -qxF "$EVIL" && ok "hostile: the org is stored byte for byte" ||
    nok "hostile: org not stored verbatim"

# --- the store -------------------------------------------------------------
sqlite3 "$T/g.db" "EXPLAIN QUERY PLAN SELECT sum(count) FROM rows WHERE header_from='example.com'" |
    grep -q 'USING INDEX rows_from' &&
    ok "store: per-domain queries use the index" || nok "store: no index"
check_exit "store: an unusable --db path fails with 73" 73 \
    "$HANKO" report --db "$T/no/such/dir/x.db" "$G/r1.xml"
check_exit "a missing input exits 66" 66 \
    "$HANKO" report --db "$T/g.db" "$T/nonexistent.xml"
finish
