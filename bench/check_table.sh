#!/bin/sh
# hanko check --key-table over N Ed25519 keys (one signing domain each)
# against NSD on loopback through --resolver: every key's record is asked
# in one asynchronous pass and compared with its private key.
#
#   sh bench/check_table.sh [N]        (default 10000)
#
# Runs twice: keys as PEM (PKCS#8) files and as base64 Ed25519 seeds
# (RFC 8463 Appendix A). Prints the key generation time, the audit's wall
# time, keys per second and the time extrapolated to 100,000 keys, and
# checks that every key audited as a match. The two should be close:
# Ed25519 PEM keys are read from their seed (core/dkim_key.c), not
# through OpenSSL 3's decoder, which costs about 1 ms a key. HANKO picks the binary (default build/release).
# Needs nsd and drill; builds nothing (run make first).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-10000}
HANKO=${HANKO:-$TOP/build/release/hanko}
GEN=${GEN:-$TOP/build/release/bench/gen_check_keys}
W=$(mktemp -d "${TMPDIR:-/tmp}/hanko-bench-check.XXXXXX")
trap '"$TOP/tests/check/nsd.sh" stop "$W/nsd" >/dev/null 2>&1; rm -rf "$W"' EXIT
now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

run() {	# run FORMAT GENFLAGS
	rm -rf "$W/k"
	t0=$(now)
	"$GEN" -o "$W/k" -n "$N" $2 || exit 1
	t1=$(now)
	echo "$1: generated $N Ed25519 keys and records in $(dt "$t0" "$t1") s"
	"$TOP/tests/check/nsd.sh" stop "$W/nsd" >/dev/null 2>&1
	PORT=$(HANKO_DNS_OWNER=$$ "$TOP/tests/check/nsd.sh" start "$W/nsd" \
	    bench.example "$W/k/zone") || exit 1
	t2=$(now)
	"$HANKO" check --resolver "127.0.0.1@$PORT" --json \
	    --key-table "$W/k/KeyTable" \
	    --signing-table "refile:$W/k/SigningTable" >"$W/out" 2>"$W/err"
	st=$?
	t3=$(now)
	match=$(grep -c '"code":"dkim-key-match"' "$W/out")
	lines=$(wc -l <"$W/out")
	secs=$(dt "$t2" "$t3")
	echo "$1: audited $lines domains, $match key matches, exit $st," \
	    "in $secs s ($(awk -v n="$N" -v s="$secs" \
	    'BEGIN { printf "%.0f", n / s }') keys/s; 100,000 keys: about" \
	    "$(awk -v n="$N" -v s="$secs" \
	    'BEGIN { printf "%.0f", s * 100000 / n }') s)"
	[ "$match" -eq "$N" ] && [ "$st" -eq 0 ] || {
		echo "not every key matched:"; head -5 "$W/err"; exit 1; }
}
run pem ""
run seed -s
