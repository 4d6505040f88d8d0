#!/bin/sh
# hanko sign in filter mode, end to end: output framing, line endings,
# dual signing, header lists, canonicalizations, exit codes, key checks,
# RFC 8463 byte-exact reproduction, OpenDKIM tables (and their reload by
# SIGHUP in --watch mode); and hanko keygen.
. "$(dirname "$0")/../lib.sh"

V=$TOP/tests/vectors/dkim
R=$SHARED/rfc8463
TS=1700000000
ZONE=$V/keys.zone
# Fixed test keys; git does not keep modes and hanko refuses 0644 keys.
cp "$V/keys/rsa.private" "$V/keys/ed.private" "$T/"
chmod 600 "$T/rsa.private" "$T/ed.private"
RSA=$T/rsa.private
ED=$T/ed.private

verify() {	# verify FILE [opts]: A-R on $T/ar, exit status returned
	_f=$1; shift
	"$HANKO" verify --dns-zone "$ZONE" --time $((TS + 60)) \
	    --authserv-id test.example "$@" "$_f" >"$T/ar" 2>&1
}
# The value of tag $2 in the $1-th DKIM-Signature of file $3, unfolded,
# whitespace removed.
tag() {
	awk -v n="$1" -v t="$2" '
		/^[ \t]/ { if (cur != "") cur = cur $0; next }
		{ if (cur != "") { sigs[++k] = cur }; cur = "" }
		/^[Dd][Kk][Ii][Mm]-[Ss]ignature:/ { cur = $0 }
		/^\r?$/ { exit }
		END { if (cur != "") sigs[++k] = cur
		      s = sigs[n]; sub(/^[^:]*:/, "", s); gsub(/[ \t\r]/, "", s)
		      m = split(s, a, ";")
		      for (i = 1; i <= m; i++)
			      if (index(a[i], t "=") == 1) {
				      print substr(a[i], length(t) + 2); exit }
		}' "$3"
}
nsigs() { grep -ci '^dkim-signature:' "$1"; }
# Everything before the original message: $1 output, $2 input.
prefix() {
	_n=$(($(wc -c <"$1") - $(wc -c <"$2")))
	head -c "$_n" "$1"
}
sign() { "$HANKO" sign -d hanko.example --time $TS "$@"; }

crlf() { sed 's/$/\r/'; }
cat >"$T/lf.eml" <<'MSG'
From: Alice Example <alice@hanko.example>
To: Bob <bob@recipient.example>
Subject: Test message
Date: Tue, 14 Nov 2023 22:13:20 +0000
Message-ID: <sign-1@hanko.example>

Hello   Bob,	 
second line

MSG
crlf <"$T/lf.eml" >"$T/crlf.eml"

# --- framing: signature fields, then the message byte for byte ----------
for e in lf crlf; do
	sign -s ed -k "$ED" <"$T/$e.eml" >"$T/o.eml" 2>"$T/err"
	check_exit "$e: exit 0" 0 test -s "$T/o.eml"
	check "$e: output ends with the input byte for byte" \
	    sh -c "tail -c $(wc -c <"$T/$e.eml") '$T/o.eml' | cmp - '$T/$e.eml'"
	prefix "$T/o.eml" "$T/$e.eml" >"$T/pre"
	check "$e: prefix is only DKIM-Signature fields" \
	    sh -c "! grep -v -i '^dkim-signature:' '$T/pre' | grep -qv '^[[:space:]]'"
	check "$e: one signature added" test "$(nsigs "$T/pre")" -eq 1
	check "$e: stderr empty" test ! -s "$T/err"
	check "$e: signed message verifies" verify "$T/o.eml"
