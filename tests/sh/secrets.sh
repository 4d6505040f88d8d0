#!/bin/sh
# Private key material never reaches the output or an error message:
# signing, verification of what was signed, a key file that is not a key
# (with a secret-looking marker inside), a key table naming a broken key,
# and the refusal of a key readable by others all print no line of the
# key. The key's base64 body is cut into 16-character pieces and none
# may appear in stdout or stderr.
. "$(dirname "$0")/../lib.sh"

V=$TOP/tests/vectors/dkim
for k in rsa ed; do
	cp "$V/keys/$k.private" "$T/$k.private"; chmod 600 "$T/$k.private"
done
printf 'From: a@hanko.example\nTo: b@example.net\nSubject: s\n\nbody\n' >"$T/m"

# pieces FILE: the key's base64 body in 16-character pieces
pieces() {
	grep -v '^-----' "$1" | tr -d '\n' | fold -w 16 | grep -E '^.{16}$'
}
# leaks NAME FILE...: no piece of either key in the files
leaks() {
	_n=$1; shift
	for k in rsa ed; do
		if pieces "$T/$k.private" | grep -qFf - "$@"; then
			nok "$_n: a piece of the $k key appears in the output"
			return
		fi
	done
	ok "$_n: no key material in the output"
}

"$HANKO" sign -d hanko.example -s rsa -k "$T/rsa.private" -s ed \
    -k "$T/ed.private" <"$T/m" >"$T/o" 2>"$T/e"
check "sign: exit 0" test -s "$T/o"
leaks "sign (dual)" "$T/o" "$T/e"

# A broken key file: PEM armour around a marker and part of a real key.
{ echo "-----BEGIN PRIVATE KEY-----"; echo "HANKOSECRETMARKER0123456789abcdef"
  sed -n 2,6p "$T/rsa.private"; echo "-----END PRIVATE KEY-----"; } >"$T/bad.private"
chmod 600 "$T/bad.private"
"$HANKO" sign -d hanko.example -s bad -k "$T/bad.private" <"$T/m" \
    >"$T/o" 2>"$T/e"
rc=$?
check "broken key: refused (exit $rc)" test "$rc" -ne 0
check "broken key: a reason is given" grep -q '^hanko: ' "$T/e"
check "broken key: the marker is not echoed" sh -c "! grep -q HANKOSECRETMARKER '$T/o' '$T/e'"
leaks "broken key" "$T/o" "$T/e"

# The same through a key table.
printf 'bad hanko.example:bad:%s\n' "$T/bad.private" >"$T/kt"
printf '*@hanko.example bad\n' >"$T/st"
"$HANKO" sign --key-table "$T/kt" --signing-table "refile:$T/st" <"$T/m" \
    >"$T/o" 2>"$T/e"
check "key table with a broken key: refused" test "$?" -ne 0
check "key table: the marker is not echoed" sh -c "! grep -q HANKOSECRETMARKER '$T/o' '$T/e'"
leaks "key table" "$T/o" "$T/e"

# Loose permissions: refused before the key is read, nothing echoed.
cp "$T/rsa.private" "$T/loose.private"; chmod 644 "$T/loose.private"
"$HANKO" sign -d hanko.example -s rsa -k "$T/loose.private" <"$T/m" \
    >"$T/o" 2>"$T/e"
check "key readable by others: exit 77" test "$?" -eq 77
leaks "loose key" "$T/o" "$T/e"

# A batch run with a broken key: the failed messages' reasons too.
mkdir -p "$T/spool" "$T/out"
cp "$T/m" "$T/spool/one"
"$HANKO" sign -d hanko.example -s bad -k "$T/bad.private" \
    "$T/spool" "$T/out" >"$T/o" 2>"$T/e"
