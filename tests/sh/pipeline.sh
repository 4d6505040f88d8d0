# Batch spool pipeline: hand-off, failed directory, io_uring and syscall
# backends giving identical output, worker counts, exit codes, watch mode.
. "$(dirname "$0")/../lib.sh"

K=$TOP/tests/vectors/dkim/keys
ZONE=$TOP/tests/vectors/dkim/keys.zone
cp "$K/rsa.private" "$K/ed.private" "$T/" && chmod 600 "$T"/*.private
SIGN="$HANKO sign -d hanko.example -s rsa -k $T/rsa.private -s ed -k $T/ed.private --time 1700000000"
# The same, built with the fault hook (HANKO_FAULT); hanko itself has none.
FSIGN="${HANKO}-fault${SIGN#$HANKO}"
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

# Name collisions on both sides: a committed message whose name is taken
# in OUT_DIR and in the failed directory is held in .hanko-done, reported
# by every run (exit 1), never removed, and published once the MTA has
# taken the older file.
d=$T/held
mkspool "$d/spool" 2
mkdir -p "$d/out" "$d/spool/failed"
echo "older, not yet picked up" >"$d/out/msg1"
echo "an older failure" >"$d/spool/failed/msg1"
cp "$d/spool/msg1" "$T/held.src"
for run in 1 2 3; do
	$SIGN "$d/spool" "$d/out" 2>"$d/err$run"
	rc=$?
	check "held, run $run: exit 1 and the message reported" \
	    sh -c "test $rc -eq 1 && grep -q 'msg1.*held' '$d/err$run' &&
	        grep -q 'left 1' '$d/err$run'"
	check "held, run $run: the message kept, unchanged" \
	    cmp -s "$T/held.src" "$d/spool/.hanko-done/msg1"
done
check "held: files already there untouched" sh -c "
    grep -q 'older, not yet' '$d/out/msg1' && grep -q 'an older' '$d/spool/failed/msg1'"
mv "$d/out/msg1" "$d/taken-msg1"
$SIGN "$d/spool" "$d/out" 2>"$d/err4"
check "held: published once its name is free (exit 0)" \
    sh -c "test $? -eq 0 && tail -c $(wc -c <"$T/held.src") '$d/out/msg1' | cmp -s - '$T/held.src'"
check "held: nothing left behind" clean "$d"

# The shipped binary has no fault hook: the variable changes nothing.
d=$T/nohook
mkspool "$d/spool" 3
HANKO_FAULT=any:1:crash $SIGN -j 1 "$d/spool" "$d/out" 2>/dev/null
rc=$?
check "hanko ignores HANKO_FAULT (exit $rc, 3 published)" \
    sh -c "test $rc -eq 0 && test \$(ls '$d/out' | wc -l) -eq 3"
mkspool "$d/spool2" 3
HANKO_FAULT=any:1:crash $FSIGN -j 1 "$d/spool2" "$d/out2" 2>/dev/null
rc=$?
check "the fault build honours it: killed at the first step (exit $rc)" \
    sh -c "test $rc -eq 137 && test \$(ls '$d/spool2' | grep -c '^msg') -eq 3"

# The same after a crash between commit and publish (an injected publish
# failure leaves the done entry and its copy), with both names then taken.
d=$T/heldcrash
mkspool "$d/spool" 1
cp "$d/spool/msg1" "$T/heldcrash.src"
HANKO_FAULT=rename:2:5 $FSIGN -j 1 "$d/spool" "$d/out" 2>/dev/null
echo "someone else's" >"$d/out/msg1"
mkdir -p "$d/spool/failed"
echo "someone else's" >"$d/spool/failed/msg1"
for run in 1 2; do
	$SIGN "$d/spool" "$d/out" 2>"$d/err$run"
	rc=$?
	check "crash + names taken, run $run: held and reported (exit $rc)" \
	    sh -c "test $rc -eq 1 && grep -q 'msg1.*held' '$d/err$run' &&
	        cmp -s '$T/heldcrash.src' '$d/spool/.hanko-done/msg1'"
done

# A failed message whose name is taken in the failed directory stays in
# the spool, reported; the rest of the batch is signed (not exit 74).
d=$T/failclash
mkspool "$d/spool" 5
cp "$T/nofrom.ref" "$d/spool/nofrom"
mkdir -p "$d/spool/failed"
echo "an older failure" >"$d/spool/failed/nofrom"
$SIGN "$d/spool" "$d/out" 2>"$d/err"
rc=$?
check "failed/ name taken: exit 1, not 74 (got $rc)" test $rc -eq 1
check "failed/ name taken: the batch went on" \
    test "$(ls "$d/out" | wc -l)" -eq 5
check "failed/ name taken: message left in the spool, reported" sh -c "
    cmp -s '$T/nofrom.ref' '$d/spool/nofrom' && grep -q 'nofrom' '$d/err' &&
    grep -q 'an older failure' '$d/spool/failed/nofrom'"
$SIGN --watch "$d/spool" "$d/out" 2>"$d/werr" &
wpid=$!
printf 'From: a@hanko.example\r\n\r\nlater\r\n' >"$d/spool/.later"
mv "$d/spool/.later" "$d/spool/later"
n=0
while [ $n -lt 50 ] && [ ! -f "$d/out/later" ]; do sleep 0.1; n=$((n + 1)); done
check "failed/ name taken: --watch goes on" test -f "$d/out/later"
kill -TERM $wpid
wait $wpid

# Names of 241-255 bytes (Linux allows 255) are signed or failed with a
# reason, not left in the spool for ever.
d=$T/long
mkdir -p "$d/spool"
n250=$(printf '%0250d' 7)
n255=$(printf 'x%0254d' 8)
printf 'From: a@hanko.example\r\n\r\nlong\r\n' >"$d/spool/$n250"
printf 'From: a@hanko.example\r\n\r\nlong\r\n' >"$d/spool/$n255"
cp "$T/nofrom.ref" "$d/spool/f$n250"
$SIGN "$d/spool" "$d/out" 2>"$d/err"
rc=$?
check "long names: signed (250 and 255 bytes)" \
    sh -c "test -f '$d/out/$n250' && test -f '$d/out/$n255'"
check "long names: an unsignable one failed with a reason (exit $rc)" \
    sh -c "test $rc -eq 1 && test -f '$d/spool/failed/f$n250' &&
        grep -q 'no From' '$d/spool/failed/'*.reason"
check "long names: nothing left in the spool" \
    test -z "$(ls "$d/spool" | grep -v '^failed$')"

# The signed copy is never more readable than its source; reasons are
# not world-readable.
for io in sync uring; do
	[ $io = uring ] && [ $uring = no ] && continue
	d=$T/mode$io
	mkspool "$d/spool" 2
	cp "$T/nofrom.ref" "$d/spool/nofrom"
	chmod 600 "$d/spool/msg1"
	chmod 640 "$d/spool/msg2"
	(umask 022; $SIGN --io $io "$d/spool" "$d/out" 2>/dev/null)
	check "$io: a 0600 message is published 0600" \
	    test "$(stat -c %a "$d/out/msg1")" = 600
	check "$io: a 0640 message is published 0640" \
	    test "$(stat -c %a "$d/out/msg2")" = 640
	check "$io: the reason file is not world-readable" \
	    test "$(stat -c %a "$d/spool/failed/nofrom.reason")" = 640
done

# Layouts where one directory feeds another are refused (64), however
# they are spelled.
d=$T/layout
mkspool "$d/s" 1
mkdir -p "$d/o" "$d/f"
for args in "$d/s $d/s/." "--failed $d/o $d/s $d/o" "--failed $d/s/ $d/s $d/o" \
    "$d/s $d/s/.hanko-done" "--failed $d/s/.hanko-done $d/s $d/o"; do
	$SIGN $args 2>"$d/err"
	rc=$?
	check "layout refused (64): $(echo "$args" | sed "s|$d/||g")" \
	    sh -c "test $rc -eq 64 && grep -q 'same directory' '$d/err'"
done
check "refused layouts: the message untouched" test -f "$d/s/msg1"

# Symlinks planted at every name hanko creates, pointing at a victim file
# outside, after start-up (a --watch run) so recovery cannot clear them
# first: the victim is never written, no symlink is published.
for io in sync uring; do
	[ $io = uring ] && [ $uring = no ] && continue
	d=$T/plant$io
	mkdir -p "$d/spool" "$d/out" "$d/spool/failed"
	echo "victim" >"$d/victim"
	# The spool's id, from the copy an interrupted publish leaves.
	mkspool "$d/spool" 1
	HANKO_FAULT=rename:2:5 $FSIGN -j 1 "$d/spool" "$d/out" 2>/dev/null
	sid=$(ls -A "$d/out" | sed -n 's/^\.hanko-tmp\.\([0-9a-f]*-[0-9a-f]*\)\..*/\1/p')
	check "$io: the spool id is in its copies' names" test -n "$sid"
	$SIGN --io $io --watch "$d/spool" "$d/out" 2>"$d/err" &
	wpid=$!
	sleep 0.5
	for f in msg1 msg2 msg3 nofrom; do
		if [ $f = nofrom ]; then cp "$T/nofrom.ref" "$d/spool/.$f"
		else printf 'From: a@hanko.example\r\n\r\n%s\r\n' $f >"$d/spool/.$f"; fi
		ino=$(printf '%x' $(stat -c %i "$d/spool/.$f"))
		ln -s "$d/victim" "$d/out/.hanko-tmp.$sid.$ino"
		ln -s "$d/victim" "$d/out/.hanko-tmp.$f"
		ln -s "$d/victim" "$d/spool/failed/.hanko-tmp.$sid.$ino.reason"
		ln -s "$d/victim" "$d/spool/failed/.hanko-tmp.$f.reason"
	done
	ln -s "$d/victim" "$d/out/msg3"
	ln -s "$d/victim" "$d/spool/failed/nofrom.reason"
	for f in msg1 msg2 msg3 nofrom; do mv "$d/spool/.$f" "$d/spool/$f"; done
	sleep 2.5
	kill -TERM $wpid
	wait $wpid
	check "$io: planted symlinks: the victim untouched" \
	    test "$(cat "$d/victim")" = victim
	check "$io: planted symlinks: no message published as a symlink" \
	    sh -c "! test -L '$d/out/msg1' && ! test -L '$d/out/msg2'"
	check "$io: planted names cleared between passes, messages signed" \
	    sh -c "test -f '$d/out/msg1' && test -f '$d/out/msg2' &&
	        ! test -L '$d/out/msg1' && test -f '$d/spool/failed/nofrom'"
	check "$io: planted symlinks: every message still somewhere" sh -c "
	    for f in msg1 msg2 msg3 nofrom; do
	        test -f '$d/spool/'\$f -o -f '$d/out/'\$f -a ! -L '$d/out/'\$f -o \
	            -f '$d/spool/failed/'\$f -o -f '$d/spool/.hanko-done/'\$f || exit 1
	    done"