done
sign -s ed -k "$ED" <"$T/lf.eml" >"$T/o.eml"
prefix "$T/o.eml" "$T/lf.eml" >"$T/pre"
check "LF input: prefix has lines" test "$(wc -l <"$T/pre")" -ge 3
if grep -q "$(printf '\r')" "$T/pre"; then nok "LF input keeps LF"; else ok "LF input keeps LF"; fi
sign -s ed -k "$ED" <"$T/crlf.eml" >"$T/o.eml"
prefix "$T/o.eml" "$T/crlf.eml" >"$T/pre"
if [ "$(grep -c "$(printf '\r')\$" "$T/pre")" -eq "$(wc -l <"$T/pre")" ]; then
	ok "CRLF input: every added line ends in CRLF"
else nok "CRLF input: added lines without CR"; fi

# --- dual signing, tags ---------------------------------------------------
sign -s rsa -k "$RSA" -s ed -k "$ED" <"$T/crlf.eml" >"$T/d.eml"
check "dual: two signatures" test "$(nsigs "$T/d.eml")" -eq 2
check "dual: first is rsa-sha256" test "$(tag 1 a "$T/d.eml")" = rsa-sha256
check "dual: second is ed25519-sha256" test "$(tag 2 a "$T/d.eml")" = ed25519-sha256
verify "$T/d.eml"
check "dual: both pass" test "$(grep -c 'dkim=pass' "$T/ar")" -eq 2
check "dual: rsa pass" grep -q 'dkim=pass.*header.s=rsa ' "$T/ar"
check "dual: ed pass" grep -q 'dkim=pass.*header.s=ed ' "$T/ar"
check "t= is the signing time" test "$(tag 1 t "$T/d.eml")" = $TS
check "no l= by default" test -z "$(tag 1 l "$T/d.eml")$(tag 2 l "$T/d.eml")"
check "no x= without -x" test -z "$(tag 1 x "$T/d.eml")"
check "d= is the domain" test "$(tag 1 d "$T/d.eml")" = hanko.example
h=$(tag 1 h "$T/d.eml" | tr 'A-Z' 'a-z')
cnt() { echo "$h" | tr ':' '\n' | grep -cx "$1"; }
check "default h= signs from twice (oversigned)" test "$(cnt from)" -eq 2
check "default h= signs subject twice" test "$(cnt subject)" -eq 2
check "default h= signs to twice" test "$(cnt to)" -eq 2
check "default h= signs date twice" test "$(cnt date)" -eq 2
check "default h= signs message-id" test "$(cnt message-id)" -ge 1
check "default h= never signs dkim-signature" test "$(cnt dkim-signature)" -eq 0
sign -s ed -k "$ED" -x 3600 <"$T/crlf.eml" >"$T/x.eml"
check "-x 3600: x= = t= + 3600" test "$(tag 1 x "$T/x.eml")" = $((TS + 3600))
check "-x: verifies before x=" verify "$T/x.eml"
check_exit "-x: fails after x=" 1 "$HANKO" verify --dns-zone "$ZONE" \
    --time $((TS + 7200)) "$T/x.eml"

# --- header lists ----------------------------------------------------------
hlist() { sign -s ed -k "$ED" "$@" <"$T/crlf.eml" >"$T/h.eml" &&
	tag 1 h "$T/h.eml" | tr 'A-Z' 'a-z'; }
check "--no-oversign: from once" test "$(hlist --no-oversign | tr ':' '\n' | grep -cx from)" -eq 1
check "--no-oversign: only present fields" test \
    "$(hlist --no-oversign | tr ':' '\n' | sort | tr '\n' :)" = "date:from:message-id:subject:to:"
check "--headers from:subject --no-oversign" test \
    "$(hlist --headers from:subject --no-oversign)" = "from:subject"
check "--headers from:subject (default oversigning)" test \
    "$(hlist --headers from:subject)" = "from:from:subject:subject"
check "--oversign to --headers from:to: to twice, from once" test \
    "$(hlist --oversign to --headers from:to)" = "from:to:to"
hlist --headers from:subject --no-oversign >/dev/null
check "--headers: result verifies" verify "$T/h.eml"
check_exit "--headers without from refused (78)" 78 \
    sign -s ed -k "$ED" --headers to:subject <"$T/crlf.eml"
