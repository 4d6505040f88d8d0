# Crash safety and fault injection: the batch is killed with SIGKILL at
# random moments and resumed, while a consumer (like an MTA pickup)
# takes outputs away; faults make write/fsync/rename/read fail. In the end
# every message must have been delivered exactly once, signed.
. "$(dirname "$0")/../lib.sh"

K=$TOP/tests/vectors/dkim/keys
ZONE=$TOP/tests/vectors/dkim/keys.zone
cp "$K/rsa.private" "$T/" && chmod 600 "$T/rsa.private"
SIGN="$HANKO sign -d hanko.example -s rsa -k $T/rsa.private --batch 8"
# The same, built with the fault hook (HANKO_FAULT); hanko itself has none.
FSIGN="${HANKO}-fault${SIGN#$HANKO}"
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

# Several spools into one shared OUT (one MTA pickup directory), each with
# its own hanko, all killed with SIGKILL at random moments and resumed,
# while a consumer drains OUT. The spools share half their names, so a
# name can be taken in OUT by another spool's message: that message goes
# to its own spool's failed directory. No process may remove another's
# copies; in the end each message is in exactly one place.
SN=${SHARED_MESSAGES:-240}
SROUNDS=${SHARED_ROUNDS:-6}

# mktagged DIR TAG FIRST LAST [PREFIX]: messages mFIRST..mLAST (or
# PREFIXFIRST..) saying which spool.
mktagged() {
	mkdir -p "$1"
	awk -v d="$1" -v t="$2" -v a="$3" -v b="$4" -v p="${5:-m}" 'BEGIN { for (i = a; i <= b; i++) {
	    f = d "/" p i; printf "From: a@hanko.example\r\nX-Spool: %s\r\nSubject: %d\r\n\r\n%s %d\r\n", t, i, t, i > f; close(f) } }'
}

# take S: move each output to S/taken/TAG-NAME; seen twice: duplicate.
take() {
	ls "$1/out" | grep -q . || return 0
	awk '/^X-Spool: / { sub(/\r$/, ""); print FILENAME, $2; nextfile }' \
	    "$1/out"/* 2>/dev/null |
	while read -r f t; do
		b=$t-${f##*/}
		if [ -e "$1/taken/$b" ]; then
			echo "$b" >>"$1/duplicates"
			rm -f "$f"
		else
			mv "$f" "$1/taken/$b"
		fi
	done
}
shared_consumer() {
	while [ ! -f "$1/stop" ]; do
		take "$1"
		sleep 0.05
	done
}