done
d=$T/plantdir
mkspool "$d/spool" 1
mkdir -p "$d/elsewhere"
ln -s "$d/elsewhere" "$d/spool/failed"
cp "$T/nofrom.ref" "$d/spool/nofrom"
$SIGN "$d/spool" "$d/out" 2>/dev/null
check "a symlink planted as SPOOL/failed is not followed" \
    test -z "$(ls -A "$d/elsewhere")"
mkdir -p "$d/s2"
ln -s "$d/elsewhere" "$d/s2/.hanko-done"
mkspool "$d/s2" 1
$SIGN "$d/s2" "$d/out2" 2>/dev/null
check "a symlink planted as SPOOL/.hanko-done is not followed" \
    sh -c "test -z \"\$(ls -A '$d/elsewhere')\" && test -f '$d/s2/msg1'"

# A FIFO renamed over a message name between stat and open blocks no
# worker: the batch finishes, and SIGTERM ends --watch within seconds.
for io in sync uring; do
	[ $io = uring ] && [ $uring = no ] && continue
	d=$T/fifo$io
	mkspool "$d/spool" 200
	mkfifo "$d/spool/pipe"
	( while [ ! -f "$d/stop" ]; do
		mkfifo "$d/spool/.f" 2>/dev/null; mv "$d/spool/.f" "$d/spool/x"
		printf 'From: a@hanko.example\r\n\r\nx\r\n' >"$d/spool/.r"
		mv "$d/spool/.r" "$d/spool/x"
	done ) &
	racer=$!
	timeout 20 $SIGN --io $io -j 2 --batch 4 "$d/spool" "$d/out" 2>/dev/null
	rc=$?
	check "$io: FIFOs in the spool: the batch finishes (exit $rc)" \
	    sh -c "test $rc -ne 124 && test -f '$d/out/msg200'"
	$SIGN --io $io --watch -j 2 "$d/spool" "$d/out2" 2>/dev/null &
	wpid=$!
	sleep 1
	kill -TERM $wpid
	n=0
	while [ $n -lt 50 ] && kill -0 $wpid 2>/dev/null; do sleep 0.1; n=$((n + 1)); done
	check "$io: FIFOs swapped in: SIGTERM ends --watch within 5 s" \
	    sh -c "! kill -0 $wpid 2>/dev/null"
	kill -9 $wpid 2>/dev/null
	touch "$d/stop"
	wait $racer
	# A reader unblocks a worker stuck on the FIFO, if any.
	for p in "$d/spool/x" "$d/spool/pipe"; do
		[ -p "$p" ] && timeout 1 sh -c "echo >'$p'" 2>/dev/null
	done
	wait $wpid 2>/dev/null
done

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


# A second SIGTERM ends a batch at once (killed by it: 143) without waiting for the
# in-flight hand-offs; the next start completes them, exactly once.
d=$T/term2
mkspool "$d/spool" 3000
# one large batch, so the first SIGTERM's drain takes a while
$SIGN -j 1 --batch 2000 "$d/spool" "$d/out" 2>/dev/null &
tpid=$!
sleep 0.6
kill -TERM $tpid
sleep 0.2
kill -TERM $tpid
wait $tpid
rc=$?
check "a second SIGTERM ends the run at once (got $rc, want 143)" test $rc -eq 143
$SIGN "$d/spool" "$d/out" 2>/dev/null
check "after it, the next run delivers all 3000, exactly once" \
    test "$(ls "$d/out" | wc -l)" -eq 3000
check "after it, nothing left behind" \
    sh -c "test -z \"\$(ls '$d/spool' | grep -v '^failed\$')\""
check "after it, no copies or done entries left" clean "$d"

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