sign -s ed -k "$ED" --headers to:subject <"$T/crlf.eml" >"$T/o" 2>/dev/null
check "--headers without from: nothing on stdout" test ! -s "$T/o"
# Oversigning protects: a second From breaks the signature.
sign -s ed -k "$ED" <"$T/lf.eml" >"$T/o.eml"
sed 's/^To: /From: Mallory <m@evil.example>\nTo: /' "$T/o.eml" >"$T/o2.eml"
check_exit "oversigned From: added From fails" 1 verify "$T/o2.eml"

# --- canonicalization pairs ---------------------------------------------
for c in relaxed/relaxed relaxed/simple simple/relaxed simple/simple; do
	sign -s rsa -k "$RSA" -c $c <"$T/crlf.eml" >"$T/c.eml"
	check "-c $c: c= tag" test "$(tag 1 c "$T/c.eml")" = $c
	check "-c $c: verifies" verify "$T/c.eml"
done
sign -s ed -k "$ED" -c simple <"$T/crlf.eml" >"$T/c.eml"
check "-c simple means simple/simple" test "$(tag 1 c "$T/c.eml")" = simple/simple
check_exit "-c bogus: usage (64)" 64 sign -s ed -k "$ED" -c lax/relaxed <"$T/crlf.eml"

# --- exit codes -------------------------------------------------------------
printf 'To: x@hanko.example\nSubject: s\n\nbody\n' >"$T/nofrom.eml"
printf 'From: a@hanko.example\nFrom: b@hanko.example\n\nbody\n' >"$T/twofrom.eml"
check_exit "no From: 65" 65 sign -s ed -k "$ED" <"$T/nofrom.eml"
check_exit "two From: 65" 65 sign -s ed -k "$ED" <"$T/twofrom.eml"
sign -s ed -k "$ED" <"$T/twofrom.eml" >"$T/o" 2>"$T/err"
check "two From: nothing on stdout" test ! -s "$T/o"
check "two From: says why" grep -qi from "$T/err"
check_exit "no key: 64" 64 sign <"$T/lf.eml"
check_exit "-k without -s: 64" 64 "$HANKO" sign -d hanko.example -k "$ED" <"$T/lf.eml"
check_exit "unreadable key file: 66" 66 sign -s ed -k "$T/nonexistent" <"$T/lf.eml"
cp "$ED" "$T/ed644"; chmod 644 "$T/ed644"
check_exit "key mode 0644 refused: 77" 77 sign -s ed -k "$T/ed644" <"$T/lf.eml"
sign -s ed -k "$T/ed644" <"$T/lf.eml" >"$T/o" 2>"$T/err"
check "key 0644: message names the mode" grep -q 'chmod\|mode' "$T/err"
check "key 0644: nothing on stdout" test ! -s "$T/o"
check_exit "key 0644 with --allow-unsafe-key-perms: 0" 0 \
    sign -s ed -k "$T/ed644" --allow-unsafe-key-perms <"$T/lf.eml"
cp "$ED" "$T/ed640"; chmod 640 "$T/ed640"
check_exit "key mode 0640 refused: 77" 77 sign -s ed -k "$T/ed640" <"$T/lf.eml"
head -c 300 /dev/urandom >"$T/garbage.key"; chmod 600 "$T/garbage.key"
check_exit "garbage key: 78" 78 sign -s ed -k "$T/garbage.key" <"$T/lf.eml"
: >"$T/empty.key"; chmod 600 "$T/empty.key"
check_exit "empty key: 78" 78 sign -s ed -k "$T/empty.key" <"$T/lf.eml"
if openssl genrsa -out "$T/r512.pem" 512 2>/dev/null &&
   openssl genrsa -out "$T/r1024.pem" 1024 2>/dev/null; then
	chmod 600 "$T/r512.pem" "$T/r1024.pem"
	check_exit "512-bit RSA refused: 78" 78 sign -s x -k "$T/r512.pem" <"$T/lf.eml"
	sign -s x -k "$T/r1024.pem" <"$T/lf.eml" >"$T/o" 2>"$T/err"
	check "1024-bit RSA signs (exit $?)" test -s "$T/o"
	check "1024-bit RSA warns" grep -qi 'warn.*1024\|1024.*warn' "$T/err"
	sign -s rsa -k "$RSA" <"$T/lf.eml" >/dev/null 2>"$T/err"
	check "2048-bit RSA does not warn" test ! -s "$T/err"
