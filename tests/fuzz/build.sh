#!/bin/sh
# Build every libFuzzer target, tests/fuzz/fuzz_*.c, into build/fuzz/ (or
# $1) with clang, ASan and UBSan. The library sources (all of core/, plus
# io/zone.c, io/dns_name.c, tools/cli_table.c, tests/fuzz/common.c and the
# report readers io/report_{xml,unpack,mime}.c, which bring libxml2, zlib
# and libarchive) are compiled once with coverage instrumentation; each
# target links them.
#   FUZZ_CC (default clang; libFuzzer needs it), JOBS (parallel compiles,
#   default 2).
# UBSan must not recover, or libFuzzer would not see its reports.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$TOP/build/fuzz}
CC=${FUZZ_CC:-clang}
JOBS=${JOBS:-2}
cd "$TOP"

WARN="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
 -Wcast-qual -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
 -Wold-style-definition -Wwrite-strings -Wformat=2 -Wundef -Wvla -Walloca
 -Wnull-dereference -Wimplicit-fallthrough -Wswitch-enum -Wdouble-promotion"
PKG=$(pkg-config --cflags libcrypto ldns libpsl libxml-2.0 zlib libarchive)
LIBS=$(pkg-config --libs libcrypto ldns libpsl libxml-2.0 zlib libarchive)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $SAN $WARN $PKG -I."
export CC CFLAGS OUT

mkdir -p "$OUT/obj"
SRCS="$(ls core/*.c) io/zone.c io/dns_name.c io/report_xml.c io/report_unpack.c io/report_mime.c tools/cli_table.c tools/alloc_libc.c tests/fuzz/common.c"
# One compile per source, JOBS at a time; a failure stops the build.
echo "$SRCS" | tr ' ' '\n' | grep . | xargs -P "$JOBS" -I{} sh -c '
	o="$OUT/obj/$(echo {} | tr / _ | sed "s/\.c$/.o/")"
	exec $CC $CFLAGS -fsanitize=fuzzer-no-link -c {} -o "$o"'
OBJS=$(ls "$OUT"/obj/*.o)

for t in tests/fuzz/fuzz_*.c; do
	name=$(basename "$t" .c)
	echo "  LINK $OUT/$name"
	$CC $CFLAGS -fsanitize=fuzzer "$t" $OBJS $LIBS -o "$OUT/$name"
done
