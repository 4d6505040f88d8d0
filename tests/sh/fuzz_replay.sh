#!/bin/sh
# Replay every fuzz target's seed corpus (tests/fuzz/corpus/TARGET/)
# without libFuzzer: tests/fuzz/replay.sh builds each target with gcc and
# tests/fuzz/replay.c's main() into $T, with ASan+UBSan when CONFIG=asan
# and plain -O1 otherwise; one assertion per target. A target aborts when
# its oracle fails, so a regression in a parser or the canonicalizer shows
# up here without a fuzzing run. STYLE.md: "make fuzz-replay replays the
# corpora under gcc in CI".
. "$(dirname "$0")/../lib.sh"

command -v gcc >/dev/null 2>&1 || skip_all "gcc not installed"
pkg-config --exists libcrypto ldns 2>/dev/null ||
	skip_all "libcrypto or ldns development files missing"

cd "$TOP" || exit 1
san=
[ "${CONFIG:-release}" = asan ] && san=asan
if ! SAN=$san CC=gcc sh tests/fuzz/replay.sh --build-only "$T/fuzz" \
    >"$T/build.log" 2>&1; then
	nok "fuzz replay: build"
	sed 's/^/#   /' "$T/build.log" | tail -20
	finish
	exit 1
fi
for src in tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	t=${t#fuzz_}
	# The seeds, and every finding's reproducer for this target.
	mkdir -p "$T/in-$t"
	cp tests/fuzz/corpus/"$t"/* "$T/in-$t/" 2>/dev/null
	for c in tests/fuzz/crashes/fuzz_"$t"-*; do
		[ -f "$c" ] && cp "$c" "$T/in-$t/"
	done
	check "fuzz replay $t (${san:-plain} gcc)" \
	    "$T/fuzz/replay_$t" "$T/in-$t"
done
finish
