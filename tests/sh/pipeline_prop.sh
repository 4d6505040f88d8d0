# Property test of the spool hand-off: random crash points (the nth
# file-system step of a run ends the process, HANKO_FAULT=any:N:crash) or
# injected errors, times random names already taken in OUT_DIR and the
# failed directory (regular files, symlinks to a victim file, directories),
# then runs until the spool is quiet. Each message must be in exactly one
# place (signed in OUT, unchanged in failed/ or the spool, or held in
# .hanko-done and reported), and nothing that was there before may be
# modified, removed or written through.
. "$(dirname "$0")/../lib.sh"

K=$TOP/tests/vectors/dkim/keys
cp "$K/ed.private" "$T/" && chmod 600 "$T/ed.private"
SIGN="$HANKO sign -d hanko.example -s ed -k $T/ed.private --batch 3 -j 2"
# The same, built with the fault hook (HANKO_FAULT); hanko itself has none.
FSIGN="${HANKO}-fault${SIGN#$HANKO}"
ITER=${PROP_ITERATIONS:-16}
NMSG=6
seed=${PROP_SEED:-$$}
echo "# seed $seed (PROP_SEED=$seed reproduces)"

rnd() {	# rnd N: a number in [0, N) into $R
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	R=$(( (seed / 65536) % $1 ))
}

uring=yes
mkdir -p "$T/probe/s"
printf 'From: a@hanko.example\r\n\r\nx\r\n' >"$T/probe/s/m"
$SIGN --io uring "$T/probe/s" "$T/probe/o" >/dev/null 2>&1 || uring=no
[ $uring = no ] && echo "# skip --io uring: io_uring unavailable here"

# plant PATH: something (or nothing) already at PATH; the manifest keeps
# what, to check it is left exactly so.
plant() {
	rnd 6
	case $R in
	0) echo "there before: $1" >"$1"; echo "f $1" >>"$W/manifest" ;;
	1) ln -s "$W/victim" "$1"; echo "l $1" >>"$W/manifest" ;;
	2) mkdir "$1"; echo "d $1" >>"$W/manifest" ;;
	esac
}

# The manifest's entries are as planted, the victim never written.
untouched() {
	[ "$(cat "$W/victim")" = victim ] || echo "victim written"
	while read -r kind p; do
		case $kind in
		f) [ ! -L "$p" ] && [ "$(cat "$p" 2>/dev/null)" = "there before: $p" ] ||
			echo "changed: ${p#$W/}" ;;
		l) [ "$(readlink "$p")" = "$W/victim" ] || echo "changed: ${p#$W/}" ;;
		d) [ -d "$p" ] && [ ! -L "$p" ] && [ -z "$(ls -A "$p")" ] ||
			echo "changed: ${p#$W/}" ;;
		esac
	done <"$W/manifest"
}

planted() { grep -q " $1\$" "$W/manifest"; }

# Where each message is: exactly one place, its bytes intact.
placed() {
	i=1
	while [ $i -le $NMSG ]; do
		n=m$i; o=$W/orig/$n; c=0
		sz=$(wc -c <"$o")
		if ! planted "$W/out/$n" && [ -f "$W/out/$n" ]; then
			tail -c "$sz" "$W/out/$n" | cmp -s - "$o" &&
			    grep -q '^DKIM-Signature:' "$W/out/$n" ||
			    echo "$n: OUT copy is not its signed bytes"
			c=$((c + 1))
		fi
		if ! planted "$W/spool/failed/$n" && [ -f "$W/spool/failed/$n" ]; then
			cmp -s "$W/spool/failed/$n" "$o" || echo "$n: failed copy changed"
			c=$((c + 1))
		fi
		if [ -f "$W/spool/$n" ]; then
			cmp -s "$W/spool/$n" "$o" || echo "$n: spool copy changed"
			grep -q "$n" "$W/err" || echo "$n: left in the spool, not reported"
			c=$((c + 1))
		fi
		if [ -f "$W/spool/.hanko-done/$n" ]; then
			cmp -s "$W/spool/.hanko-done/$n" "$o" || echo "$n: held copy changed"
			grep -q "$n.*held" "$W/err" || echo "$n: held, not reported"
			c=$((c + 1))
		fi
		[ $c -eq 1 ] || echo "$n: in $c places"
		i=$((i + 1))
	done
}

it=1
while [ $it -le "$ITER" ]; do
	W=$T/it$it
	mkdir -p "$W/spool/failed" "$W/out" "$W/orig"
	echo victim >"$W/victim"
	: >"$W/manifest"
	i=1
	while [ $i -le $NMSG ]; do
		rnd 4
		if [ $R -eq 0 ]; then	# unsignable: goes to failed/
			printf 'To: x@y.example\r\n\r\nno From %d\r\n' $i >"$W/orig/m$i"
		else
			printf 'From: a@hanko.example\r\nSubject: %d\r\n\r\nbody %d\r\n' $i $i >"$W/orig/m$i"
		fi
		cp "$W/orig/m$i" "$W/spool/m$i"
		plant "$W/out/m$i"
		plant "$W/spool/failed/m$i"
		plant "$W/spool/failed/m$i.reason"
		i=$((i + 1))
	done
	io=sync
	rnd 2
	[ $R -eq 1 ] && [ $uring = yes ] && io=uring
	# One or two interrupted runs: a crash point or an injected error.
	rnd 2
	runs=$((R + 1))
	what=
	while [ $runs -gt 0 ]; do
		rnd 3
		case $R in 0) kind=5 ;; *) kind=crash ;; esac
		rnd 45
		HANKO_FAULT=any:$((R + 1)):$kind $FSIGN --io $io "$W/spool" "$W/out" \
		    >/dev/null 2>"$W/err0"
		rc=$?
		what="$what any:$((R + 1)):$kind=$rc"
		grep -q 'Sanitizer\|runtime error' "$W/err0" && what="$what SANITIZER"
		runs=$((runs - 1))
	done
	# Then until quiet; the last run must report what it could not place.
	$SIGN --io $io "$W/spool" "$W/out" >/dev/null 2>"$W/err1"
	$SIGN --io $io "$W/spool" "$W/out" >/dev/null 2>"$W/err"
	rc=$?
	bad=$( (untouched; placed) | tr '\n' ';')
	grep -q 'Sanitizer\|runtime error' "$W/err1" "$W/err" && bad="$bad sanitizer report;"
	case $rc in 0|1) ;; *) bad="$bad last run exit $rc;" ;; esac
	left=$(ls "$W/spool/.hanko-done" | wc -l)
	tmps=$(ls -A "$W/out" | grep -c '^\.hanko-tmp\.')
	[ "$tmps" -eq "$left" ] || bad="$bad $tmps copies in OUT for $left held;"
	if [ -z "$bad" ] && [ -z "${what##*SANITIZER*}" ]; then bad="sanitizer report"; fi
	if [ -z "$bad" ]; then
		ok "iteration $it ($io,$what): every message in one place, nothing touched"
	else
		nok "iteration $it ($io,$what): $bad"
		sed 's/^/#   /' "$W/err" | head -5
	fi
	it=$((it + 1))
done
finish
