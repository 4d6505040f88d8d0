#!/bin/sh
# hanko dmarc, end to end: one scenario per DMARC rule, through the CLI
# with --dns-zone and --json, asserting the specific fields each rule
# decides. Keys are made here (hanko keygen) and the zone is built from
# tests/dmarc/scenarios.zone.in plus their records, so every DKIM pass is
# a real signature. RFC 9989 is the default mode; --rfc7489 cases say so.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
D=$TOP/tests/dmarc
PSL=/usr/share/publicsuffix/public_suffix_list.dat
[ -x "$PY" ] || skip_all "no $PY"
"$HANKO" dmarc --help >/dev/null 2>&1 ||
    { nok "hanko dmarc --help"; finish; exit; }

PASS_IP=192.0.2.25     # in every SPF record of the zone
FAIL_IP=198.51.100.7   # in none
M=$T/m
mkdir "$M" "$T/k"

# --- keys and zone ----------------------------------------------------------
"$HANKO" keygen -d example.com -s s1 -a ed25519 -o "$T/k" >/dev/null ||
    { nok "hanko keygen"; finish; exit; }
KEY=$T/k/s1.private
PUB=$(sed 's/^[^"]*"//; s/".*$//' "$T/k/s1.txt")
SIGNERS="example.com mail.example.com news.example.com example.org
    example.net mail.example.net brand.psd.example other.psd.example
    corp.example c.inter.example other.example.co.uk bob.github.io"
{
	cat "$D/scenarios.zone.in"
	for d in $SIGNERS; do
		printf 's1._domainkey.%s. TXT "%s"\n' "$d" "$PUB"
	done
} >"$T/zone"

# mkmsg NAME HEADER [SIGNING-DOMAIN...]: $M/NAME.eml with HEADER (the
# From field or fields, possibly empty) and a fixed rest, then signed by
# each domain in turn.
mkmsg() {
	_n=$1 _h=$2
	shift 2
	{
		[ -n "$_h" ] && printf '%s\n' "$_h"
		printf 'To: r@receiver.example\nSubject: %s\n' "$_n"
		printf 'Date: Thu, 01 Jan 2026 00:00:00 +0000\n'
		printf 'Message-ID: <%s@scenarios.example>\n\nbody of %s\n' "$_n" "$_n"
	} >"$M/$_n.eml"
	for _d; do
		"$HANKO" sign -d "$_d" -s s1 -k "$KEY" --time 1767225600 <"$M/$_n.eml" >"$M/.s" &&
		    mv "$M/.s" "$M/$_n.eml" || nok "sign $_n with d=$_d"
	done
}

dm() {
	"$HANKO" dmarc --dns-zone "$T/zone" --authserv-id mx.test \
	    --time 1767225700 "$@"
}
# run ARGS...: hanko dmarc --json ARGS into $T/j, exit status in $rc.
run() { dm --json "$@" >"$T/j" 2>"$T/e"; rc=$?; }
# want NAME EXIT [N] PATH=VALUE...: the last run exited EXIT and object N
# of its output has those fields (tests/dmarc/jwant.py).
want() {
	_n=$1 _x=$2
	shift 2
	check "$_n" sh -c '[ "$1" = "$2" ] ||
	    { echo "exit $1, want $2"; cat "$3"; exit 1; }
	    shift 3; exec "$@"' - "$rc" "$_x" "$T/e" "$PY" "$D/jwant.py" "$T/j" "$@"
}
env_pass() { echo --ip "$PASS_IP" --mail-from "$1" --helo mta.example.com; }
env_fail() { echo --ip "$FAIL_IP" --mail-from x@example.com --helo mta.example.com; }

mkmsg plain 'From: Alice <a@example.com>'
mkmsg strict 'From: a@example.net'

# --- SPF alignment ----------------------------------------------------------
run $(env_pass x@bounce.example.com) "$M/plain.eml"
want "spf relaxed: bounce.example.com aligns with example.com" 0 \
    spf.result=pass spf.domain=bounce.example.com spf.scope=mfrom \
    dmarc.spf_aligned=true dmarc.dkim_aligned=false dmarc.result=pass \
    dmarc.header_from=example.com dmarc.record_domain=example.com \
    dmarc.org_domain=example.com dmarc.policy=reject dmarc.disposition=none \
    dmarc.mode=rfc9989 envelope.ip=$PASS_IP envelope.source=flags \
    envelope.mail_from=x@bounce.example.com envelope.helo=mta.example.com
