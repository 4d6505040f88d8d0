# Shared helpers for the shell suites in tests/sh/. Each suite sources this,
# calls ok/nok/check for every assertion and ends with `finish`. Output is
# TAP-like ("ok - name", "not ok - name"), which tests/run.sh counts.
#
# Environment: HANKO (the binary under test), TOP (repo root), SHARED
# (../shared/testsuites), T (a fresh scratch directory, removed on exit).

set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${HANKO:=$TOP/build/release/hanko}"
: "${SHARED:=$TOP/../shared/testsuites}"
T=$(mktemp -d "${TMPDIR:-/tmp}/hanko-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
_pass=0
_fail=0
_suite=$(basename "$0" .sh)

ok() { _pass=$((_pass + 1)); echo "ok - $*"; }
nok() { _fail=$((_fail + 1)); echo "not ok - $*"; }

# check NAME CMD...: passes when CMD exits 0.
check() {
	_name=$1; shift
	if "$@" >"$T/.out" 2>&1; then ok "$_name"; else
		nok "$_name"; sed 's/^/#   /' "$T/.out" | head -20; fi
}

# check_exit NAME CODE CMD...: passes when CMD exits with CODE.
check_exit() {
	_name=$1; _want=$2; shift 2
	"$@" >"$T/.out" 2>&1; _got=$?
	if [ "$_got" -eq "$_want" ]; then ok "$_name"; else
		nok "$_name (exit $_got, want $_want)"
		sed 's/^/#   /' "$T/.out" | head -20; fi
}

# tab_report < lines: a helper script's "ok<TAB>NAME" and
# "fail<TAB>NAME<TAB>DETAIL[<TAB>DETAIL...]" lines become assertions (each
# detail on its own "#   " line); any other line passes through.
tab_report() {
	_tab=$(printf '\t')
	while IFS= read -r _l; do
		case $_l in
		"ok$_tab"*) ok "${_l#ok$_tab}" ;;
		"fail$_tab"*)
			_r=${_l#fail$_tab}
			nok "${_r%%$_tab*}"
			_r=${_r#*$_tab}
			echo "$_r" | tr '\t' '\n' | sed 's/^/#   /' ;;
		*) echo "$_l" ;;
		esac
	done
}

# skip_all REASON: the suite cannot run here (counts as nothing).
skip_all() { echo "# $_suite: skipped: $*"; exit 77; }

finish() {
	echo "# $_suite: $_pass passed, $_fail failed"
	[ "$_fail" -eq 0 ]
}
