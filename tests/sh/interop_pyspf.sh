#!/bin/sh
# Interop with pyspf (Debian python3-spf 2.0.14, run by /usr/bin/python3):
# hanko spf and pyspf evaluate the same queries over the same master files.
#
# 1. Harness check: pyspf, answering from the zones tests/spf/yml2zone.py
#    makes of the RFC 7208 suite (through the zone reader of
#    tests/spf/pyspf_compare.py, which follows io/zone.c's rules), passes
#    the suite; so the converter and the zone reader keep the suite's data.
# 2. A seeded random corpus (tests/spf/pyspf_compare.py random: 60 zones,
#    720 queries): results must agree, and explanations where both give
#    fail with an exp= text. A difference is explained only when pyspf
#    with one (or a pair) of the named corrections of documented pyspf
#    departures from RFC 7208 gives hanko's verdict (FIXES in
#    pyspf_compare.py: void lookups per term, MX order, ptr DNS errors,
#    repeated unknown modifiers, %{d0}, include of the own domain, ...);
#    the count of each is printed. Unexplained differences must be 0.
#    Runs in about 20 s (720 hanko processes, 4 at a time).
#
# Reproduce a reported case: the "#   hanko spf ..." line gives the command
# (zones under $T/r, kept with KEEP=DIR), and
#   /usr/bin/python3 tests/spf/pyspf_compare.py one ZONE IP MAILFROM HELO
# gives pyspf's verdict. SEED, WORLDS, PER_WORLD change the corpus;
# MINIMIZE=1 shrinks each disagreement's zone.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
CMP=$TOP/tests/spf/pyspf_compare.py
[ -x "$PY" ] || skip_all "no $PY"
"$PY" -c 'import spf, yaml' 2>/dev/null ||
    skip_all "python3-spf and python3-yaml not importable by $PY"

SUITE=$SHARED/spf/rfc7208-tests.yml
if [ -f "$SUITE" ]; then
	if "$PY" "$TOP/tests/spf/yml2zone.py" "$SUITE" "$T/z" 2>/dev/null; then
		"$PY" "$CMP" suite "$T/z" >"$T/suite.out" 2>&1 ||
			nok "pyspf_compare.py suite: $(tail -1 "$T/suite.out")"
		tab_report <"$T/suite.out"
	else
		nok "yml2zone.py converts $SUITE"
	fi
else
	echo "# no RFC 7208 suite at $SUITE: harness check skipped"
fi

W=${KEEP:-$T/r}
"$PY" "$CMP" random "$HANKO" "$W" --seed "${SEED:-7208}" \
    --worlds "${WORLDS:-60}" --per-world "${PER_WORLD:-12}" \
    ${MINIMIZE:+--minimize} >"$T/random.out" 2>&1 ||
	nok "pyspf_compare.py random: $(tail -1 "$T/random.out")"
tab_report <"$T/random.out"

finish