run $(env_pass x@bounce.example.net) "$M/strict.eml"
want "spf strict (aspf=s): bounce.example.net does not align" 1 \
    spf.result=pass dmarc.aspf=s dmarc.spf_aligned=false dmarc.result=fail \
    dmarc.policy=reject dmarc.disposition=reject
run $(env_pass x@example.net) "$M/strict.eml"
want "spf strict: the same domain aligns" 0 \
    dmarc.spf_aligned=true dmarc.result=pass
run --ip "$FAIL_IP" --mail-from x@example.com --helo mta.example.com "$M/plain.eml"
want "spf fail: nothing aligns, p=reject applies" 1 \
    spf.result=fail dmarc.spf_aligned=false dmarc.result=fail \
    dmarc.policy=reject dmarc.disposition=reject dkim#=0

# --- DKIM alignment ---------------------------------------------------------
mkmsg k-equal 'From: a@example.com' example.com
mkmsg k-parent 'From: a@mail.example.com' example.com
mkmsg k-parent-s 'From: a@mail.example.net' example.net
mkmsg k-child 'From: a@example.com' mail.example.com
mkmsg k-child-s 'From: a@example.net' mail.example.net
mkmsg k-sibling 'From: a@news.example.com' mail.example.com
mkmsg k-unrel 'From: a@example.com' example.org
mkmsg k-two 'From: a@example.com' example.org example.com
run $(env_fail) "$M/k-equal.eml"
want "dkim d= equal to From: aligned" 0 spf.result=fail \
    dkim.0.result=pass dkim.0.d=example.com dkim.0.s=s1 dkim.0.aligned=true \
    dmarc.dkim_aligned=true dmarc.spf_aligned=false dmarc.result=pass
run $(env_fail) "$M/k-parent.eml"
want "dkim d= parent of From, relaxed: aligned" 0 \
    dkim.0.result=pass dkim.0.aligned=true dmarc.result=pass
run $(env_fail) "$M/k-parent-s.eml"
want "dkim d= parent of From, adkim=s: not aligned" 1 \
    dkim.0.result=pass dkim.0.aligned=false dmarc.adkim=s \
    dmarc.result=fail dmarc.policy=reject
run $(env_fail) "$M/k-child.eml"
want "dkim d= child of From, relaxed: aligned" 0 dkim.0.aligned=true \
    dmarc.result=pass
run $(env_fail) "$M/k-child-s.eml"
want "dkim d= child of From (its own Org. Domain), adkim=s: not aligned" 1 \
    dkim.0.result=pass dkim.0.aligned=false dmarc.result=fail
run $(env_fail) "$M/k-sibling.eml"
want "dkim d= sibling under the same Org. Domain: aligned" 0 \
    dkim.0.d=mail.example.com dkim.0.aligned=true dmarc.result=pass
run $(env_fail) "$M/k-unrel.eml"
want "dkim d= unrelated: pass but not aligned, fail" 1 \
    dkim.0.result=pass dkim.0.aligned=false dmarc.dkim_aligned=false \
    dmarc.result=fail dmarc.disposition=reject
run $(env_fail) "$M/k-two.eml"
want "two signatures: one aligned pass is enough" 0 dkim#=2 \
    dkim.0.d=example.com dkim.0.aligned=true dkim.1.d=example.org \
    dkim.1.aligned=false dmarc.result=pass
sed 's/^body of k-equal$/tampered/' "$M/k-equal.eml" >"$M/k-bad.eml"
run $(env_fail) "$M/k-bad.eml"
want "dkim fail (body changed): an aligned d= does not count" 1 \
    dkim.0.result=fail dkim.0.aligned=false dmarc.result=fail

# --- HELO -------------------------------------------------------------------
# Null reverse-path: RFC 7208 2.4 makes postmaster@HELO the MAIL FROM
# identity, so it is checked in the mfrom scope and may align.
run --ip "$PASS_IP" --mail-from '' --helo mta.example.com "$M/plain.eml"
want "null MAIL FROM: postmaster@helo is the SPF identity, and aligns" 0 \
    spf.result=pass spf.domain=mta.example.com \
    spf.sender=postmaster@mta.example.com envelope.mail_from= \
    dmarc.spf_aligned=true dmarc.result=pass