else
	nok "openssl genrsa unavailable"
fi
check_exit "--max-size 10 on a bigger message: 65" 65 \
    sign -s ed -k "$ED" --max-size 10 <"$T/lf.eml"
check_exit "unknown option: 64" 64 sign -s ed -k "$ED" --no-such-option <"$T/lf.eml"
check_exit "-x garbage: 64" 64 sign -s ed -k "$ED" -x soon <"$T/lf.eml"
check_exit "sign --help: 0" 0 "$HANKO" sign --help

# --- RFC 8463 Appendix A: byte-exact b= values ------------------------------
cp "$R/ed25519.private.b64" "$T/ed.b64"; cp "$R/rsa.private.pem" "$T/rsa.pem"
chmod 600 "$T/ed.b64" "$T/rsa.pem"
"$HANKO" sign -d football.example.com -s brisbane -k "$T/ed.b64" \
    -s test -k "$T/rsa.pem" -i @football.example.com --time 1528637909 \
    --headers from:to:subject:date:message-id:from:subject:date \
    --no-oversign <"$R/unsigned.eml" >"$T/rfc.eml" 2>"$T/err"
check "RFC 8463: ed25519 b= identical to the RFC" \
    test "$(tag 1 b "$T/rfc.eml")" = "$(tag 1 b "$R/signed.eml")"
check "RFC 8463: rsa b= identical to the RFC" \
    test "$(tag 2 b "$T/rfc.eml")" = "$(tag 2 b "$R/signed.eml")"
check "RFC 8463: bh= identical" \
    test "$(tag 1 bh "$T/rfc.eml")" = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
check "RFC 8463: b= non-empty" test -n "$(tag 1 b "$T/rfc.eml")"
check "RFC 8463: 1024-bit RSA key warned about" grep -q 1024 "$T/err"
"$HANKO" verify --dns-zone "$R/keys.zone" --time 1528637909 "$T/rfc.eml" >"$T/ar"
check "RFC 8463: reproduction verifies, both pass" \
    test "$(grep -c 'dkim=pass' "$T/ar")" -eq 2

# --- OpenDKIM KeyTable / SigningTable ---------------------------------------
mkdir "$T/keys"
cp "$ED" "$T/keys/hanko.example.private"; chmod 600 "$T/keys/hanko.example.private"
cat >"$T/KeyTable" <<EOF
# comment
rsakey      hanko.example:rsa:$RSA
edkey       hanko.example:ed:$ED
pctkey      %:ed:$T/keys/%.private
hanko.example hanko.example:ed:$ED
EOF
tsign() {	# tsign SIGNINGTABLE FROM [opts] -> $T/t.eml, stderr $T/terr
	_st=$1; _from=$2; shift 2
	sed "s/^From: .*/From: X <$_from>/" "$T/lf.eml" >"$T/tin.eml"
	"$HANKO" sign --time $TS --key-table "$T/KeyTable" \
	    --signing-table "$_st" "$@" <"$T/tin.eml" >"$T/t.eml" 2>"$T/terr"
}
sels() { n=$(nsigs "$T/t.eml"); i=1; while [ $i -le "$n" ]; do
	printf '%s ' "$(tag $i s "$T/t.eml")"; i=$((i + 1)); done; }
