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

# interop_keys: hanko_keys in KEYS=$T/keys, their records in ZONE; a
# keygen failure ends the suite.
interop_keys() {
	KEYS=$T/keys
	hanko_keys "$KEYS" || { nok "hanko keygen"; finish; exit; }
	ZONE=$KEYS/zone
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

# --- the shared two-way run ------------------------------------------------
# A suite sets PEER (its name in the test names) and defines:
#   peer_verify KEYS FILE...    verify every FILE, keys from KEYS (the zone
#                               in whatever form the peer reads), printing
#                               the lines peer_result reads
#   peer_sign ALG A CANON DIR   sign every $MSGS/*.eml with $KEYS/ALG.private
#                               (selector ALG, algorithm A: rsa or ed25519)
#                               into DIR/NAME.eml
# and may redefine peer_skip ALG DIR NAME (true: leave that peer-signed
# message out; interop_peer_to_hanko counts it in $skipped).
peer_skip() { false; }

# interop_rfc8463 KEYS: harness sanity, the peer verifies the RFC 8463
# example (rsa + ed25519) and rejects a tampered copy; KEYS is the RFC's
# keys.zone in the peer's form.
interop_rfc8463() {
	peer_verify "$1" "$RFC8463/signed.eml" >"$T/r.out" 2>&1
	peer_result "$PEER verifies the RFC 8463 example (rsa + ed25519)" pass "$RFC8463/signed.eml" "$T/r.out"
	tamper_body "$RFC8463/signed.eml" "$T/rfc8463-tampered.eml"
	peer_verify "$1" "$T/rfc8463-tampered.eml" >"$T/r.out" 2>&1
	peer_result "$PEER rejects the tampered RFC 8463 example" fail "$T/rfc8463-tampered.eml" "$T/r.out"
}

# interop_hanko_to_peer KEYS: hanko signs every message with both keys in
# every canonicalization; the peer (one run, startup dominates otherwise)
# must pass them and fail their body- and header-tampered copies.
interop_hanko_to_peer() {
	_h2p=$T/h2p
	for _alg in rsa ed; do
		for _c in $CANONS; do
			hanko_sign_all "$_h2p/$_alg-$(cslug "$_c")" "$_alg" "$_alg" "$_c"
		done
	done
	for _f in "$_h2p"/*/*.eml; do
		tamper_body "$_f" "${_f%.eml}.tbody"
		tamper_header "$_f" "${_f%.eml}.thdr"
	done
	peer_verify "$1" "$_h2p"/*/*.eml "$_h2p"/*/*.tbody "$_h2p"/*/*.thdr \
	    >"$T/h2p.out" 2>&1
	for _alg in rsa ed; do
		for _c in $CANONS; do
			_d=$_h2p/$_alg-$(cslug "$_c")
			for _m in "$MSGS"/*.eml; do
				_n=$(basename "$_m" .eml)
				peer_result "hanko->$PEER $_alg $_c $_n" pass "$_d/$_n.eml" "$T/h2p.out"
				peer_result "hanko->$PEER $_alg $_c $_n: body tamper rejected" fail "$_d/$_n.tbody" "$T/h2p.out"
				peer_result "hanko->$PEER $_alg $_c $_n: header tamper rejected" fail "$_d/$_n.thdr" "$T/h2p.out"
			done
		done
	done
}

# interop_peer_to_hanko ZONE: the peer signs every message with both keys in
# every canonicalization; hanko must pass them and fail their body- and
# header-tampered copies.
interop_peer_to_hanko() {
	skipped=0
	for _alg in rsa ed; do
		_a=rsa; [ "$_alg" = ed ] && _a=ed25519
		for _c in $CANONS; do
			_d=$T/p2h/$_alg-$(cslug "$_c")
			mkdir -p "$_d"
			peer_sign "$_alg" "$_a" "$_c" "$_d" >"$T/.out" 2>&1 ||
			    { nok "$PEER sign $_alg $_c"; sed 's/^/#   /' "$T/.out" | head -5; }
			for _m in "$MSGS"/*.eml; do
				_n=$(basename "$_m" .eml)
				if peer_skip "$_alg" "$_d" "$_n"; then
					skipped=$((skipped + 1))
					continue
				fi
				hanko_verifies "$PEER->hanko $_alg $_c $_n" "$_d/$_n.eml" "$1"
				tamper_body "$_d/$_n.eml" "$_d/$_n.tbody"
				hanko_rejects "$PEER->hanko $_alg $_c $_n: body tamper rejected" "$_d/$_n.tbody" "$1"
				tamper_header "$_d/$_n.eml" "$_d/$_n.thdr"
				hanko_rejects "$PEER->hanko $_alg $_c $_n: header tamper rejected" "$_d/$_n.thdr" "$1"
			done
		done
	done
}

# --- header fields only, no empty line (RFC 5322 §3.5) ----------------------
# add_body IN OUT: IN with an empty line and a body line after its fields.
add_body() {
	{ cat "$1"; [ -z "$(tail -c1 "$1" | tr -d '\n')" ] || printf '\r\n'
	  printf '\r\nadded body\r\n'; } >"$2"
}

# interop_fields_only ZONE ALG: messages of header fields alone, whose body
# is empty (its hash is that of CRLF with simple, RFC 6376 §3.4.3, of
# nothing with relaxed, §3.4.4), in CRLF, bare LF and with a last line
# lacking its line ending; signed by each side with key ALG in every
# canonicalization and verified by the other. Adding a body must fail.
# The suite defines peer_sign_files ALG CANON OUTDIR FILE... besides
# peer_verify.
interop_fields_only() {
	_ho=$T/ho
	mkdir -p "$_ho/in" "$_ho/h" "$_ho/p"
	printf 'From: a@example.org\r\nTo: b@example.net\r\nSubject: fields only\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n' >"$_ho/in/crlf.eml"
	printf 'From: a@example.org\nTo: b@example.net\nSubject: fields only\n' >"$_ho/in/lf.eml"
	printf 'From: a@example.org\r\nSubject: fields only' >"$_ho/in/noeol.eml"
	for _c in $CANONS; do
		_s=$(cslug "$_c")
		mkdir -p "$_ho/p/$_s"
		peer_sign_files "$2" "$_c" "$_ho/p/$_s" "$_ho/in"/*.eml \
		    >"$T/.out" 2>&1 ||
		    { nok "$PEER sign fields only $_c"; sed 's/^/#   /' "$T/.out"; }
		for _m in "$_ho/in"/*.eml; do
			_n=$(basename "$_m" .eml)
			_h=$_ho/h/$_s-$_n
			"$HANKO" sign -d "$DOMAIN" -s "$2" -k "$KEYS/$2.private" \
			    -c "$_c" <"$_m" >"$_h.eml" 2>"$T/.err" ||
			    { nok "hanko sign fields only $_c $_n"; sed 's/^/#   /' "$T/.err"; }
			add_body "$_h.eml" "$_h.tbody"
			_p=$_ho/p/$_s/$_n
			hanko_verifies "$PEER->hanko fields only $_c $_n" "$_p.eml" "$1"
			add_body "$_p.eml" "$_p.tbody"
			hanko_rejects "$PEER->hanko fields only $_c $_n: added body rejected" \
			    "$_p.tbody" "$1"
		done
	done
	peer_verify "$1" "$_ho"/h/*.eml "$_ho"/h/*.tbody >"$T/ho.out" 2>&1
	for _f in "$_ho"/h/*.eml; do
		_n=$(basename "$_f" .eml)
		peer_result "hanko->$PEER fields only $_n" pass "$_f" "$T/ho.out"
		peer_result "hanko->$PEER fields only $_n: added body rejected" fail \
		    "$_ho/h/$_n.tbody" "$T/ho.out"
	done
}
