#!/bin/sh
# hanko verify: --json output, directory and stdin input, several messages
# in one run, exit codes 0/1/75/66.
. "$(dirname "$0")/../lib.sh"

V=$TOP/tests/vectors/dkim
ZONE=$V/keys.zone
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no $PY"
vfy() { "$HANKO" verify --dns-zone "$ZONE" --time 1700003600 \
	--authserv-id test.example "$@"; }

PASS=$V/006-pass-ed-relaxed-relaxed.eml
DUAL=$V/024-dual-json.eml
FAIL=$V/010-fail-body-tamper.eml
TEMP=$V/014-temperror.eml
NONE=$V/025-unsigned.eml

# --- --json -----------------------------------------------------------------
vfy --json "$DUAL" >"$T/j" 2>"$T/err"
check "json: exit 0 on pass" test $? -eq 0
check "json: one line per message" test "$(wc -l <"$T/j")" -eq 1
check "json: valid JSON (json.tool)" sh -c "$PY -m json.tool <'$T/j' >/dev/null"
cat >"$T/fields.py" <<'PY'
import json, sys
want_res = sys.argv[1].split(",")
for n, line in enumerate(sys.stdin):
    o = json.loads(line)
    for k in ("file", "error", "dkim", "authentication_results"):
        assert k in o, "missing " + k
    assert o["authentication_results"].startswith(
        "Authentication-Results: test.example;"), o["authentication_results"]
    assert "\n" not in o["authentication_results"]
    got = [r["result"] for r in o["dkim"]]
    assert got == want_res[n].split("+") if want_res[n] else got == [], got
    for r in o["dkim"]:
        for k in ("result", "d", "s", "a", "b", "key_bits", "testing"):
            assert k in r, "result lacks " + k
        assert isinstance(r["key_bits"], int)
        assert isinstance(r["testing"], bool)
        assert "dkim=" + r["result"] in o["authentication_results"]
assert n + 1 == len(want_res), "%d objects" % (n + 1)
PY
check "json: fields and results (dual pass)" sh -c \
    "$PY '$T/fields.py' pass+pass <'$T/j'"
