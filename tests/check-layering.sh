#!/bin/sh
# core/ is pure (STYLE.md rule 1): only the allowed headers, no I/O, no
# allocation, no clocks or environment. The SIMD scanners also need the
# compiler's intrinsic headers.
fail=0
allowed='stddef.h|stdint.h|stdbool.h|string.h|limits.h|assert.h|stdarg.h|stdio.h|openssl/[a-z0-9_]+\.h|libpsl.h'
simd='emmintrin.h|immintrin.h'
for f in core/*.c core/*.h; do
	grep -nE '^#include <' "$f" | grep -vE "<($allowed)>" |
	    grep -vE "<($simd)>" | sed "s|^|$f: forbidden include: |" |
	    grep . && fail=1
	grep -nE '#include "(\.\./)?(io|tools)/' "$f" && fail=1
	grep -nE '\b(malloc|calloc|realloc|free|printf|fprintf|puts|fopen|exit|abort|time|getenv|open|read|write)[[:space:]]*\(' "$f" |
	    grep -vE '^[0-9]+:[[:space:]]*(/\*|\*)' |
	    grep -vE '(snprintf|->free|_free|_read|_write|_open|_time)\(' |
	    sed "s|^|$f: forbidden call: |" | grep . && fail=1
done
for f in io/*.c io/*.h; do
	grep -nE '#include "(\.\./)?tools/' "$f" && fail=1
done
[ $fail -eq 0 ] && echo "layering: core/ is pure, dependencies point down"
exit $fail
