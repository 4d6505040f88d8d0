#!/bin/sh
# A short libFuzzer run of every target (tests/fuzz/fuzz_*.c), so the
# targets keep building with clang and the fuzzer keeps finding nothing
# in its first seconds: each target runs FUZZ_SMOKE_SECONDS (default 8)
# from its seeds, two at a time. A crash, leak, timeout or OOM fails the
# target's assertion and its reproducer is kept in build/fuzz-smoke/.
# The seed is fixed (FUZZ_SMOKE_SEED, default 1), so the smoke replays the
# same mutations on every machine and a failure here is reproducible; the
# random search is `make fuzz` (600 s per target, a new seed each run).
. "$(dirname "$0")/../lib.sh"

command -v clang >/dev/null 2>&1 || skip_all "clang not installed"
SECS=${FUZZ_SMOKE_SECONDS:-8}
SEED=${FUZZ_SMOKE_SEED:-1}
OUT=$TOP/build/fuzz-smoke
cd "$TOP" || exit 1
if ! JOBS=2 sh tests/fuzz/build.sh "$OUT" >"$T/build.log" 2>&1; then
	nok "fuzz smoke: clang/libFuzzer build of every target"
	tail -20 "$T/build.log" | sed 's/^/#   /'
	finish
	exit 1
fi
ok "fuzz smoke: clang/libFuzzer build of every target"

# smoke TARGET: one bounded libFuzzer run; writes $T/TARGET.rc
smoke() {
	mkdir -p "$T/work-$1" "$OUT/crashes"
	timeout $((SECS + 60)) "$OUT/fuzz_$1" -seed="$SEED" -max_total_time="$SECS" \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$OUT/crashes/$1-" "$T/work-$1" \
	    "tests/fuzz/corpus/$1" >"$T/$1.log" 2>&1
	echo $? >"$T/$1.rc"
}
targets=$(ls tests/fuzz/fuzz_*.c | sed 's#.*/fuzz_##; s#\.c$##')
set -- $targets
while [ $# -gt 0 ]; do
	smoke "$1" &
	[ $# -gt 1 ] && smoke "$2" &
	wait
	shift; [ $# -gt 0 ] && shift
done
for t in $targets; do
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$t.log")
	if [ "$(cat "$T/$t.rc")" = 0 ]; then
		ok "fuzz smoke $t: ${SECS} s, ${runs:-?} executions, nothing found"
	else
		nok "fuzz smoke $t: exit $(cat "$T/$t.rc")"
		# What it found, and the input itself when small, so a CI
		# log alone reproduces it: base64 -d >in; fuzz_X in.
		grep -m6 'ERROR\|SUMMARY\|Test unit written\|oracle failed\|deadly' \
		    "$T/$t.log" | sed 's/^/#   /'
		tail -n 4 "$T/$t.log" | sed 's/^/#   log: /'
		for a in "$OUT/crashes/$t"-*; do
			[ -f "$a" ] && [ "$(wc -c <"$a")" -le 4096 ] || continue
			echo "#   input $(basename "$a"): $(base64 -w0 "$a")"
		done
	fi
done
finish