run --ip "$PASS_IP" --mail-from '' --helo mta.example.org "$M/plain.eml"
want "null MAIL FROM, HELO of an unrelated domain: no alignment" 1 \
    spf.result=pass spf.domain=mta.example.org dmarc.spf_aligned=false \
    dmarc.result=fail
# A MAIL FROM without SPF and a HELO that passes: only MAIL FROM counts.
run --ip "$PASS_IP" --mail-from x@nospf.example.org --helo mta.example.com \
    "$M/plain.eml"
want "HELO pass with a non-null MAIL FROM: does not align" 1 \
    dmarc.spf_aligned=false dmarc.result=fail

# --- the author domain ------------------------------------------------------
mkmsg no-from ''
mkmsg two-from "$(printf 'From: a@example.com\nFrom: b@example.com')"
mkmsg two-addr 'From: a@example.com, b@example.org'
mkmsg two-addr-same 'From: a@example.com, b@Example.COM'
# RFC 9989 §5.3.1 leaves these outside DMARC; the issue (and RFC 7489
# §6.6.1, kept as the recommendation in RFC 9989's security
# considerations) asks that they fail: each author domain is evaluated
# and the strictest failing policy applies; with no author domain there
# is no policy to apply.
run $(env_pass x@example.com) "$M/no-from.eml"
want "no From field: fail with a reason, nothing to apply" 1 \
    dmarc.result=fail dmarc.reason~From dmarc.disposition=none
run $(env_pass x@example.com) "$M/two-from.eml"
want "two From fields: fail although SPF aligns, p=reject applies" 1 \
    dmarc.result=fail dmarc.reason~From dmarc.spf_aligned=true \
    dmarc.disposition=reject
run $(env_pass x@example.com) "$M/two-addr.eml"
want "two From domains: each evaluated, the failing one decides" 1 \
    dmarc.result=fail dmarc.reason~From dmarc.header_from=example.org \
    dmarc.author_domains.0.domain=example.com \
    dmarc.author_domains.0.result=pass \
    dmarc.author_domains.1.domain=example.org \
    dmarc.author_domains.1.result=fail dmarc.disposition=none
# One dmarc= per message, the one that decided, in the text field and in
# the JSON copy of it: a filter that reads the first dmarc= of the field
# must not find the innocent domain's pass there.
mkmsg two-from-2dom "$(printf 'From: a@example.com\nFrom: b@example.org')"
# one_dmarc NAME RESULT DOMAIN ARGS...: the text field and the JSON copy
# of it each hold exactly one dmarc=, dmarc=RESULT with header.from=DOMAIN.
one_dmarc() {
	_n=$1 _r=$2 _d=$3 _bad=
	shift 3
	dm "$@" >"$T/t.out"
	dm --json "$@" | "$PY" -c 'import json, sys
print(json.loads(sys.stdin.readline())["authentication_results"])' >"$T/t.json"
	for _f in "$T/t.out" "$T/t.json"; do
		_c=$(grep -o 'dmarc=' "$_f" | wc -l)
		[ "$_c" -eq 1 ] && grep -q "dmarc=$_r .*header.from=$_d\$" "$_f" ||
		    _bad=$_f
	done
	if [ -z "$_bad" ]; then ok "$_n"; else
		nok "$_n"; sed 's/^/#   /' "$_bad"; fi
}
one_dmarc "two From domains: one dmarc=, the failing domain's" fail example.org \
    $(env_pass x@example.com) "$M/two-addr.eml"
one_dmarc "two From fields, two domains: one dmarc=, fail" fail example.org \
    $(env_pass x@example.com) "$M/two-from-2dom.eml"
run $(env_pass x@example.com) "$M/two-from-2dom.eml"
want "two From fields, two domains: JSON agrees, per-domain detail kept" 1 \
    dmarc.result=fail dmarc.header_from=example.org \
    dmarc.author_domains.0.result=pass dmarc.author_domains.1.result=fail \
    'authentication_results~authors: example.com pass, example.org fail'
run $(env_pass x@example.com) "$M/two-addr-same.eml"
want "two From addresses in one domain: evaluated, passes" 0 \
    dmarc.result=pass dmarc.header_from=example.com