cat "$T"/spool/.hanko-failed/*.reason "$T"/spool/failed/*.reason \
    >"$T/reasons" 2>/dev/null
check "batch with a broken key: the marker is not echoed" \
    sh -c "! grep -q HANKOSECRETMARKER '$T/o' '$T/e' '$T/reasons'"
leaks "batch" "$T/o" "$T/e" "$T/reasons"
# Batch mode with '%' keys: every way a key can fail to load reaches the
# message's reason file, naming the key file and the cause (never a byte
# of it), instead of "no SigningTable key".
K=$T/pk
mkdir -p "$K/keys/dir.example.private" "$K/spool" "$K/out"
cp "$T/rsa.private" "$K/keys/loose.example.private"
chmod 644 "$K/keys/loose.example.private"
cp "$T/bad.private" "$K/keys/bad.example.private"
mkfifo "$K/keys/fifo.example.private"
printf 'pct %%:k:%s/keys/%%.private\n' "$K" >"$K/kt"
printf '* pct\n' >"$K/st"
# want NAME CAUSE-REGEX: the message from NAME.example failed with a
# reason naming its key file and the cause.
want() {
	_r=$K/spool/failed/$1.reason
	if [ ! -f "$_r" ]; then
		nok "% key $1: no reason file"; return; fi
	if grep -q "keys/$1.example.private" "$_r" && grep -q "$2" "$_r"; then
		ok "% key $1: reason names the file and says: $2"
	else
		nok "% key $1: reason \"$(cat "$_r")\" lacks the file or \"$2\""
	fi
}
for d in missing loose bad dir fifo; do
	sed "s/^From: .*/From: a@$d.example/" "$T/m" >"$K/spool/$d"
done
timeout -k 5 30 "$HANKO" sign --key-table "$K/kt" --signing-table \
    "refile:$K/st" "$K/spool" "$K/out" >"$T/o" 2>"$T/e"
check "batch with broken % keys: exit 1" test $? -eq 1
want missing 'No such file'
want loose 'group or others (mode 0644)'
want bad 'cannot read private key'
want dir 'not a regular file'
want fifo 'not a regular file'
cat "$K"/spool/failed/*.reason >"$T/reasons"
check "% key reasons: none says no SigningTable key" \
    sh -c "! grep -q 'no SigningTable key' '$T/reasons'"
check "% key reasons: the marker is not echoed" \
    sh -c "! grep -q HANKOSECRETMARKER '$T/reasons' '$T/o' '$T/e'"
leaks "% key reasons" "$T/reasons" "$T/o" "$T/e"

# An unreadable key: root reads any file, so run as nobody when root.
U=$(mktemp -d "${TMPDIR:-/tmp}/hanko-unread.XXXXXX")
mkdir -p "$U/keys" "$U/spool" "$U/out"
cp "$T/rsa.private" "$U/keys/unread.example.private"
chmod 600 "$U/keys/unread.example.private"
printf 'pct %%:k:%s/keys/%%.private\n' "$U" >"$U/kt"
printf '* pct\n' >"$U/st"
sed "s/^From: .*/From: a@unread.example/" "$T/m" >"$U/spool/unread"
as=
if [ "$(id -u)" -eq 0 ]; then
	chmod 755 "$U" "$U/keys"
	chown -R 65534:65534 "$U/spool" "$U/out" "$U/kt" "$U/st"
	chown 0:0 "$U/keys/unread.example.private"
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
else
	chmod 000 "$U/keys/unread.example.private"
fi
$as timeout -k 5 30 "$HANKO" sign --key-table "$U/kt" --signing-table \
    "refile:$U/st" "$U/spool" "$U/out" >"$T/o" 2>"$T/e"
check "unreadable % key: exit 1" test $? -eq 1
if grep -q 'keys/unread.example.private.*Permission denied' \
    "$U/spool/failed/unread.reason" 2>/dev/null; then
	ok "% key unread: reason names the file and says Permission denied"
else
	nok "% key unread: reason \"$(cat "$U/spool/failed/unread.reason" 2>&1)\""
	sed 's/^/#   /' "$T/e" | head -5
fi
rm -rf "$U"
finish
