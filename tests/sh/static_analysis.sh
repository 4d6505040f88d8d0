# Static analysis gates: cppcheck and clang-tidy (the checks in .clang-tidy,
# warnings are errors) over core/, io/ and tools/, a clang -Werror compile
# with the Makefile's warning set, the header-standalone and layering
# checks. Any new finding fails the suite.
. "$(dirname "$0")/../lib.sh"

[ "${CONFIG:-release}" = release ] || skip_all "runs once, with the release suites"
cd "$TOP" || exit 1
CFLAGS_TIDY="-std=c17 -D_GNU_SOURCE -I. $(pkg-config --cflags libcrypto ldns libxml-2.0)"

if command -v cppcheck >/dev/null; then
	check "cppcheck: no findings" sh -c 'cppcheck --quiet --error-exitcode=1 \
	    --enable=warning,portability,performance --inline-suppr --std=c11 \
	    -I. core io tools'
else
	echo "# cppcheck not installed"
fi
if command -v clang-tidy >/dev/null; then
	for f in core/*.c io/*.c tools/*.c; do echo "$f"; done |
	    xargs -P 2 -n 6 sh -c 'clang-tidy --quiet "$@" -- '"$CFLAGS_TIDY"' \
	    >"$0.$$.out" 2>&1 || cat "$0.$$.out"; rm -f "$0.$$.out"' "$T/tidy" \
	    >"$T/tidy.all"
	check "clang-tidy: no findings" sh -c "! grep -E 'warning:|error:' '$T/tidy.all'"
	grep -E 'warning:|error:' "$T/tidy.all" | head -20 | sed 's/^/#   /'
else
	echo "# clang-tidy not installed"
fi
# The Makefile's warning set with clang too, as errors (make test builds
# with gcc and -Werror).
if command -v clang >/dev/null; then
	WARN=$(sed -n '/^WARN\t:=/,/[^\\]$/p' Makefile | sed 's/^WARN\t:=//; s/\\$//' | tr -s ' \t\n' ' ')
	for f in core/*.c io/*.c tools/*.c; do echo "$f"; done |
	    xargs -P 2 -n 8 sh -c 'for f; do clang -std=c17 -D_GNU_SOURCE \
	    -fsyntax-only -Werror -Wcast-align '"$WARN"' -I. \
	    $(pkg-config --cflags libcrypto ldns libxml-2.0 2>/dev/null) "$f" || echo "FAILED $f"; done' \
	    sh >"$T/clang.out" 2>&1
	check "clang $(clang --version | sed -n 's/.*version \([0-9.]*\).*/\1/p;q'): no warnings with -Werror" \
	    sh -c "! grep -q 'FAILED\|warning:\|error:' '$T/clang.out'"
	grep -E 'warning:|error:' "$T/clang.out" | head -10 | sed 's/^/#   /'
else
	echo "# clang not installed"
fi
check "every header compiles on its own" sh tests/check-headers.sh cc \
    "-std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -I. $(pkg-config --cflags libcrypto ldns libxml-2.0)"
check "core/ is pure and dependencies point down" sh tests/check-layering.sh
finish
