#!/bin/sh
# run.sh SECONDS [TARGET...]: run each fuzz target built by build.sh for
# SECONDS (-max_total_time), JOBS (default 2) at a time under nice, and
# print per target the executions (libFuzzer's "Done N runs"), its
# corpus when it stopped (units/bytes) and the crashes it found. Exit 1
# when any target found a crash, leak, timeout or OOM, or failed to run.
#   Seeds:    tests/fuzz/corpus/TARGET/  (read, never written)
#   Corpus:   build/fuzz/work/TARGET/    (new units, kept between runs)
#   Crashes:  build/fuzz/crashes/TARGET/ (reproducers; replay one with
#             build/fuzz/fuzz_TARGET FILE)
#   Log:      build/fuzz/logs/TARGET.log
# Minimise what a run found into the seeds with, for example:
#   build/fuzz/fuzz_hdr -merge=1 tests/fuzz/corpus/hdr build/fuzz/work/hdr
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:?usage: run.sh SECONDS [TARGET...]}
shift
BIN=${FUZZ_BIN:-$TOP/build/fuzz}
JOBS=${JOBS:-2}
NICE=${NICE:-10}
cd "$TOP" || exit 1

if [ $# -gt 0 ]; then
	targets=$*
else
	targets=$(ls tests/fuzz/fuzz_*.c | sed 's#.*/fuzz_##; s#\.c$##')
fi
for t in $targets; do
	if [ ! -x "$BIN/fuzz_$t" ]; then
		echo "run.sh: $BIN/fuzz_$t missing; run tests/fuzz/build.sh" >&2
		exit 1
	fi
	mkdir -p "$BIN/work/$t" "$BIN/crashes/$t" "$BIN/logs"
	ls "$BIN/crashes/$t" >"$BIN/logs/$t.before"
done

# One target: its exit status goes to logs/TARGET.rc.
export BIN SECS NICE
echo "$targets" | tr ' ' '\n' | grep . | xargs -P "$JOBS" -I{} sh -c '
	t={}
	nice -n "$NICE" "$BIN/fuzz_$t" -max_total_time="$SECS" -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="$BIN/crashes/$t/" \
	    "$BIN/work/$t" "tests/fuzz/corpus/$t" >"$BIN/logs/$t.log" 2>&1
	echo $? >"$BIN/logs/$t.rc"'

fail=0
printf '%-12s %12s %14s %8s\n' target executions corpus crashes
for t in $targets; do
	log=$BIN/logs/$t.log
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
	# libFuzzer's own count: units in its corpus when it stopped.
	corpus=$(grep -E '^#[0-9]+' "$log" | tail -1 |
	    sed -n 's/.* corp: \([0-9]*\/[^ ]*\).*/\1/p')
	ls "$BIN/crashes/$t" >"$BIN/logs/$t.after"
	new=$(comm -13 "$BIN/logs/$t.before" "$BIN/logs/$t.after" | wc -l)
	rc=$(cat "$BIN/logs/$t.rc" 2>/dev/null || echo 1)
	printf '%-12s %12s %14s %8s\n' "$t" "${runs:-?}" "${corpus:-?}" "$new"
	if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
		fail=1
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz oracle failed|.*runtime error)' \
		    "$log" | head -5 | sed 's/^/    /'
		comm -13 "$BIN/logs/$t.before" "$BIN/logs/$t.after" |
		    sed "s#^#    new: $BIN/crashes/$t/#"
	fi
done
exit $fail
