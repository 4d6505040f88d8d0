# Shared helpers for tests/sh/interop_*.sh (sourced after tests/lib.sh).
# Needs TOP, HANKO and T from lib.sh.

IOP=$TOP/tests/interop
MSGS=$IOP/msgs
CANONS="simple/simple simple/relaxed relaxed/simple relaxed/relaxed"
DOMAIN=example.org
RFC8463=$SHARED/rfc8463
RFC8463_TIME=1528637909
LC_ALL=C
export LC_ALL

# cslug H/B: "simple/relaxed" -> "simple-relaxed" (for file names)
cslug() { echo "$1" | tr / -; }

# hdr_names FILE: colon-separated names of every header field of FILE, in
# order (duplicates kept), for hanko sign --headers: sign them all, so the
# header canonicalization of every field (X-* included) is exercised.
hdr_names() {
	awk '{ sub(/\r$/, "") } /^$/ { exit }
	     /^[^ \t]/ { i = index($0, ":"); if (i > 1)
	         n = n (n == "" ? "" : ":") substr($0, 1, i - 1) }
	     END { print n }' "$1"
}

# eol FILE: the line ending FILE uses ("\r\n" unless it has no CR at all).
eol() { if grep -q "$(printf '\r')" "$1"; then printf '\r\n'; else printf '\n'; fi; }

# tamper_body IN OUT: append a line to the body (breaks bh= in every canon).
tamper_body() { { cat "$1"; printf 'tampered'; eol "$1"; } >"$2"; }

# tamper_header IN OUT: change the (signed) Subject field's value.
tamper_header() { sed 's/^Subject:/Subject: Re:/' "$1" >"$2"; }

# hanko_keys DIR: per-run keys DIR/rsa.private (RSA 2048) and DIR/ed.private
# (Ed25519) for d=$DOMAIN, selectors "rsa" and "ed", and DIR/zone holding
# both public-key records.
hanko_keys() {
	mkdir -p "$1" &&
	"$HANKO" keygen -d "$DOMAIN" -s rsa -a rsa -o "$1" >/dev/null &&
	"$HANKO" keygen -d "$DOMAIN" -s ed -a ed25519 -o "$1" >/dev/null &&
	cat "$1/rsa.txt" "$1/ed.txt" >"$1/zone"
}

# hanko_sign_all OUTDIR SEL ALG CANON: sign every message in $MSGS with
# hanko (all header fields signed); OUTDIR/NAME.eml. Failures are reported
# as "not ok" (the peer's verify of the missing file then fails too).
hanko_sign_all() {
	mkdir -p "$1"
	for _m in "$MSGS"/*.eml; do
		_o=$1/$(basename "$_m")
		if ! "$HANKO" sign -d "$DOMAIN" -s "$2" -k "$KEYS/$2.private" \
		    -c "$4" --headers "$(hdr_names "$_m")" <"$_m" >"$_o" 2>"$T/.err"
		then
			nok "hanko sign $3 $4 $(basename "$_m")"
			sed 's/^/#   /' "$T/.err" | head -5
			rm -f "$_o"
		fi
	done
}

# hanko_verifies NAME FILE ZONE: hanko verify must pass FILE (exit 0, dkim=pass).
hanko_verifies() {
	if "$HANKO" verify --dns-zone "$3" "$2" >"$T/.out" 2>&1 &&
	    grep -q 'dkim=pass' "$T/.out" && ! grep -q 'dkim=fail' "$T/.out"
	then ok "$1"; else nok "$1"; sed 's/^/#   /' "$T/.out" | head -8; fi
}

# hanko_rejects NAME FILE ZONE: hanko verify must not pass FILE (exit 1, dkim=fail).
hanko_rejects() {
	"$HANKO" verify --dns-zone "$3" "$2" >"$T/.out" 2>&1; _rc=$?
	if [ "$_rc" -eq 1 ] && grep -q 'dkim=fail' "$T/.out" &&
	    ! grep -q 'dkim=pass' "$T/.out"
	then ok "$1"; else nok "$1 (exit $_rc)"; sed 's/^/#   /' "$T/.out" | head -8; fi
}

# peer_result NAME WANT FILE OUT: OUT holds a peer's "pass FILE" / "fail FILE
# REASON" lines; the line for FILE must start with WANT.
peer_result() {
	_line=$(grep -F " $3" "$4" | while IFS= read -r _l; do
		case $_l in "pass $3"|"fail $3 "*|"fail $3") echo "$_l" ;; esac
	done | head -1)
	case $_line in
	"$2 "*|"$2") ok "$1" ;;
	"") nok "$1 (no result from peer)" ;;
	*) nok "$1"; echo "#   $_line" | cut -c1-300 ;;
	esac
}
