# Batch spool pipeline: hand-off, failed directory, io_uring and syscall
# backends giving identical output, worker counts, exit codes, watch mode.
. "$(dirname "$0")/../lib.sh"

K=$TOP/tests/vectors/dkim/keys
ZONE=$TOP/tests/vectors/dkim/keys.zone
cp "$K/rsa.private" "$K/ed.private" "$T/" && chmod 600 "$T"/*.private
SIGN="$HANKO sign -d hanko.example -s rsa -k $T/rsa.private -s ed -k $T/ed.private --time 1700000000"
printf 'To: nobody@x.example\r\n\r\nno From here\r\n' > "$T/nofrom.ref"

# mkspool DIR N: N small messages, every tenth LF-only.
mkspool() {
	mkdir -p "$1"
	i=1
	while [ $i -le "$2" ]; do
		if [ $((i % 10)) -eq 0 ]; then
			printf 'From: News <news@hanko.example>\nTo: r%d@x.example\nSubject: issue %d\n\nbody %d\n' $i $i $i >"$1/msg$i"
		else
			printf 'From: News <news@hanko.example>\r\nTo: r%d@x.example\r\nSubject: issue %d\r\n\r\nbody %d\r\n' $i $i $i >"$1/msg$i"
		fi
		i=$((i + 1))
	done
}

# clean D: nothing but results left behind (no temporaries, no done).
clean() {
	test -z "$(ls -A "$1/out" | grep '^\.')" &&
	    test -z "$(ls -A "$1/spool/.hanko-done" 2>/dev/null)"
}

uring=yes
mkspool "$T/probe/spool" 1
$SIGN --io uring "$T/probe/spool" "$T/probe/out" >/dev/null 2>&1 || uring=no
[ $uring = no ] && echo "# io_uring unavailable here: ring runs skipped"

for io in sync uring; do
	[ $io = uring ] && [ $uring = no ] && continue
	for j in 1 2; do
		d=$T/$io$j
		mkspool "$d/spool" 300
		cp "$T/nofrom.ref" "$d/spool/nofrom"
		$SIGN --io $io -j $j --batch 16 --stats-json "$d/stats.json" \
		    "$d/spool" "$d/out" 2>"$d/err"
		rc=$?
		check "$io -j$j: exit 1 when a message failed" \
		    sh -c "test $rc -eq 1 || { cat '$d/err'; exit 1; }"
		check "$io -j$j: 300 messages out" \
		    test "$(ls "$d/out" | wc -l)" -eq 300
		check "$io -j$j: spool emptied" \
		    test -z "$(ls "$d/spool" | grep -v '^failed$')"
		check "$io -j$j: failed message kept, with its reason" \
		    cmp -s "$T/nofrom.ref" "$d/spool/failed/nofrom"
		check "$io -j$j: reason names the problem" \
		    grep -q 'no From' "$d/spool/failed/nofrom.reason"
		check "$io -j$j: nothing temporary left" clean "$d"
		check "$io -j$j: stats json" \
		    grep -q '"signed":300,"failed":1' "$d/stats.json"
		check "$io -j$j: summary on stderr" \
		    grep -q 'signed 300, failed 1' "$d/err"
	done
done

# Same input, same --time: every backend and worker count, same bytes.
for d in "$T"/sync2 "$T"/uring1 "$T"/uring2; do
	[ -d "$d" ] || continue
	check "$(basename "$d") output identical to sync -j1" \
	    diff -r "$T/sync1/out" "$d/out"
done
check "every output verifies" \
    "$HANKO" verify --dns-zone "$ZONE" --time 1700000000 "$T/sync1/out"
mkspool "$T/ref" 10
check "CRLF message kept byte for byte after the fields" \
    sh -c "tail -c $(wc -c <"$T/ref/msg7") '$T/sync1/out/msg7' | cmp -s - '$T/ref/msg7'"
check "LF message kept byte for byte after the fields" \
    sh -c "tail -c $(wc -c <"$T/ref/msg10") '$T/sync1/out/msg10' | cmp -s - '$T/ref/msg10'"

# Names: dot files and directories are not messages.
d=$T/names
mkspool "$d/spool" 3
echo partial >"$d/spool/.incoming"
mkdir "$d/spool/subdir"
$SIGN "$d/spool" "$d/out" 2>/dev/null
check "dot files are left alone (writers' temporaries)" \
    test -f "$d/spool/.incoming"
check "directories are left alone" test -d "$d/spool/subdir"
check "the rest is signed" test "$(ls "$d/out" | wc -l)" -eq 3

# A name already in OUT_DIR is never replaced.
d=$T/clash
mkspool "$d/spool" 2
mkdir -p "$d/out"
echo "not yet picked up" >"$d/out/msg1"
$SIGN "$d/spool" "$d/out" 2>/dev/null
check "existing output file untouched" \
    grep -q 'not yet picked up' "$d/out/msg1"
check "clashing message kept in failed/ with a reason" \
    grep -q 'already holds' "$d/spool/failed/msg1.reason"
check "the other message delivered" test -f "$d/out/msg2"

# Limits and errors.
d=$T/big
mkspool "$d/spool" 2
head -c 5000 /dev/zero | tr '\0' 'x' >>"$d/spool/msg2"
$SIGN --max-size 1000 "$d/spool" "$d/out" 2>/dev/null
check "a message over --max-size goes to failed/" \
    grep -q 'larger than' "$d/spool/failed/msg2.reason"
check_exit "a second hanko on the same spool is refused (75)" 75 sh -c "
    mkdir -p '$T/lock/spool/.hanko-done'; cd '$T/lock' &&
    flock spool/.hanko-done -c '$SIGN spool out' 2>/dev/null || exit \$?"
check_exit "--failed on another file system is refused" 73 \
    $SIGN --failed /dev/shm/hanko-failed-$$ "$T/big/spool" "$T/big/out"
rm -rf /dev/shm/hanko-failed-$$
check_exit "--io bogus is a usage error" 64 \
    $SIGN --io bogus "$T/big/spool" "$T/big/out"


# --watch: messages that arrive later are signed; SIGHUP reloads keys;
# SIGTERM drains and exits 0.
d=$T/watch
mkdir -p "$d/spool"
$SIGN --watch "$d/spool" "$d/out" 2>"$d/err" &
wpid=$!
i=1
while [ $i -le 20 ]; do
	printf 'From: a@hanko.example\r\nSubject: w%d\r\n\r\nlate %d\r\n' $i $i >"$d/spool/.w$i"
	mv "$d/spool/.w$i" "$d/spool/w$i"	# the spool contract: rename in
	i=$((i + 1))
done
n=0
while [ $n -lt 100 ] && [ "$(ls "$d/out" 2>/dev/null | wc -l)" -lt 20 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "--watch signs messages as they arrive" \
    test "$(ls "$d/out" | wc -l)" -eq 20
kill -HUP $wpid
sleep 0.5
printf 'From: a@hanko.example\r\nSubject: after\r\n\r\nafter reload\r\n' >"$d/spool/.x"
mv "$d/spool/.x" "$d/spool/after-hup"
n=0
while [ $n -lt 50 ] && [ ! -f "$d/out/after-hup" ]; do sleep 0.1; n=$((n + 1)); done
check "SIGHUP reloads keys and signing goes on" \
    sh -c "grep -q 'reloaded keys' '$d/err' && test -f '$d/out/after-hup'"
kill -TERM $wpid
wait $wpid
check "SIGTERM: clean exit 0" test $? -eq 0
check "--watch output verifies" \
    "$HANKO" verify --dns-zone "$ZONE" --time 1700000000 "$d/out"


# Memory is bounded by the batch, not the spool: peak RSS for 20,000
# messages stays near that for 2,000 (release build; sanitizers distort).
if [ "${CONFIG:-release}" = release ] && [ -x /usr/bin/time ]; then
	for n in 2000 20000; do
		mkdir -p "$T/rss$n/spool"
		awk -v d="$T/rss$n/spool" -v n=$n 'BEGIN { for (i = 1; i <= n; i++) {
		    f = d "/m" i; printf "From: a@hanko.example\r\nSubject: %d\r\n\r\nbody %d\r\n", i, i > f; close(f) } }'
		/usr/bin/time -f %M -o "$T/rss$n.kb" $HANKO sign \
		    -d hanko.example -s ed -k "$T/ed.private" --no-fsync -j 2 \
		    "$T/rss$n/spool" "$T/rss$n/out" 2>/dev/null
	done
	small=$(cat "$T/rss2000.kb")
	big=$(cat "$T/rss20000.kb")
	echo "# peak RSS: ${small} KiB for 2,000 messages, ${big} KiB for 20,000"
	check "20,000 messages all signed" \
	    test "$(ls "$T/rss20000/out" | wc -l)" -eq 20000
	check "peak RSS flat as the spool grows (${small} -> ${big} KiB)" \
	    test "$big" -lt $((small * 3 / 2 + 4096))
fi

finish