cat >"$T/SigningTable" <<EOF
alice@hanko.example  rsakey
hanko.example        edkey
EOF
tsign "$T/SigningTable" alice@hanko.example
check "table: exit 0" test $? -eq 0
check "table: user@domain entry wins" test "$(sels)" = "rsa "
check "table: signed message verifies" verify "$T/t.eml"
tsign "$T/SigningTable" bob@hanko.example
check "table: domain entry for another user" test "$(sels)" = "ed "
tsign "$T/SigningTable" ALICE@Hanko.Example
check "table: lookup ignores case" test "$(sels)" = "rsa "
tsign "$T/SigningTable" alice@hanko.example --multiple-signatures
check "table: --multiple-signatures applies both" test "$(sels)" = "rsa ed "
verify "$T/t.eml"
check "table: both multiple signatures pass" test "$(grep -c 'dkim=pass' "$T/ar")" -eq 2
tsign "$T/SigningTable" someone@other.example
check "table: no match exits 0" test $? -eq 0
check "table: no match passes the message through unchanged" cmp "$T/t.eml" "$T/tin.eml"
check "table: no match warns" grep -qi 'warn' "$T/terr"
cat >"$T/SigningTable.re" <<EOF
*@mail.hanko.example rsakey
*@hanko.example      edkey
*.hanko.example      edkey
EOF
tsign "refile:$T/SigningTable.re" alice@hanko.example
check "refile: wildcard matches" test "$(sels)" = "ed "
tsign "refile:$T/SigningTable.re" bob@mail.hanko.example
check "refile: first matching line wins" test "$(sels)" = "rsa "
tsign "refile:$T/SigningTable.re" bob@mail.hanko.example --multiple-signatures
check "refile: --multiple-signatures" test "$(sels)" = "rsa ed "
tsign "refile:$T/SigningTable.re" bob@nothanko.example
check "refile: '*@hanko.example' does not match nothanko.example" test "$(nsigs "$T/t.eml")" -eq 0
echo "*@hanko.example pctkey" >"$T/SigningTable.pct"
tsign "refile:$T/SigningTable.pct" alice@hanko.example
check "%: key path and domain from the From domain" test "$(sels)" = "ed "
check "%: d= is the From domain" test "$(tag 1 d "$T/t.eml")" = hanko.example
check "%: verifies" verify "$T/t.eml"
echo "*@hanko.example %" >"$T/SigningTable.pct2"
tsign "refile:$T/SigningTable.pct2" alice@hanko.example
check "% as key name: KeyTable entry named after the domain" test "$(sels)" = "ed "
echo "hanko.example nosuchkey" >"$T/SigningTable.bad"
check_exit "table: unknown key name: 78" 78 tsign "$T/SigningTable.bad" a@hanko.example
check_exit "--key-table without --signing-table: 64" 64 \
    "$HANKO" sign --key-table "$T/KeyTable" <"$T/lf.eml"
echo "k hanko.example:ed:relative.key" >"$T/KeyTable.bad"
check_exit "KeyTable with a relative key path: 78" 78 \
    "$HANKO" sign --key-table "$T/KeyTable.bad" --signing-table "$T/SigningTable" <"$T/lf.eml"
chmod 644 "$T/keys/hanko.example.private"
check_exit "table: unsafe key mode refused: 77" 77 \
    tsign "refile:$T/SigningTable.pct" alice@hanko.example

# --- DMARC alignment of d= with the From domain ---------------------------
amsg() { sed "s/^From: .*/From: A <a@$1>/" "$T/lf.eml"; }
# alsign FROM-DOMAIN ARGS...: filter mode; $T/al.eml, $T/al.err, rc
alsign() {
	_f=$1; shift
	amsg "$_f" | "$HANKO" sign --time $TS "$@" >"$T/al.eml" 2>"$T/al.err"
	rc=$?
}
for p in hanko.example:hanko.example news.hanko.example:hanko.example \
    hanko.example:mail.hanko.example news.hanko.example:mail.hanko.example; do
	alsign "${p%%:*}" -d "${p#*:}" -s ed -k "$ED"
	check "From ${p%%:*}, d=${p#*:}: aligned, signed without a warning" \
	    sh -c "test $rc -eq 0 && test ! -s '$T/al.err' && test -s '$T/al.eml'"
