#!/bin/sh
# Regenerate the golden .expect files of tests/vectors/dkim/ from the
# current hanko (`make vectors-update`). Never run by the tests: review the
# diff (git diff tests/vectors) before committing it.
#
#   sh tests/vectors-update.sh [HANKO]
#
# Each vector NNN-name.eml is verified with the fixed zone and time that
# tests/sh/cli_vectors.sh uses, plus the options in NNN-name.args.
TOP=$(cd "$(dirname "$0")/.." && pwd)
HANKO=${1:-$TOP/build/release/hanko}
VERIFY_TIME=1700003600	# keep in step with tests/sh/cli_vectors.sh
cd "$TOP/tests/vectors/dkim" || exit 1
[ -x "$HANKO" ] || { echo "vectors-update: no $HANKO; build it first" >&2; exit 1; }
n=0
for eml in [0-9][0-9][0-9]-*.eml; do
	v=${eml%.eml}
	args=$(cat "$v.args" 2>/dev/null)
	# shellcheck disable=SC2086 # args are words on purpose
	"$HANKO" verify --dns-zone keys.zone --time "$VERIFY_TIME" \
	    --authserv-id test.example $args "$eml" >"$v.expect.new" 2>/dev/null
	rc=$?
	if [ "$rc" -gt 1 ] && [ "$rc" -ne 75 ]; then
		echo "vectors-update: $eml: hanko exited $rc; kept the old .expect" >&2
		rm -f "$v.expect.new"
		continue
	fi
	if cmp -s "$v.expect.new" "$v.expect"; then
		rm -f "$v.expect.new"
	else
		mv "$v.expect.new" "$v.expect"
		echo "updated $v.expect"
	fi
	n=$((n + 1))
done
echo "vectors-update: $n vectors checked"
