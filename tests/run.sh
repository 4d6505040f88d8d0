#!/bin/sh
# Run every suite in every built configuration and print one closing line
# "N passed, N failed". cmocka programs report in TAP; shell suites print
# "ok"/"not ok" lines. A program that dies without reporting a failure
# counts as one failed test.
#
# SUITE=NAME runs that suite alone (tests/sh/NAME.sh, or the unit test
# NAME, e.g. test_auth; a path or a .sh suffix is accepted), through the
# same counting; CONFIGS picks the configurations (make test-one: release).
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
pass=0
fail=0
t0=$(date +%s)
log=$(mktemp)
want=${SUITE:-}
want=${want##*/}
want=${want%.sh}
ran=0

# wanted NAME: true when every suite runs, or NAME is the one asked for.
wanted() {
	[ -z "$want" ] || [ "$1" = "$want" ]
}

count() {	# count NAME EXIT-STATUS < output
	_p=$(grep -c '^ok ' "$log")
	_f=$(grep -c '^not ok ' "$log")
	if [ "$2" -ne 0 ] && [ "$2" -ne 77 ] && [ "$_f" -eq 0 ]; then
		echo "not ok - $1 exited with status $2"
		_f=1
	fi
	# Each failure with the diagnostics its suite printed under it
	# (comment lines, at most 20), so a CI log alone explains it.
	awk '/^not ok /{print; n=20; next} /^#/ && n>0 {print; n--; next}
	    {n=0}' "$log"
	[ "$2" -eq 77 ] && echo "# $1: skipped"
	echo "# $1: $_p passed, $_f failed ($(($(date +%s) - t0)) s)"
	pass=$((pass + _p))
	fail=$((fail + _f))
}

for cfg in ${CONFIGS:-release asan tsan}; do
	[ -x "build/$cfg/hanko" ] || continue
	# ThreadSanitizer is for the threaded pipeline and the milter only.
	for t in build/$cfg/tests/test_*; do
		[ "$cfg" = tsan ] && break
		case $t in *.d) continue ;; esac
		[ -x "$t" ] || continue
		wanted "$(basename "$t")" || continue
		ran=$((ran + 1))
		t0=$(date +%s)
		CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log" 2>&1
		count "$cfg/$(basename "$t")" $?
	done
	for s in tests/sh/*.sh; do
		[ -f "$s" ] || continue
		wanted "$(basename "$s" .sh)" || continue
		# Interop, benchmark, fuzzing and packaging suites run once
		# (release).
		case $(basename "$s") in interop_*|bench_*|fuzz_smoke*|install*)
			[ "$cfg" = release ] || continue ;;
		esac
		case $cfg:$(basename "$s") in tsan:pipeline*|tsan:ops.sh|tsan:milter*) ;;
		tsan:*) continue ;;
		esac
		ran=$((ran + 1))
		t0=$(date +%s)
		HANKO="$TOP/build/$cfg/hanko" CONFIG=$cfg sh "$s" >"$log" 2>&1
		count "$cfg/$(basename "$s" .sh)" $?
	done
done
rm -f "$log"
if [ -n "$want" ] && [ "$ran" -eq 0 ]; then
	echo "not ok - no suite named $want (tests/sh/$want.sh or a unit test)"
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