done
alsign other.example -d hanko.example -s ed -k "$ED"
check "From other.example, d=hanko.example: signed (exit 0)" \
    sh -c "test $rc -eq 0 && grep -q '^DKIM-Signature:' '$T/al.eml'"
check "unaligned: the warning names both domains" \
    grep -q 'warning: From domain other.example is not aligned with d=hanko.example' "$T/al.err"
alsign other.example -d hanko.example -s ed -k "$ED" --require-aligned
check "--require-aligned: unaligned refused with 65" test $rc -eq 65
check "--require-aligned: nothing on stdout" test ! -s "$T/al.eml"
check "--require-aligned: says why" \
    grep -q 'not signed.*other.example is not aligned with d=hanko.example' "$T/al.err"
alsign hanko.example.net -d hanko.example -s ed -k "$ED" --require-aligned
check "--require-aligned: hanko.example.net is not within hanko.example" test $rc -eq 65
alsign other.example -d hanko.example -s ed -k "$ED" -d other.example -s rsa \
    -k "$RSA" --require-aligned
check "--require-aligned: one aligned signature of two is enough" \
    sh -c "test $rc -eq 0 && test ! -s '$T/al.err'"
check "sign --help lists --require-aligned" sh -c \
    "'$HANKO' sign --help | grep -q -- --require-aligned"

A=$T/align
mkdir -p "$A/spool" "$A/out"
for i in 1 2 3; do amsg hanko.example >"$A/spool/good$i"; done
amsg other.example >"$A/spool/odd1"
amsg news.other.example >"$A/spool/odd2"
cp -r "$A/spool" "$A/spool2"
"$HANKO" sign -d hanko.example -s ed -k "$ED" --time $TS \
    --stats-json "$A/stats.json" "$A/spool" "$A/out" 2>"$A/err"
check "batch: unaligned messages are signed too (exit 0)" \
    sh -c "test $? -eq 0 && test \$(ls '$A/out' | wc -l) -eq 5"
check "batch: the summary counts them" grep -q 'signed 5, failed 0, left 0, unaligned 2 ' "$A/err"
check "batch: one warning, not one per message" \
    test "$(grep -c 'warning: From domain .* is not aligned' "$A/err")" -eq 1
check "batch: --stats-json has unaligned" grep -q '"unaligned":2' "$A/stats.json"
rm -rf "$A/out"
"$HANKO" sign -d hanko.example -s ed -k "$ED" --time $TS --require-aligned \
    "$A/spool2" "$A/out" 2>"$A/err"
check "batch --require-aligned: exit 1" test $? -eq 1
check "batch --require-aligned: the aligned ones are signed" \
    test "$(ls "$A/out" | wc -l)" -eq 3
for f in odd1 odd2; do
	check "batch --require-aligned: $f failed with the reason" \
	    grep -q 'not aligned with d=hanko.example (--require-aligned)' \
	    "$A/spool2/failed/$f.reason"
done

# --- many keys: each loaded when first needed, a bounded cache per worker --
# A KeyTable of 4,200 domains, each with its own key path (links to one key
# file), and 200 domains whose key file does not exist. Without
# --check-keys nothing is read at start: messages for good domains sign,
# the one for a missing key fails with a reason naming the file. 4,200
# distinct keys through one worker overflow its cache (4,096), which must
# start afresh without signing anything with a wrong key. --check-keys
# reads every key at start and refuses the table (78) before any message.
MK=$T/manykeys
mkdir -p "$MK/keys" "$MK/spool" "$MK/out"
i=0
while [ $i -lt 4400 ]; do
	if [ $i -lt 4200 ]; then ln -s "$ED" "$MK/keys/k$i.private"; fi
	printf 'k%d d%d.hanko.example:ed:%s/keys/k%d.private\n' $i $i "$MK" $i
	i=$((i + 1))
done >"$MK/KeyTable"
awk '{ sub(/^k/, "", $1); printf "d%s.hanko.example k%s\n", $1, $1 }' \
    "$MK/KeyTable" >"$MK/SigningTable"