# --- sp= and np= ------------------------------------------------------------
mkmsg sub 'From: a@sub.example.com'
mkmsg nx 'From: a@nx.example.com'
mkmsg nx-org 'From: a@nx.example.org'
run $(env_fail) "$M/sub.eml"
want "existing subdomain: sp=quarantine" 1 dmarc.result=fail \
    dmarc.record_domain=example.com dmarc.org_domain=example.com \
    dmarc.p=reject dmarc.sp=quarantine dmarc.np=reject \
    dmarc.policy=quarantine dmarc.disposition=quarantine
run $(env_fail) "$M/nx.eml"
want "nonexistent subdomain: np=reject over sp=quarantine" 1 \
    dmarc.result=fail dmarc.policy=reject dmarc.disposition=reject
run $(env_fail) "$M/nx-org.eml"
want "nonexistent subdomain without np=: sp= applies" 1 \
    dmarc.policy=quarantine dmarc.np=null

# --- RFC 9989 tree walk -----------------------------------------------------
mkmsg inter 'From: u@a.b.inter.example'
mkmsg inter-k 'From: u@a.b.inter.example' c.inter.example
mkmsg only 'From: u@x.b.only.example'
mkmsg psd-other 'From: u@mail.brand.psd.example' other.psd.example
mkmsg psd-brand 'From: u@mail.brand.psd.example' brand.psd.example
mkmsg psdn 'From: u@x.dept.corp.example' corp.example
mkmsg long10 'From: u@a.b.c.d.e.f.g.h.deep.example'
mkmsg long9 'From: u@b.c.d.e.f.g.h.deep.example'
run $(env_fail) "$M/inter.eml"
want "tree walk: records at an intermediate name and the top: the top" 1 \
    dmarc.org_domain=inter.example dmarc.record_domain=inter.example \
    dmarc.policy=reject
run $(env_fail) "$M/inter-k.eml"
want "tree walk: d= under the same Org. Domain aligns" 0 \
    dkim.0.aligned=true dmarc.result=pass
run $(env_fail) "$M/only.eml"
want "tree walk: record only at an intermediate name: Org. Domain" 1 \
    dmarc.org_domain=b.only.example dmarc.record_domain=b.only.example \
    dmarc.policy=quarantine
run $(env_fail) "$M/psd-other.eml"
want "psd=y: Org. Domain one label below, PSD policy, no sibling alignment" 1 \
    dmarc.org_domain=brand.psd.example dmarc.record_domain=psd.example \
    dkim.0.result=pass dkim.0.aligned=false dmarc.policy=quarantine
run $(env_fail) "$M/psd-brand.eml"
want "psd=y: d= at the Org. Domain below the PSD aligns" 0 \
    dkim.0.aligned=true dmarc.result=pass
run $(env_fail) "$M/psdn.eml"
want "psd=n: the walk stops there; parent d= does not align" 1 \
    dmarc.org_domain=dept.corp.example dmarc.record_domain=dept.corp.example \
    dkim.0.d=corp.example dkim.0.aligned=false dmarc.policy=none \
    dmarc.disposition=none
run --rfc7489 --psl "$PSL" $(env_fail) "$M/psdn.eml"
want "psd=n case under --rfc7489: PSL Org. Domain corp.example, aligned" 0 \
    dmarc.mode=rfc7489 dmarc.org_domain=corp.example dkim.0.aligned=true \
    dmarc.result=pass
run $(env_fail) "$M/long10.eml"
want "10 labels: walk jumps to 7 labels (8-label psd=n record skipped)" 1 \
    dmarc.org_domain=d.e.f.g.h.deep.example \
    dmarc.record_domain=d.e.f.g.h.deep.example dmarc.policy=quarantine
run $(env_fail) "$M/long9.eml"
want "9 labels: the same jump" 1 \
    dmarc.org_domain=d.e.f.g.h.deep.example dmarc.policy=quarantine

# --- t=y, p= missing or invalid, several records, DNS failure --------------
mkmsg testr 'From: u@testr.example'
mkmsg testq 'From: u@testq.example'
mkmsg nop 'From: u@nop.example'
mkmsg badp 'From: u@badp.example'
mkmsg badp2 'From: u@badp2.example'
mkmsg multi 'From: u@multi.example.com'
mkmsg tmp 'From: u@tmp.example.com'
run $(env_fail) "$M/testr.eml"
want "t=y: p=reject applied as quarantine" 1 dmarc.testing=true \
    dmarc.result=fail dmarc.policy=reject dmarc.disposition=quarantine
