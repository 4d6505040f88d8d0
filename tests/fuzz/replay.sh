#!/bin/sh
# replay.sh [--build-only] [OUTDIR]: build every fuzz target as a plain
# program (tests/fuzz/replay.c supplies main(); no libFuzzer, so gcc
# will do) into OUTDIR (default build/fuzz-replay), then run each over
# its seed corpus tests/fuzz/corpus/TARGET/, printing "ok - TARGET" or
# "not ok - TARGET"; exit 1 if any failed. This is `make fuzz-replay`
# and what tests/sh/fuzz_replay.sh runs in CI.
#   CC (default gcc), SAN=asan for ASan+UBSan (otherwise plain -O1),
#   JOBS (parallel compiles, default 2).
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
build_only=0
if [ "${1:-}" = --build-only ]; then
	build_only=1
	shift
fi
OUT=${1:-$TOP/build/fuzz-replay}
CC=${CC:-gcc}
JOBS=${JOBS:-2}
cd "$TOP"

WARN="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
 -Wcast-qual -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
 -Wold-style-definition -Wwrite-strings -Wformat=2 -Wundef -Wvla -Walloca
 -Wnull-dereference -Wimplicit-fallthrough -Wswitch-enum -Wdouble-promotion"
if [ "${SAN:-}" = asan ]; then
	OPT="-O1 -fsanitize=address,undefined -fno-sanitize-recover=all
	    -fno-omit-frame-pointer"
else
	OPT="-O1"
fi
PKG=$(pkg-config --cflags libcrypto ldns libpsl libxml-2.0 zlib libarchive)
LIBS=$(pkg-config --libs libcrypto ldns libpsl libxml-2.0 zlib libarchive)
CFLAGS="-std=c17 -D_GNU_SOURCE -g $OPT $WARN $PKG -I."
export CC CFLAGS OUT

mkdir -p "$OUT/obj"
rm -f "$OUT"/obj/*.o
SRCS="$(ls core/*.c) io/zone.c io/dns_name.c io/report_xml.c io/report_unpack.c io/report_mime.c tools/cli_table.c tools/alloc_libc.c tests/fuzz/common.c
 tests/fuzz/replay.c"
echo "$SRCS" | tr ' ' '\n' | grep . | xargs -P "$JOBS" -I{} sh -c '
	o="$OUT/obj/$(echo {} | tr / _ | sed "s/\.c$/.o/")"
	exec $CC $CFLAGS -c {} -o "$o"'
OBJS=$(ls "$OUT"/obj/*.o)
targets=$(ls tests/fuzz/fuzz_*.c | sed 's#.*/fuzz_##; s#\.c$##')
for t in $targets; do
	$CC $CFLAGS "tests/fuzz/fuzz_$t.c" $OBJS $LIBS -o "$OUT/replay_$t"
done
[ "$build_only" -eq 1 ] && exit 0

fail=0
for t in $targets; do
	# Each finding's reproducer is replayed with its target's seeds.
	rm -rf "$OUT/in-$t" && mkdir -p "$OUT/in-$t"
	cp tests/fuzz/corpus/"$t"/* "$OUT/in-$t/" 2>/dev/null || true
	for c in tests/fuzz/crashes/fuzz_"$t"-*; do
		[ -f "$c" ] && cp "$c" "$OUT/in-$t/"
	done
	if "$OUT/replay_$t" "$OUT/in-$t" >"$OUT/$t.log" 2>&1; then
		echo "ok - fuzz replay $t ($(sed -n 's/.*: \([0-9]*\) inputs.*/\1/p' "$OUT/$t.log") inputs)"
	else
		echo "not ok - fuzz replay $t"
		sed 's/^/#   /' "$OUT/$t.log" | tail -20
		fail=1
	fi
done
exit $fail