awk -v dir="$MK/spool" '
	{ line[++n] = $0 }
	END { for (i = 0; i <= 4200; i++) {
		f = dir "/" (i < 4200 ? "m" i : "missing")
		d = i < 4200 ? i : 4300
		for (j = 1; j <= n; j++)
			print (line[j] ~ /^From: / ? "From: A <a@d" d ".hanko.example>" \
			    : line[j]) >f
		close(f) } }' "$T/lf.eml"
# The Ed25519 record for the domains checked below.
grep '^ed._domainkey' "$ZONE" | sed 's/^ed._domainkey/ed._domainkey.d0/' \
    >"$MK/zone.rec"
{ printf '$ORIGIN hanko.example.\n'
  for i in 0 4095 4096 4097 4199; do sed "s/\.d0/.d$i/" "$MK/zone.rec"; done
} >"$MK/zone"
cp -r "$MK/spool" "$MK/spool2"
"$HANKO" sign --key-table "$MK/KeyTable" --signing-table "$MK/SigningTable" \
    --time $TS -j 1 --stats-json "$MK/stats.json" "$MK/spool" "$MK/out" \
    2>"$MK/err"
check "many keys: not read at start, one message fails (exit 1)" test $? -eq 1
check "many keys: 4,200 messages signed" test "$(ls "$MK/out" | wc -l)" -eq 4200
check "many keys: the missing key's reason names its file" \
    grep -q "k4300.private" "$MK/spool/failed/missing.reason"
ok_d=0
for i in 0 4095 4096 4097 4199; do
	[ "$(tag 1 d "$MK/out/m$i")" = "d$i.hanko.example" ] &&
	    verify "$MK/out/m$i" --dns-zone "$MK/zone" &&
	    grep -q 'dkim=pass' "$T/ar" && ok_d=$((ok_d + 1))
done
check "many keys: signatures across the cache's restart carry their d= and verify" \
    test $ok_d -eq 5
check "many keys: the summary shows start-up apart" \
    grep -q 'signed 4200, failed 1, left 0 in [0-9.]*s (start-up [0-9.]*s)' \
    "$MK/err"
check "many keys: --stats-json has wall and start-up time" \
    grep -q '"wall_seconds":[0-9.]*,"startup_seconds":[0-9.]*}' \
    "$MK/stats.json"
rm -rf "$MK/out"; mkdir "$MK/out"
"$HANKO" sign --key-table "$MK/KeyTable" --signing-table "$MK/SigningTable" \
    --time $TS --check-keys "$MK/spool2" "$MK/out" 2>"$MK/err"
check "--check-keys: a missing key refuses the table at start (78)" test $? -eq 78
check "--check-keys: nothing signed, nothing failed" sh -c \
    "test ! -d '$MK/spool2/failed' && test \$(ls '$MK/out' | wc -l) -eq 0 && \
    test \$(ls '$MK/spool2' | wc -l) -eq 4201"
check "sign --help lists --check-keys" sh -c \
    "'$HANKO' sign --help | grep -q -- --check-keys"

# --- --watch with tables: SIGHUP reloads, a broken reload changes nothing --
W=$T/watch
mkdir -p "$W/spool" "$W/out"
cp "$RSA" "$W/loose.private"; chmod 644 "$W/loose.private"
printf 'k hanko.example:ed:%s\n' "$ED" >"$W/KeyTable"
printf '*@hanko.example k\n' >"$W/SigningTable"
"$HANKO" sign --key-table "$W/KeyTable" --signing-table \
    "refile:$W/SigningTable" --time $TS --watch "$W/spool" "$W/out" \
    2>"$W/err" &