run $(env_fail) "$M/testq.eml"
want "t=y: p=quarantine applied as none" 1 dmarc.testing=true \
    dmarc.policy=quarantine dmarc.disposition=none
dm $(env_fail) "$M/testr.eml" >"$T/o" 2>&1
check "t=y: text output says p=REJECT dis=QUARANTINE" \
    grep -q 'dmarc=fail (p=REJECT.* dis=QUARANTINE)' "$T/o"
check "text output: disposition line" grep -qx 'disposition: quarantine' "$T/o"
check "text output: one A-R field for mx.test" \
    test "$(grep -c '^Authentication-Results: mx.test;' "$T/o")" -eq 1
check "text output: header.from" grep -q 'header.from=testr.example' "$T/o"
dm $(env_pass x@bounce.example.com) "$M/plain.eml" >"$T/o" 2>&1
check "text output, pass: spf= with smtp.mailfrom" \
    grep -q 'spf=pass .*smtp.mailfrom=x@bounce.example.com;' "$T/o"
check "text output, pass: dmarc=pass (p=REJECT sp=QUARANTINE dis=NONE)" \
    grep -q 'dmarc=pass (p=REJECT sp=QUARANTINE dis=NONE) header.from=example.com' "$T/o"
check "text output, pass: disposition none" grep -qx 'disposition: none' "$T/o"
run $(env_fail) "$M/nop.eml"
want "no p= but a valid rua=: treated as p=none" 1 dmarc.result=fail \
    dmarc.policy=none dmarc.disposition=none
run $(env_fail) "$M/badp.eml"
want "invalid p= but a valid rua=: treated as p=none" 1 dmarc.result=fail \
    dmarc.policy=none dmarc.disposition=none
run $(env_fail) "$M/badp2.eml"
want "invalid p= and no rua=: permerror, nothing applied" 1 \
    dmarc.result=permerror dmarc.disposition=none
run $(env_fail) "$M/multi.eml"
want "two records at the author domain: discarded, walk to example.com" 1 \
    dmarc.record_domain=example.com dmarc.policy=quarantine
run --rfc7489 --psl "$PSL" $(env_fail) "$M/multi.eml"
want "two records under --rfc7489: discovery ends, dmarc=none" 1 \
    dmarc.result=none
mkmsg lead 'From: u@lead.example'
mkmsg lead2 'From: u@lead2.example'
run $(env_fail) "$M/lead.eml"
want "WSP before v=DMARC1: not a DMARC record, no policy" 1 \
    dmarc.result=none dmarc.record_domain=null
run $(env_fail) "$M/lead2.eml"
want "WSP before v=DMARC1 beside a record: only the record counts" 1 \
    dmarc.result=fail dmarc.record_domain=lead2.example dmarc.policy=reject
run $(env_fail) "$M/tmp.eml"
want "DNS temporary failure at _dmarc: temperror, exit 75" 75 \
    dmarc.result=temperror
run $(env_fail) "$M/tmp.eml" "$M/k-equal.eml"
want "temperror next to a pass in another message: exit 75" 75

# --- RFC 7489 mode ----------------------------------------------------------
mkmsg couk 'From: u@mail.shop.example.co.uk' other.example.co.uk
mkmsg couk-u 'From: u@mail.shop.example.co.uk'
mkmsg gh 'From: u@mail.alice.github.io' bob.github.io
mkmsg pctq 'From: u@pctq.example'
mkmsg pctr 'From: u@pctr.example'
mkmsg pct50 'From: u@pct50.example'
R7="--rfc7489 --psl $PSL"
run $R7 $(env_fail) "$M/couk.eml"
want "rfc7489: PSL Org. Domain example.co.uk, sibling d= aligns" 0 \
    dmarc.mode=rfc7489 dmarc.org_domain=example.co.uk dkim.0.aligned=true \
    dmarc.result=pass
run $R7 $(env_fail) "$M/couk-u.eml"
want "rfc7489: record at the Org. Domain, sp= applies" 1 \
    dmarc.record_domain=example.co.uk dmarc.policy=quarantine
run $(env_fail) "$M/gh.eml"
want "private suffix, RFC 9989: walk makes github.io the Org. Domain" 0 \
    dmarc.org_domain=github.io dkim.0.aligned=true dmarc.result=pass