uring=yes
mktagged "$T/probe" p 1 1
$SIGN --io uring "$T/probe" "$T/probe-out" >/dev/null 2>&1 || uring=no
for io in sync uring; do
	if [ $io = uring ] && [ $uring = no ]; then
		echo "# skip shared OUT with --io uring: io_uring unavailable here"
		continue
	fi
	S=$T/shared-$io
	mktagged "$S/a" a 1 "$SN"
	mktagged "$S/b" b $((SN / 2 + 1)) $((SN + SN / 2))
	mktagged "$S/c" c 1 $((SN / 3))
	mkdir -p "$S/out" "$S/taken"
	shared_consumer "$S" &
	cpid=$!
	r=0
	while [ $r -lt "$SROUNDS" ]; do
		pids=
		for sp in a b c; do
			$SIGN --io $io -j 2 "$S/$sp" "$S/out" 2>/dev/null &
			pids="$pids $!"
		done
		for p in $pids; do
			seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
			sleep "0.$(printf '%03d' $(( 10 + seed % 250 )))"
			kill -9 $p 2>/dev/null
		done
		for p in $pids; do wait $p 2>/dev/null; done
		r=$((r + 1))
	done
	rcs=
	for sp in a b c; do
		$SIGN --io $io -j 2 "$S/$sp" "$S/out" 2>"$S/$sp.err"
		rcs="$rcs$?"
	done
	sleep 0.3
	touch "$S/stop"
	wait $cpid
	take "$S"
	# Certain collisions: two more spools with the same names, no consumer.
	mktagged "$S/d" d 1 20 x
	mktagged "$S/e" e 1 20 x
	$SIGN --io $io "$S/d" "$S/out" 2>/dev/null
	$SIGN --io $io "$S/e" "$S/out" 2>"$S/e.err"
	rc=$?
	check "$io shared OUT: the same 20 names from a second spool fail (exit $rc)" \
	    sh -c "test $rc -eq 1 && test \$(ls '$S/e/failed' | grep -c '^x[0-9]*\$') -eq 20"
	take "$S"
	check "$io shared OUT: the resumed runs finish (exits $rcs: 0, or 1 for collisions)" \
	    sh -c "echo $rcs | grep -q '^[01]*$'"
	check "$io shared OUT: no message delivered twice" test ! -s "$S/duplicates"
	check "$io shared OUT: no copies left behind in OUT" test -z "$(ls -A "$S/out")"
	bad=
	for sp in a b c; do
		case $sp in a) lo=1 hi=$SN ;; b) lo=$((SN / 2 + 1)) hi=$((SN + SN / 2)) ;;
		c) lo=1 hi=$((SN / 3)) ;; esac
		i=$lo
		while [ $i -le $hi ]; do
			n=0
			[ -f "$S/taken/$sp-m$i" ] && n=$((n + 1))
			[ -f "$S/$sp/failed/m$i" ] && n=$((n + 1))
			[ -f "$S/$sp/m$i" ] && n=$((n + 1))
			[ -f "$S/$sp/.hanko-done/m$i" ] && n=$((n + 1))
			[ $n -eq 1 ] || bad="$bad $sp/m$i:$n"
			i=$((i + 1))
		done
	done
	check "$io shared OUT: each message in exactly one place" test -z "$bad"
	[ -n "$bad" ] && echo "#   $(echo $bad | head -c 300)"
	bad=
	i=1
	while [ $i -le 20 ]; do
		[ -f "$S/taken/d-x$i" ] && [ -f "$S/e/failed/x$i" ] &&
		    [ ! -f "$S/taken/e-x$i" ] || bad="$bad x$i"
		i=$((i + 1))
	done
	check "$io shared OUT: each colliding message in exactly one place" test -z "$bad"
	check "$io shared OUT: every spool emptied" \
	    test -z "$(ls "$S/a" "$S/b" "$S/c" "$S/d" "$S/e" | grep '^[mx][0-9]')"
	check "$io shared OUT: every delivered message signed once, by its spool" \
	    awk 'FNR == 1 { if (NR > 1 && (sigs != 1 || tag != want)) bad = 1
	            sigs = 0; tag = ""; want = FILENAME; sub(/.*\//, "", want)
	            sub(/-.*/, "", want) }
	        /^DKIM-Signature:/ { sigs++ }
	        /^X-Spool: / { sub(/\r$/, ""); tag = $2 }
	        END { if (sigs != 1 || tag != want) bad = 1; exit bad }' "$S"/taken/*
	bad=
	for f in "$S"/[abce]/failed/[mx]*; do
		case $f in *.reason) continue ;; esac
		[ -f "$f" ] || continue	# no collision happened
		[ -f "$f.reason" ] || bad="$bad $f"
	done
	check "$io shared OUT: collisions failed with a reason" sh -c "
	    test -z '$bad' && ! grep -L 'already holds' '$S'/[abce]/failed/*.reason 2>/dev/null | grep -q ."
	echo "# $io shared OUT: $(ls "$S/taken" | wc -l) delivered, $(ls "$S"/[abce]/failed/ | grep -c '^[mx][0-9]*$') in failed/"
done

# Fault injection: the nth write/fsync/rename/read fails; nothing is lost,
# the run stops with a clear error, and a clean rerun completes.
for f in write:3:28 write:40:5 fsync:2:5 fsync:30:28 rename:5:5 rename:60:5 read:7:5; do
	d=$T/fault-$(echo $f | tr ':' '-')
	mkspool "$d/spool" 100
	HANKO_FAULT=$f $FSIGN -j 2 "$d/spool" "$d/out" 2>"$d/err"
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
