#!/bin/sh
# Interop with libopendmarc (OpenDMARC 1.4.2 in Debian 12): hanko dmarc
# --rfc7489 against an independent RFC 7489 implementation, on a fixed
# corpus of a few hundred cases built by tests/dmarc/interop_gen.py:
# From domains under one- and two-label public suffixes and a private one
# (com, org, net, co.uk, com.au, github.io), at the Organizational Domain
# or below it; DMARC records at the author domain, the Organizational
# Domain, both or neither, with random p/sp/adkim/aspf (pct=100 or absent:
# the library leaves pct= sampling to its milter); zero to two DKIM
# signatures whose d= is the From domain, its Organizational Domain, a
# child, a sibling, another Organizational Domain under the same suffix,
# an unrelated domain or the public suffix itself, each passing (really
# signed with hanko sign) or failing (signed with a key the zone does not
# publish); and an SPF pass, fail or none for a MAIL FROM domain in the
# same relations.
#
# hanko reads the messages, envelope sidecars and one zone in a single
# batch run. tests/dmarc/opendmarc_tool.c, compiled here, feeds the same
# records (as libopendmarc fake DNS answers, so policy discovery and the
# Organizational Domain are the library's own, from the same public
# suffix list file) and the intended DKIM/SPF results to libopendmarc.
# tests/dmarc/interop_compare.py compares the policy outcome (pass, none,
# quarantine, reject, absent) and both alignment flags, and checks hanko
# against a model of RFC 7489 built from what the generator knows.
#
# Disagreements are accepted only when hanko gives the RFC answer and
# libopendmarc's answer is reproduced by a model of its known departures
# from RFC 7489 (see KNOWN in interop_compare.py): strict alignment of a
# subdomain under a From domain that is its own Organizational Domain;
# relaxed alignment of a public suffix above the From domain; a DKIM pass
# forgotten when a later aligned signature fails; and one-letter labels
# dropped when names are reversed. Each category is counted; nothing else
# may differ.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
D=$TOP/tests/dmarc
PSL=/usr/share/publicsuffix/public_suffix_list.dat
[ -x "$PY" ] || skip_all "no $PY"
[ -r "$PSL" ] || skip_all "no $PSL (Debian package publicsuffix)"
command -v cc >/dev/null 2>&1 || skip_all "no C compiler"
[ -r /usr/include/opendmarc/dmarc.h ] || skip_all "libopendmarc-dev not installed"
ODT=$T/opendmarc_tool
cc -std=gnu17 -O1 -o "$ODT" "$D/opendmarc_tool.c" -lopendmarc \
    >"$T/cc.out" 2>&1 ||
    { nok "build opendmarc_tool"; sed 's/^/#   /' "$T/cc.out" | head; finish; exit; }

# Two Ed25519 keys: "good" signs everything and is published as s1;
# "bad" is published as the bad selector, so bad= signatures fail.
mkdir "$T/keys"
"$HANKO" keygen -d interop.example -s good -a ed25519 -o "$T/keys" >/dev/null &&
"$HANKO" keygen -d interop.example -s bad -a ed25519 -o "$T/keys" >/dev/null ||
    { nok "hanko keygen"; finish; exit; }

N=${DMARC_INTEROP_CASES:-300}
C=$T/corpus
check "generate $N cases (messages signed with hanko sign)" \
    "$PY" "$D/interop_gen.py" "$HANKO" "$T/keys" "$C" "$N"

"$HANKO" dmarc --dns-zone "$C/zone" --rfc7489 --psl "$PSL" \
    --envelope-dir "$C/env" --json --authserv-id interop.example -j 2 \
    "$C/msgs" >"$T/hanko.json" 2>"$T/hanko.err"
rc=$?
check "hanko dmarc: exit 0 or 1 (no tempfail, no usage error)" \
    sh -c "[ $rc -eq 0 ] || [ $rc -eq 1 ]"
check "hanko dmarc: nothing on stderr" test ! -s "$T/hanko.err"
"$ODT" -t "$PSL" -r "$C/records.tsv" "$C/cases.tsv" >"$T/od.tsv" 2>"$T/od.err"
check "opendmarc_tool ran" test $? -eq 0 -a ! -s "$T/od.err"

(cd "$D" && "$PY" -B interop_compare.py "$C/meta.json" "$T/hanko.json" \
    "$T/od.tsv") >"$T/cmp" 2>&1
count() { sed -n "s/^count $1 //p" "$T/cmp"; }
grep -v '^count ' "$T/cmp" | sed 's/^/# /' | head -40
check "hanko: one result per case ($(count hanko)/$N)" test "$(count hanko)" = "$N"
check "libopendmarc: one result per case ($(count opendmarc)/$N)" \
    test "$(count opendmarc)" = "$N"
check "hanko: every DKIM result as signed ($(count dkim_results_ok)/$N)" \
    test "$(count dkim_results_ok)" = "$N"
check "hanko: RFC 7489 model on every case ($(count model_ok)/$N)" \
    test "$(count model_ok)" = "$N"
agree=$(count agree)
expl=$(count explained)
echo "# agree $agree, explained $expl of $N"
for k in strict-org-match ancestor-across-suffix dkim-pass-dropped \
    one-letter-label; do
	echo "# known difference $k: $(count "$k") cases"
done
check "hanko and libopendmarc agree or differ only as explained" \
    test "$((agree + expl))" = "$N"
check "no unexplained disagreement" test "$(count unexplained)" = 0
# The corpus exercises what it claims to: most cases agree outright, and
# every category of known difference really occurs.
check "most cases agree outright ($agree)" test "$agree" -ge $((N * 3 / 4))
for k in strict-org-match ancestor-across-suffix dkim-pass-dropped \
    one-letter-label; do
	check "known difference $k occurs" test "$(count "$k")" -gt 0
done

finish