run $R7 $(env_fail) "$M/gh.eml"
want "private suffix, RFC 7489: PSL makes alice.github.io the Org. Domain" 1 \
    dmarc.org_domain=alice.github.io dmarc.record_domain=alice.github.io \
    dkim.0.aligned=false dmarc.policy=reject dmarc.disposition=reject
run $R7 --pct-roll 0 $(env_fail) "$M/pctq.eml"
want "pct=0: quarantine not applied (none), policy still reported" 1 \
    dmarc.pct=0 dmarc.policy=quarantine dmarc.disposition=none
run $R7 --pct-roll 0 $(env_fail) "$M/pctr.eml"
want "pct=0: reject applied as quarantine" 1 \
    dmarc.policy=reject dmarc.disposition=quarantine
run $R7 --pct-roll 49 $(env_fail) "$M/pct50.eml"
want "pct=50, roll 49: sampled, reject" 1 dmarc.disposition=reject
run $R7 --pct-roll 50 $(env_fail) "$M/pct50.eml"
want "pct=50, roll 50: not sampled, quarantine" 1 dmarc.disposition=quarantine
run --pct-roll 0 $(env_fail) "$M/pctr.eml"
want "RFC 9989 mode ignores pct=" 1 dmarc.disposition=reject

# --- header fields only (RFC 5322 §3.5: no empty line, an empty body) -------
printf 'From: a@example.com\r\nTo: r@receiver.example\r\nSubject: fields only\r\n' \
    >"$T/fo.eml"
"$HANKO" sign -d example.com -s s1 -k "$KEY" --time 1767225600 <"$T/fo.eml" \
    >"$M/fields-only.eml" 2>"$T/e" || { nok "sign fields only"; cat "$T/e"; }
run $(env_fail) "$M/fields-only.eml"
want "header fields only, signed in filter mode: dkim and dmarc pass" 0 \
    error=null dkim.0.result=pass dkim.0.aligned=true dmarc.result=pass
mkdir "$T/fo-spool" "$T/fo-out"
printf 'From: a@example.com\nSubject: fields only, no final line end' \
    >"$T/fo-spool/m1"
"$HANKO" sign -d example.com -s s1 -k "$KEY" --time 1767225600 -j 1 \
    "$T/fo-spool" "$T/fo-out" >"$T/o" 2>&1 || { nok "batch sign fields only"; cat "$T/o"; }
run $(env_fail) "$T/fo-out/m1"
want "header fields only, signed in batch mode: dmarc pass" 0 \
    dkim.0.result=pass dmarc.result=pass

# --- envelope sources -------------------------------------------------------
E=$T/env
mkdir "$E" "$T/ed"
cp "$M/plain.eml" "$T/ed/pf.eml"
printf 'client_address=%s\nhelo_name=mta.example.com\nsender=x@bounce.example.com\n' \
    "$PASS_IP" >"$E/pf.eml.env"
run --envelope-dir "$E" "$T/ed/pf.eml"
want "sidecar with Postfix policy names" 0 envelope.ip=$PASS_IP \
    envelope.source=sidecar \
    envelope.helo=mta.example.com envelope.mail_from=x@bounce.example.com \
    spf.result=pass dmarc.spf_aligned=true
cp "$M/plain.eml" "$T/ed/null.eml"
printf 'ip=%s\nhelo=mta.example.com\nmail-from=<>\n' "$PASS_IP" >"$E/null.eml.env"
run --envelope-dir "$E" "$T/ed/null.eml"
want "sidecar mail-from=<>: null reverse-path" 0 envelope.mail_from= \
    spf.domain=mta.example.com spf.result=pass
# A sidecar is named by whoever fills the directory: a FIFO there must
# not hang the reader, a symbolic link must not be followed.
cp "$M/plain.eml" "$T/ed/fifo.eml"
mkfifo "$E/fifo.eml.env"
dm_to() { timeout -k 2 10 "$HANKO" dmarc --dns-zone "$T/zone" \
    --authserv-id mx.test --json "$@" >"$T/j" 2>"$T/e"; rc=$?; }
dm_to --envelope-dir "$E" "$T/ed/fifo.eml"
want "a FIFO as sidecar is refused, without blocking" 1 \
    "envelope.problem~not a regular file" envelope.ip=null
