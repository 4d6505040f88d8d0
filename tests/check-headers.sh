#!/bin/sh
# Every header must compile on its own (STYLE.md "Headers").
CC=$1
CFLAGS=$2
fail=0
for h in core/*.h io/*.h tools/*.h; do
	printf '#include "%s"\n' "$h" |
	    $CC $CFLAGS -x c -fsyntax-only - 2>/tmp/hdr.$$ ||
	    { echo "not standalone: $h"; cat /tmp/hdr.$$; fail=1; }
done
rm -f /tmp/hdr.$$
[ $fail -eq 0 ] && echo "headers: all standalone"
exit $fail