check "json: d= and a=" sh -c "$PY -c '
import json,sys; o=json.load(sys.stdin)
assert [r[\"d\"] for r in o[\"dkim\"]] == [\"hanko.example\"]*2
assert [r[\"a\"] for r in o[\"dkim\"]] == [\"rsa-sha256\", \"ed25519-sha256\"]
assert [r[\"key_bits\"] for r in o[\"dkim\"]] == [2048, 256]
assert o[\"file\"].endswith(\"024-dual-json.eml\")' <'$T/j'"
check "json: nothing on stderr" test ! -s "$T/err"
vfy --json "$PASS" "$FAIL" "$NONE" "$TEMP" >"$T/j" 2>/dev/null
check_exit "json: several files, exit 75 (temperror, no pass)" 75 \
    vfy --json "$TEMP"
check "json: one object per line, results in order" sh -c \
    "$PY '$T/fields.py' pass,fail,,temperror <'$T/j'"
check "json: every line is valid JSON" sh -c \
    "while IFS= read -r l; do printf '%s' \"\$l\" | $PY -m json.tool >/dev/null || exit 1; done <'$T/j'"
printf 'no separator, no colon' | vfy --json >"$T/j" 2>/dev/null
check "json: malformed message: error set, valid JSON" sh -c "$PY -c '
import json,sys; o=json.load(sys.stdin); assert o[\"error\"]
assert \"permerror\" in o[\"authentication_results\"]' <'$T/j'"
sed '1s/d=hanko.example;/d=a\\"b;/' "$PASS" >"$T/q.eml"
vfy --json "$T/q.eml" >"$T/j" 2>/dev/null
check "json: quote and backslash in d= stay valid JSON" \
    sh -c "$PY -m json.tool <'$T/j' >/dev/null"

# --- several messages, directories, stdin -------------------------------
vfy "$PASS" "$PASS" "$DUAL" "$PASS" >"$T/o" 2>&1
check "several files in one run: all pass (state reset per message)" \
    test "$(grep -c 'dkim=pass' "$T/o")" -eq 5
check "several files: no other result" sh -c "! grep -q 'dkim=[^p]' '$T/o'"
check "several files: a '# path' line each" test "$(grep -c '^# ' "$T/o")" -eq 4
mkdir "$T/d"
cp "$FAIL" "$T/d/b.eml"; cp "$PASS" "$T/d/a.eml"; cp "$DUAL" "$T/d/c.eml"
cp "$NONE" "$T/d/10.eml"
vfy "$T/d" >"$T/o" 2>&1
check "dir: exit 1 (some message without a pass)" test $? -eq 1
# Workers verify a directory concurrently: results are tagged, not ordered.
check "dir: one '# path' line per file" test \
    "$(grep '^# ' "$T/o" | LC_ALL=C sort | tr '\n' ' ')" = \
    "# $T/d/10.eml # $T/d/a.eml # $T/d/b.eml # $T/d/c.eml "
check "dir: one A-R per file" test "$(grep -c '^Authentication-Results:' "$T/o")" -eq 4
awk '/^# /{f=$2} /dkim=/{print f, $0}' "$T/o" >"$T/map"
check "dir: a.eml passes" grep -q "a.eml.*dkim=pass" "$T/map"
check "dir: b.eml fails" grep -q "b.eml.*dkim=fail" "$T/map"
check "dir: 10.eml none" grep -q "10.eml.*dkim=none" "$T/map"
rm "$T/d/b.eml" "$T/d/10.eml"
check_exit "dir: all pass: exit 0" 0 vfy "$T/d"
# Nothing verified is not "everything passed": a directory without a
# message says so on stderr and exits 66 (EX_NOINPUT).
mkdir "$T/empty"
vfy "$T/empty" >"$T/o" 2>"$T/e"; rc=$?
check "empty dir: no A-R" sh -c "! grep -q Authentication-Results '$T/o'"
check "empty dir: exit 66" test "$rc" -eq 66
check "empty dir: said on stderr" grep -q "empty.*no message\|no message.*empty" "$T/e"
mkdir "$T/skipped" "$T/skipped/sub"
cp "$PASS" "$T/skipped/.hidden.eml"; cp "$PASS" "$T/skipped/sub/a.eml"
vfy "$T/skipped" >"$T/o" 2>"$T/e"; rc=$?
check "dir whose every entry is skipped: exit 66, said on stderr" \
    sh -c "[ $rc -eq 66 ] && grep -q 'no message' '$T/e' && [ ! -s '$T/o' ]"
check_exit "dir with messages, then an empty dir: exit 66" 66 \
    vfy "$T/d" "$T/empty"
check_exit "dmarc: empty dir: exit 66" 66 \
    "$HANKO" dmarc --dns-zone "$ZONE" --authserv-id t "$T/empty"
vfy <"$PASS" >"$T/o" 2>&1
check "stdin: exit 0" test $? -eq 0
check "stdin: pass" grep -q 'dkim=pass' "$T/o"
check "stdin: no '# path' line" sh -c "! grep -q '^# ' '$T/o'"
vfy - <"$FAIL" >"$T/o" 2>&1
check "stdin as '-': fail, exit 1" sh -c "[ $? -eq 1 ] && grep -q dkim=fail '$T/o'"
check "A-R starts with the authserv-id" grep -q '^Authentication-Results: test.example;' "$T/o"
check "A-R: header.d header.s header.b" \
    grep -q 'header.d=hanko.example .*header.s=rsa .*header.b=' "$T/o"

# --- exit codes -------------------------------------------------------------
check_exit "exit 0: pass" 0 vfy "$PASS"
check_exit "exit 1: fail" 1 vfy "$FAIL"
check_exit "exit 1: unsigned" 1 vfy "$NONE"
check_exit "exit 75: temperror only" 75 vfy "$TEMP"
check_exit "exit 0: temperror next to a pass in one message" 0 sh -c \
    "cat '$TEMP' | sed -n '/^DKIM-Signature/,/^From:/p' | sed '\$d' >'$T/t2'; cat '$T/t2' '$PASS' >'$T/both.eml'; \"\$0\" verify --dns-zone '$ZONE' --time 1700003600 '$T/both.eml'" "$HANKO"
check_exit "exit 1: pass file + fail file" 1 vfy "$PASS" "$FAIL"
check_exit "exit 75: pass file + temperror file" 75 vfy "$PASS" "$TEMP"
check_exit "exit 66: missing file" 66 vfy "$T/no-such-file"
check_exit "exit 66: missing file after a good one" 66 vfy "$PASS" "$T/no-such-file"
check_exit "expired: x= in the past" 1 vfy "$V/017-expired.eml"
check_exit "expired: before x= it passes" 0 "$HANKO" verify --dns-zone "$ZONE" \
    --time 1700000030 "$V/017-expired.eml"
check_exit "unknown option: 64" 64 vfy --bogus "$PASS"
check_exit "--dns-zone missing file: 78" 78 vfy --dns-zone "$T/nozone" "$PASS"
check_exit "--max-size smaller than the message: not a pass" 1 \
    vfy --max-size 100 "$PASS"

# --max-signatures bounds the work per message (12 signatures here).
"$HANKO" verify --dns-zone "$ZONE" --time 1700000000 --authserv-id t \
    --max-signatures 3 "$V/022-too-many-signatures.eml" >"$T/ms.out" 2>&1
check "--max-signatures 3: three results" \
    test "$(grep -c 'dkim=' "$T/ms.out")" -eq 3
check "--max-signatures 3: the rest reported as not checked" \
    grep -q '(9 more signatures not checked)' "$T/ms.out"
check_exit "--max-signatures 0 is a usage error" 64 \
    "$HANKO" verify --dns-zone "$ZONE" --max-signatures 0 "$PASS"

finish