wpid=$!
drop() {	# drop NAME: a message renamed into the spool
	sed "s/^Subject: .*/Subject: $1/" "$T/lf.eml" >"$W/spool/.$1"
	mv "$W/spool/.$1" "$W/spool/$1"
}
waitfor() {	# waitfor CMD...: up to 10 s for CMD to succeed
	_n=0
	while [ $_n -lt 100 ] && ! "$@" 2>/dev/null; do
		sleep 0.1; _n=$((_n + 1)); done
	"$@" 2>/dev/null
}
hup() {	# hup N: SIGHUP, then wait for the Nth reload message
	kill -HUP $wpid
	waitfor test "$(grep -c 'reload' "$W/err")" -ge "$1"
}
drop m1
waitfor test -f "$W/out/m1"
check "--watch with tables: signs with the table's key" test "$(tag 1 s "$W/out/m1")" = ed
echo "broken-line-without-value" >>"$W/KeyTable"
hup 1
check "SIGHUP with a broken KeyTable: the error is logged" \
    grep -q 'reload failed.*KeyTable.*missing value' "$W/err"
check "SIGHUP with a broken KeyTable: still running" kill -0 $wpid
drop m2
waitfor test -f "$W/out/m2"
check "broken KeyTable: signing goes on with the keys loaded before" \
    test "$(tag 1 s "$W/out/m2")" = ed
printf 'k hanko.example:rsa:%s\n' "$W/loose.private" >"$W/KeyTable"
hup 2
check "SIGHUP with a key of loose permissions: logged, still running" \
    sh -c "grep -q 'reload failed.*loose.private.*group or others' '$W/err' && kill -0 $wpid"
printf 'k hanko.example:rsa:%s\n' "$RSA" >"$W/KeyTable"
hup 3
check "SIGHUP with a good KeyTable: reloaded" grep -q 'reloaded keys' "$W/err"
drop m3
waitfor test -f "$W/out/m3"
check "after the reload the new key signs" test "$(tag 1 s "$W/out/m3")" = rsa
kill -TERM $wpid
wait $wpid
check "--watch: SIGTERM after the reloads exits 0" test $? -eq 0

# --- keygen ----------------------------------------------------------------
for a in ed25519 rsa; do
	mkdir "$T/kg-$a"
	check_exit "keygen -a $a: 0" 0 "$HANKO" keygen -d hanko.example \
	    -s kg -a $a -o "$T/kg-$a"
	check "keygen -a $a: key mode 0600" \
	    test "$(stat -c %a "$T/kg-$a/kg.private")" = 600
	check "keygen -a $a: record written" \
	    grep -q 'v=DKIM1; k='"$a" "$T/kg-$a/kg.txt"
	sign -s kg -k "$T/kg-$a/kg.private" <"$T/crlf.eml" >"$T/kg.eml"
	"$HANKO" verify --dns-zone "$T/kg-$a/kg.txt" --time $((TS + 1)) \
	    "$T/kg.eml" >"$T/ar"
	check "keygen -a $a: record verifies a signature" grep -q 'dkim=pass' "$T/ar"
	cp "$T/kg-$a/kg.private" "$T/kg-before"
	check_exit "keygen -a $a: refuses to overwrite" 73 "$HANKO" keygen \
	    -d hanko.example -s kg -a $a -o "$T/kg-$a"
	check "keygen -a $a: old key untouched" cmp "$T/kg-before" "$T/kg-$a/kg.private"
	check_exit "keygen -a $a --force: 0" 0 "$HANKO" keygen \
	    -d hanko.example -s kg -a $a -o "$T/kg-$a" --force
	check "keygen -a $a --force: new key" sh -c "! cmp -s '$T/kg-before' '$T/kg-$a/kg.private'"
	check "keygen -a $a --force: still 0600" \
	    test "$(stat -c %a "$T/kg-$a/kg.private")" = 600
done
check "keygen rsa: 2048 bits by default" sh -c \
    "openssl pkey -in '$T/kg-rsa/kg.private' -noout -text 2>/dev/null | grep -q '2048 bit'"
check_exit "keygen -b 512: refused" 64 "$HANKO" keygen -d hanko.example -s w -b 512 -o "$T"
check_exit "keygen without -s: 64" 64 "$HANKO" keygen -d hanko.example -o "$T"

finish