cp "$M/plain.eml" "$T/ed/link.eml"
printf 'ip=%s\nhelo=mta.example.com\nmail-from=a@example.com\n' "$PASS_IP" \
    >"$T/elsewhere.env"
ln -s "$T/elsewhere.env" "$E/link.eml.env"
dm_to --envelope-dir "$E" "$T/ed/link.eml"
want "a symbolic link as sidecar is not followed" 1 \
    "envelope.problem~not a regular file" envelope.ip=null
# Received fields as our MTA writes them; --trust-received N picks the N-th.
PF="Received: from mta.example.com (mta.example.com [$PASS_IP])
	by mx.receiver.example (Postfix) with ESMTPS id 4Xy1Z2;
	Thu, 01 Jan 2026 00:00:01 +0000"
EX="Received: from mail.example.net ([$PASS_IP]:41234 helo=mta.example.org)
	by mx.receiver.example with esmtps (Exim 4.96)
	id 1tS2bC-000ABC-1x; Thu, 01 Jan 2026 00:00:01 +0000"
IN="Received: from mx.receiver.example (localhost [127.0.0.1])
	by store.receiver.example (Postfix) with LMTP id 9Q;
	Thu, 01 Jan 2026 00:00:02 +0000"
{ echo "Return-Path: <x@bounce.example.com>"; echo "$PF"; cat "$M/plain.eml"; } \
    >"$T/ed/tr-pf.eml"
{ echo "Return-Path: <x@bounce.example.com>"; echo "$EX"; cat "$M/plain.eml"; } \
    >"$T/ed/tr-ex.eml"
{ echo "Return-Path: <x@bounce.example.com>"; echo "$IN"; echo "$PF"
  cat "$M/plain.eml"; } >"$T/ed/tr-2.eml"
run --trust-received 1 "$T/ed/tr-pf.eml"
want "--trust-received 1, Postfix form" 0 envelope.ip=$PASS_IP \
    envelope.source=trace \
    envelope.helo=mta.example.com envelope.mail_from=x@bounce.example.com \
    spf.result=pass dmarc.spf_aligned=true
run --trust-received 1 "$T/ed/tr-ex.eml"
want "--trust-received 1, Exim form (helo= from the field)" 0 \
    envelope.ip=$PASS_IP envelope.helo=mta.example.org \
    envelope.mail_from=x@bounce.example.com spf.result=pass
run --trust-received 2 "$T/ed/tr-2.eml"
want "--trust-received 2: the second field from the top" 0 \
    envelope.ip=$PASS_IP envelope.helo=mta.example.com
run --trust-received 1 "$T/ed/tr-2.eml"
want "--trust-received 1 on the same message: the internal hop" 1 \
    envelope.ip=127.0.0.1
# Precedence, field by field: flags, then the sidecar, then the trace.
cp "$T/ed/tr-pf.eml" "$T/ed/prec.eml"
printf 'ip=%s\n' "$FAIL_IP" >"$E/prec.eml.env"
run --envelope-dir "$E" --trust-received 1 "$T/ed/prec.eml"
want "precedence: sidecar ip beats the trace; helo, mail-from from trace" 1 \
    envelope.ip=$FAIL_IP envelope.helo=mta.example.com \
    envelope.mail_from=x@bounce.example.com spf.result=fail
run --ip "$PASS_IP" --envelope-dir "$E" --trust-received 1 "$T/ed/prec.eml"
want "precedence: --ip beats the sidecar" 0 envelope.ip=$PASS_IP \
    spf.result=pass
run --mail-from y@example.com --envelope-dir "$E" --trust-received 1 \
    "$T/ed/prec.eml"
want "precedence: --mail-from beats the Return-Path" 1 \
    envelope.mail_from=y@example.com envelope.ip=$FAIL_IP

# The first token of a from-clause is the client's own HELO: an address
# literal there proves nothing, the MTA's TCP-info comment does.
HL="Received: from [$PASS_IP] (unknown [$FAIL_IP])
	by mx.receiver.example (Postfix) with ESMTP id 5A;
	Thu, 01 Jan 2026 00:00:01 +0000"
{ echo "Return-Path: <x@bounce.example.com>"; echo "$HL"; cat "$M/plain.eml"; } \
    >"$T/ed/tr-hl.eml"
run --trust-received 1 "$T/ed/tr-hl.eml"
want "--trust-received: HELO [PASS_IP] from FAIL_IP is FAIL_IP" 1 \
    envelope.ip=$FAIL_IP spf.result=fail dmarc.result=fail
