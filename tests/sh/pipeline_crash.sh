# Crash safety and fault injection: the batch is killed with SIGKILL at
# random moments and resumed, while a consumer (like an MTA pickup)
# takes outputs away; faults make write/fsync/rename/read fail. In the end
# every message must have been delivered exactly once, signed.
. "$(dirname "$0")/../lib.sh"

K=$TOP/tests/vectors/dkim/keys
ZONE=$TOP/tests/vectors/dkim/keys.zone
cp "$K/rsa.private" "$T/" && chmod 600 "$T/rsa.private"
SIGN="$HANKO sign -d hanko.example -s rsa -k $T/rsa.private --batch 8"
N=${CRASH_MESSAGES:-1500}
ROUNDS=${CRASH_ROUNDS:-12}

mkspool() {
	mkdir -p "$1"
	i=1
	while [ $i -le "$2" ]; do
		printf 'From: a@hanko.example\r\nTo: r%d@x.example\r\nSubject: %d\r\n\r\nbody %d\r\n' $i $i $i >"$1/m$i"
		i=$((i + 1))
	done
}

# The consumer moves outputs to taken/; a name seen twice is a duplicate.
consumer() {
	while [ ! -f "$T/stop-consumer" ]; do
		for f in "$T/out"/m*; do
			[ -f "$f" ] || continue
			b=$(basename "$f")
			if [ -e "$T/taken/$b" ]; then
				echo "$b" >>"$T/duplicates"
				rm -f "$f"
			else
				mv "$f" "$T/taken/$b"
			fi
		done
		sleep 0.05
	done
}

mkspool "$T/spool" "$N"
mkdir -p "$T/out" "$T/taken"
consumer &
cpid=$!
seed=${CRASH_SEED:-$$}
r=0
while [ $r -lt "$ROUNDS" ]; do
	$SIGN -j 2 "$T/spool" "$T/out" 2>/dev/null &
	pid=$!
	# Kill somewhere between 20 and 400 ms in.
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	sleep "0.$(printf '%03d' $(( 20 + seed % 380 )))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	r=$((r + 1))
done
$SIGN -j 2 "$T/spool" "$T/out" 2>"$T/final.err"
check "the resumed run finishes cleanly" test $? -eq 0
sleep 0.3
touch "$T/stop-consumer"
wait $cpid
mv "$T/out"/m* "$T/taken/" 2>/dev/null
check "no message delivered twice" test ! -s "$T/duplicates"
check "every message delivered ($N)" \
    test "$(ls "$T/taken" | wc -l)" -eq "$N"
check "spool empty" test -z "$(ls "$T/spool" | grep -v '^failed$')"
check "no temporary or done files left" \
    test -z "$(ls -A "$T/out")$(ls -A "$T/spool/.hanko-done")"
check "every delivered message verifies" \
    "$HANKO" verify --dns-zone "$ZONE" "$T/taken"
check "each signed exactly once (one DKIM-Signature per message)" \
    test "$(cat "$T"/taken/m* | grep -c '^DKIM-Signature:')" -eq "$N"

# Fault injection: the nth write/fsync/rename/read fails; nothing is lost,
# the run stops with a clear error, and a clean rerun completes.
for f in write:3:28 write:40:5 fsync:2:5 fsync:30:28 rename:5:5 rename:60:5 read:7:5; do
	d=$T/fault-$(echo $f | tr ':' '-')
	mkspool "$d/spool" 100
	HANKO_FAULT=$f $SIGN -j 2 "$d/spool" "$d/out" 2>"$d/err"
	rc=$?
	case $f in
	read:*)	# a read error leaves the message; the next pass retries it
		check "$f: error reported, message retried (exit $rc)" \
		    grep -q 'hanko: m[0-9]*: ' "$d/err" ;;
	*)	check "$f: reported as an error (exit $rc)" test $rc -ne 0
		check "$f: the error is explained" \
		    grep -q 'hanko: \(write\|fsync\|commit\|publish\)' "$d/err" ;;
	esac
	check "$f: nothing lost (spool + out + done = 100)" test \
	    "$(($(ls "$d/spool" | grep -vc '^failed$') + $(ls "$d/out" | grep -vc '^\.') + $(ls "$d/spool/.hanko-done" | wc -l)))" -eq 100
	$SIGN -j 2 "$d/spool" "$d/out" 2>/dev/null
	check "$f: rerun delivers all 100 exactly once" \
	    test "$(ls "$d/out" | wc -l)" -eq 100
	check "$f: rerun leaves nothing behind" \
	    test -z "$(ls "$d/spool" | grep -v '^failed$')$(ls -A "$d/spool/.hanko-done")"
done


# A full disk, for real, when a small tmpfs can be mounted here.
if mkdir -p "$T/small" && mount -t tmpfs -o size=1m tmpfs "$T/small" 2>/dev/null; then
	mkspool "$T/small/spool" 100
	dd if=/dev/zero of="$T/small/filler" bs=4k 2>/dev/null
	$SIGN "$T/small/spool" "$T/small/out" 2>"$T/small.err"
	rc=$?
	check "full disk: exit 75 (retry later)" test $rc -eq 75
	check "full disk: says so" grep -q 'No space left' "$T/small.err"
	check "full disk: nothing lost" test \
	    "$(($(ls "$T/small/spool" | grep -vc '^failed$') + $(ls "$T/small/out" | grep -vc '^\.') + $(ls "$T/small/spool/.hanko-done" | wc -l)))" -eq 100
	rm -f "$T/small/filler"
	$SIGN "$T/small/spool" "$T/small/out" 2>/dev/null
	check "full disk: after space is freed all 100 delivered" \
	    test "$(ls "$T/small/out" | wc -l)" -eq 100
	umount "$T/small"
else
	echo "# cannot mount a tmpfs here: full-disk test covered by injected ENOSPC"
fi

finish