# A Return-Path below the trusted Received was there before our MTA.
{ echo "$PF"; echo "Return-Path: <x@bounce.example.com>"; cat "$M/plain.eml"; } \
    >"$T/ed/tr-rp.eml"
run --trust-received 1 "$T/ed/tr-rp.eml"
want "--trust-received: a Return-Path below it is not the envelope" 1 \
    envelope.mail_from=null spf.result=none dmarc.spf_aligned=false \
    envelope.problem~"MAIL FROM"
# --mail-from takes the SMTP path as written too.
run --ip "$PASS_IP" --mail-from '<x@bounce.example.com>' --helo mta.example.com \
    "$M/plain.eml"
want "--mail-from '<a@b>' is a@b" 0 envelope.mail_from=x@bounce.example.com \
    spf.result=pass
run --ip "$PASS_IP" --mail-from '<>' --helo mta.example.com "$M/plain.eml"
want "--mail-from '<>' is the null path (postmaster@HELO)" 0 envelope.mail_from= \
    spf.sender=postmaster@mta.example.com
# A message that cannot be read never shows the previous one's result.
head -c 3000 /dev/zero | tr '\0' x | fold -w 70 >"$T/ed/body"
{ echo "From: ceo@example.com"; echo; cat "$T/ed/body"; } >"$T/ed/big.eml"
dm --json --max-size 2000 --ip "$PASS_IP" --mail-from x@bounce.example.com \
    --helo mta.example.com "$M/plain.eml" "$T/ed/big.eml" >"$T/j" 2>"$T/e"
rc=$?
want "a passing message, then one over --max-size: no stale pass" 1 1 \
    dmarc.result=permerror dmarc.reason~"not read" dmarc.spf_aligned=false
want "... and the first still passes" 1 0 dmarc.result=pass

# --- a directory in parallel == one by one ---------------------------------
B=$T/batch
mkdir "$B" "$B/env"
for f in "$M"/*.eml; do
	n=$(basename "$f" .eml)
	cp "$f" "$B/$n.eml"
	printf 'ip=%s\nhelo=mta.example.com\nmail-from=x@bounce.example.com\n' \
	    "$FAIL_IP" >"$B/env/$n.eml.env"
done
nb=$(ls "$B"/*.eml | wc -l)
dm --json --envelope-dir "$B/env" -j 2 "$B" >"$T/all.json" 2>"$T/e"
brc=$?
check "batch -j 2: one object per message ($nb)" \
    test "$(wc -l <"$T/all.json")" -eq "$nb"
: >"$T/one.json"
orc=0
for f in "$B"/*.eml; do
	dm --json --envelope-dir "$B/env" "$f" >>"$T/one.json" 2>/dev/null
	r=$?
	[ "$r" -gt "$orc" ] && orc=$r
done
check "batch -j 2: same objects as one by one" "$PY" -c '
import json, sys
def load(p):
    return sorted((json.loads(l) for l in open(p) if l.strip()),
                  key=lambda o: o["file"])
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a) == len(b), (len(a), len(b))
for x, y in zip(a, b):
    assert x == y, (x["file"], x, y)
' "$T/all.json" "$T/one.json"
check "batch: exit status is the worst one by one ($brc, $orc)" \
    test "$brc" -eq "$orc"

# --- exit codes -------------------------------------------------------------
check_exit "missing file: 66" 66 dm $(env_fail) "$T/no-such.eml"
check_exit "unknown option: 64" 64 dm --bogus "$M/plain.eml"

# --- internationalized author domain ----------------------------------------
# RFC 9989 §5.3.1: a U-label From domain is looked up as its A-label.
cat >>"$T/zone" <<'ZONE'
_dmarc.xn--bcher-kva.example. IN TXT "v=DMARC1; p=reject"
ZONE
mkmsg idn "$(printf 'From: a@b\303\274cher.example')"
run --ip "$PASS_IP" --mail-from x@xn--bcher-kva.example --helo mta.example.com "$M/idn.eml"
want "U-label From domain: evaluated as xn--bcher-kva.example" 1 \
    dmarc.header_from=xn--bcher-kva.example dmarc.record_domain=xn--bcher-kva.example \
    dmarc.policy=reject dmarc.result=fail

finish
