#!/bin/sh
# Hostile DNS data and messages for hanko spf and hanko dmarc: include and
# redirect loops, macro bombs, oversized and malformed records, absurd
# DMARC values, huge answers, CNAME loops, absurd From fields. Each run
# must end within 20 s and bounded memory (ulimit -v, except under ASan)
# with exit 0/1 (75 where DNS failed), valid JSON, a sanitizer-clean
# stderr, and the RFC's result for the case.
. "$(dirname "$0")/../lib.sh"

LIMIT=
[ "${CONFIG:-release}" = asan ] || LIMIT="ulimit -v 2000000;"
PY=/usr/bin/python3

run() {
	_o=$1; _e=$2; shift 2
	(eval "$LIMIT" && exec timeout 20 "$@") >"$_o" 2>"$_e"
	rc=$?
}

# field FILE PATH: one JSON member ("dmarc.result", "lookups") or ERR.
field() {
	$PY - "$1" "$2" <<'PYEOF'
import json, sys
try:
    v = json.load(open(sys.argv[1], encoding="utf-8"))
    for k in sys.argv[2].split("."):
        v = v[k]
    print(v)
except Exception as e:
    print("ERR", e)
PYEOF
}

# common checks; $1 name, $2 allowed exit codes (regex)
sane() {
	if [ $rc -eq 124 ]; then nok "$1: hung (timeout)"; return 1; fi
	if grep -q 'Sanitizer\|runtime error:' "$T/e"; then
		nok "$1: sanitizer report"; head -20 "$T/e" | sed 's/^/#   /'
		return 1
	fi
	if ! echo "$rc" | grep -qx "$2"; then
		nok "$1: exit $rc"; head -5 "$T/e" | sed 's/^/#   /'; return 1
	fi
	if [ "$(wc -c <"$T/o")" -gt 65536 ]; then
		nok "$1: $(wc -c <"$T/o") bytes of output"; return 1
	fi
	return 0
}

# hspf NAME RESULT-REGEX IP SENDER: zone in $T/z
hspf() {
	run "$T/o" "$T/e" "$HANKO" spf --dns-zone "$T/z" --ip "$3" \
	    --mail-from "$4" --helo helo.example --json
	sane "spf $1" 0 || return
	_r=$(field "$T/o" result); _l=$(field "$T/o" lookups)
	if ! echo "$_r" | grep -qx "$2"; then
		nok "spf $1: result $_r, want $2 ($(field "$T/o" problem))"
	elif [ "$_l" -gt 11 ] 2>/dev/null; then
		# the 11th is counted when it trips the limit, never sent
		nok "spf $1: $_l lookups counted, the limit is 10"
	else
		ok "spf $1: $_r ($(field "$T/o" problem | cut -c 1-80))"
	fi
}

# hdmarc NAME RESULT-REGEX MSG [options]: zone in $T/z
hdmarc() {
	_n=$1; _want=$2; _m=$3; shift 3
	run "$T/o" "$T/e" "$HANKO" dmarc --dns-zone "$T/z" --json "$@" "$_m"
	sane "dmarc $_n" '[01]\|75' || return
	_r=$(field "$T/o" dmarc.result)
	if ! echo "$_r" | grep -qx "$_want"; then
		nok "dmarc $_n: result $_r, want $_want ($(field "$T/o" dmarc.reason))"
	else
		ok "dmarc $_n: $_r ($(field "$T/o" dmarc.reason | cut -c 1-80))"
	fi
}

# --- SPF --------------------------------------------------------------
cat >"$T/z" <<'Z'
$ORIGIN example.
loop-a TXT "v=spf1 include:loop-b.example -all"
loop-b TXT "v=spf1 include:loop-a.example -all"
self TXT "v=spf1 include:self.example -all"
redir-a TXT "v=spf1 redirect=redir-b.example"
redir-b TXT "v=spf1 redirect=redir-a.example"
bomb TXT "v=spf1 exists:%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.x.example exists:%{l}%{l}%{l}%{l}%{l}%{l}%{l}%{l}.example -all"
bomb6 TXT "v=spf1 exists:%{ir}.%{v}.%{i}.%{i}.%{i}.%{ir}.%{ir}._spf.%{d} -all"
xmacro TXT "v=spf1 exists:%{d1000r}.%{l0}.%{s99999999999999999999}.example -all"
twice TXT "v=spf1 -all"
twice TXT "v=spf1 +all"
void TXT "v=spf1 a:n1.example a:n2.example a:n3.example +all"
cidr4 TXT "v=spf1 ip4:192.0.2.0/33 +all"
cidr6 TXT "v=spf1 ip6:2001:db8::/129 +all"
cidrz TXT "v=spf1 a/024 +all"
nul TXT "v=spf1 ip4:192.0.2.1\000 -all"
high TXT "v=spf1 ip4:192.0.2.1 \128\255 -all"
cname-a CNAME cname-b.example.
cname-b CNAME cname-a.example.
longname TXT "v=spf1 include:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example -all"
tempf TXT "HANKO-TEMPFAIL"
hexp TXT "v=spf1 -all exp=why.hexp.example"
why.hexp TXT "%{l} is not allowed via %{h}"
ip6eight TXT "v=spf1 ip6:1:2:3:4:5:6:7:8:: +all"
inctemp TXT "v=spf1 include:tempf.example -all"
Z
i=0; s=""
while [ $i -lt 11 ]; do
	echo "chain$i TXT \"v=spf1 include:chain$((i + 1)).example -all\"" >>"$T/z"
	i=$((i + 1))
done
echo 'chain11 TXT "v=spf1 +all"' >>"$T/z"
# 11 MX names (limit 10) and 10 MX names of 100 addresses each
{ i=0; while [ $i -lt 11 ]; do echo "mx11 MX $i m$i.mx11.example."; i=$((i+1)); done
  echo 'mx11 TXT "v=spf1 mx -all"'
  i=0; while [ $i -lt 10 ]; do
	echo "mx10 MX $i h$i.mx10.example."; j=0
	while [ $j -lt 100 ]; do echo "h$i.mx10 A 10.$i.$j.1"; j=$((j+1)); done
	i=$((i+1)); done
  echo 'mx10 TXT "v=spf1 mx -all"'
  i=0; while [ $i -lt 500 ]; do echo "wide A 10.1.$((i / 250)).$((i % 250))"; i=$((i+1)); done
  echo 'wide TXT "v=spf1 a -all"'
  i=0; while [ $i -lt 200 ]; do echo "1.2.0.192.in-addr.arpa. PTR p$i.ptr.example."; i=$((i+1)); done
  echo 'ptr TXT "v=spf1 ptr -all"'
} >>"$T/z"
# 1,000 ip4 terms in one record of 4 KB strings; the last one matches
$PY - >>"$T/z" <<'PYEOF'
terms = " ".join("ip4:10.9.%d.%d" % (i // 250, i % 250) for i in range(999))
rec = "v=spf1 " + terms + " ip4:192.0.2.77 -all"
print("big TXT " + " ".join('"%s"' % rec[i:i + 255] for i in range(0, len(rec), 255)))
exp = "%{s} %{l} %{o} %{d} %{i} %{c} %{r} %{t} " * 60
print('expl TXT "v=spf1 -all exp=e.expl.example"')
print("e.expl TXT " + " ".join('"%s"' % exp[i:i + 255] for i in range(0, len(exp), 255)))
PYEOF

hspf "include loop" permerror 192.0.2.1 u@loop-a.example
hspf "include of itself" permerror 192.0.2.1 u@self.example
hspf "redirect loop" permerror 192.0.2.1 u@redir-a.example
hspf "11 nested includes" permerror 192.0.2.1 u@chain0.example
LP=$(head -c 64 /dev/zero | tr '\0' l)
hspf "macro bomb (%{s} x10 of a 64-byte local-part)" 'fail\|permerror' 192.0.2.1 "$LP@bomb.example"
hspf "macro bomb over IPv6 nibbles" 'fail\|permerror' 2001:db8::1 u@bomb6.example
hspf "absurd macro transformers" 'permerror\|fail' 192.0.2.1 u@xmacro.example
hspf "two SPF records" permerror 192.0.2.1 u@twice.example
hspf "three void lookups" permerror 192.0.2.1 u@void.example
hspf "ip4 prefix /33" permerror 192.0.2.1 u@cidr4.example
hspf "ip6 prefix /129" permerror 2001:db8::1 u@cidr6.example
hspf "prefix with a leading zero" permerror 192.0.2.1 u@cidrz.example
hspf "NUL byte in the record" 'permerror' 192.0.2.1 u@nul.example
hspf "8-bit bytes in the record" 'permerror' 192.0.2.1 u@high.example
hspf "CNAME loop at the domain" temperror 192.0.2.1 u@cname-a.example
hspf "label over 63 octets in include" 'permerror\|none\|fail' 192.0.2.1 u@longname.example
hspf "include of a name that times out" temperror 192.0.2.1 u@inctemp.example
hspf "11 MX names" permerror 192.0.2.1 u@mx11.example
hspf "10 MX names x 100 addresses" pass 10.9.99.1 u@mx10.example
hspf "500 A records" pass 10.1.1.249 u@wide.example
hspf "PTR with 200 names" 'fail' 192.0.2.1 u@ptr.example
hspf "1,000 ip4 terms, last matches" pass 192.0.2.77 u@big.example
hspf "exp= of 2 KB of macros" fail 192.0.2.1 u@expl.example
_x=$(field "$T/o" explanation | wc -c)
if [ "$_x" -le 1100 ]; then ok "spf exp= expansion bounded ($_x bytes)"
else nok "spf exp= expansion of $_x bytes"; fi
# A HELO with CR LF and an 8-bit local part reach exp= through %{h}/%{l}:
# the explanation must stay US-ASCII (RFC 7208 §6.2) or be dropped.
run "$T/o" "$T/e" "$HANKO" spf --dns-zone "$T/z" --ip 192.0.2.1 \
    --mail-from "jos$(printf '\303\251')@hexp.example" \
    --helo "$(printf 'x\r\nSMTP-injected')" --json
sane "spf exp= with the client's CR LF and 8-bit bytes" 0 &&
if $PY -c 'import json,sys; e=json.load(open(sys.argv[1]))["explanation"] or ""
sys.exit(0 if all(32 <= ord(c) < 127 for c in e) else 1)' "$T/o"; then
	ok "spf exp= stays printable US-ASCII ($(field "$T/o" explanation))"
else nok "spf exp= carries the client's bytes: $(field "$T/o" explanation)"; fi
hspf "ip6 with 8 groups then ::" permerror 2001:db8::1 u@ip6eight.example
run "$T/o" "$T/e" "$HANKO" spf --dns-zone "$T/z" --ip 192.0.2.1 \
    --mail-from "$(head -c 1100 /dev/zero | tr '\0' a)@big.example" \
    --helo h.example --json
if [ $rc -eq 64 ] && [ ! -s "$T/o" ]; then
	ok "spf MAIL FROM over 1024 octets: refused (64), no made-up result"
else nok "spf MAIL FROM over 1024 octets: exit $rc, $(head -c 80 "$T/o")"; fi
for s in "" "@" "a@" "@example" "$(head -c 1000 /dev/zero | tr '\0' x)@big.example" \
    "u@$(head -c 300 /dev/zero | tr '\0' a).example" "u@exa mple" "u@..example"; do
	run "$T/o" "$T/e" "$HANKO" spf --dns-zone "$T/z" --ip 192.0.2.1 \
	    --mail-from "$s" --helo helo.example --json
	sane "spf sender '$(echo "$s" | head -c 30)'" 0 &&
	    ok "spf sender '$(echo "$s" | head -c 30)': $(field "$T/o" result)"
done

# --- DMARC ------------------------------------------------------------
cat >"$T/z" <<'Z'
$ORIGIN example.
_dmarc.absurd TXT "v=DMARC1; p=foo; sp=bar; np=baz; adkim=zz; aspf=; pct=99999999999999999999999; fo=:::; rf=x; ri=-1; psd=maybe; t=perhaps"
_dmarc.absurd-rua TXT "v=DMARC1; p=quarantine; pct=-5; rua=mailto:"
_dmarc.many TXT "v=DMARC1; p=reject"
_dmarc.many TXT "v=DMARC1; p=none"
_dmarc.nul TXT "v=DMARC1; p=reject\000; sp=none"
_dmarc.lower TXT "v=dmarc1; p=reject"
_dmarc.cloop CNAME _dmarc.cloop2.example.
_dmarc.cloop2 CNAME _dmarc.cloop.example.
_dmarc.tempf TXT "HANKO-TEMPFAIL"
Z
$PY - >>"$T/z" <<'PYEOF'
tags = "v=DMARC1; p=reject; " + "; ".join("x%d=y" % i for i in range(5000))
print("_dmarc.tags TXT " + " ".join('"%s"' % tags[i:i + 255] for i in range(0, len(tags), 255)))
rua = "v=DMARC1; p=reject; rua=" + ",".join("mailto:r%d@example" % i for i in range(1000))
print("_dmarc.rua TXT " + " ".join('"%s"' % rua[i:i + 255] for i in range(0, len(rua), 255)))
print('_dmarc.deep TXT "v=DMARC1; p=reject"')
PYEOF
msg() { printf 'From: %s\nTo: r@rcpt.example\nSubject: hostile\n\nbody\n' "$1" >"$T/m"; }
ENV="--ip 192.0.2.1 --mail-from bounce@nowhere.example --helo helo.example"

msg "a@absurd.example"; hdmarc "every tag absurd" 'none\|permerror' "$T/m" $ENV
msg "a@absurd-rua.example"; hdmarc "pct=-5, empty rua" 'fail\|none' "$T/m" $ENV
msg "a@many.example"; hdmarc "two DMARC records" none "$T/m" $ENV
msg "a@nul.example"; hdmarc "NUL in the record" 'none\|permerror' "$T/m" $ENV
msg "a@lower.example"; hdmarc "v=dmarc1 in lower case" 'fail\|none' "$T/m" $ENV
msg "a@cloop.example"; hdmarc "CNAME loop at _dmarc" temperror "$T/m" $ENV
msg "a@tempf.example"; hdmarc "_dmarc lookup times out" temperror "$T/m" $ENV
msg "a@tags.example"; hdmarc "5,000 tags" 'fail\|none' "$T/m" $ENV
msg "a@rua.example"; hdmarc "1,000 rua URIs" fail "$T/m" $ENV
D=$(i=0; while [ $i -lt 120 ]; do printf 'l%d.' $i; i=$((i+1)); done)
# Too long for the DNS, but its parents are not: the walk still reaches
# deep.example's p=reject (a spoofer cannot escape it with a long name).
msg "a@${D}deep.example"; hdmarc "From domain of 122 labels" fail "$T/m" $ENV
check "dmarc 122 labels: deep.example's p=reject applies" \
    test "$(field "$T/o" dmarc.disposition)" = reject
L250=$($PY -c 'print(".".join(["a" * 60] * 4) + ".x")')
msg "ceo@$L250.deep.example"; hdmarc "From domain of 251 octets" fail "$T/m" $ENV
check "dmarc 251-octet From: p=reject applies, no temperror" \
    test "$(field "$T/o" dmarc.disposition)" = reject
msg "ceo@x+y.deep.example"; hdmarc "From domain with '+' in a label" fail "$T/m" $ENV
check "dmarc x+y.deep.example: p=reject applies" \
    test "$(field "$T/o" dmarc.disposition)" = reject
msg "a@$(head -c 400 /dev/zero | tr '\0' a).example"
hdmarc "From label of 400 octets" 'fail\|none\|permerror' "$T/m" $ENV
msg "$($PY -c 'print(", ".join("u%d@x%d.example" % (i, i) for i in range(1000)))')"
hdmarc "1,000 addresses in From" fail "$T/m" $ENV
printf 'From: a@x.example\nFrom: b@y.example\nSubject: two\n\nbody\n' >"$T/m"
hdmarc "two From fields" fail "$T/m" $ENV
printf 'Subject: none\n\nbody\n' >"$T/m"
hdmarc "no From field" fail "$T/m" $ENV
printf 'From: ceo@deep.example, a@a1.example, b@a2.example, c@a3.example, d@a4.example\n\nbody\n' >"$T/m"
hdmarc "From with 5 domains (4 evaluated)" fail "$T/m" $ENV
check "dmarc 5 From domains: the strictest policy (reject) applies" \
    test "$(field "$T/o" dmarc.disposition)" = reject
printf 'From: ceo@deep.example, "x" <x>\n\nbody\n' >"$T/m"
hdmarc "From with an address without a domain" fail "$T/m" $ENV
check "dmarc From with a domainless address: p=reject still applies" \
    test "$(field "$T/o" dmarc.disposition)" = reject
printf 'From: \001\377@\000\nSubject: bin\n\nbody\n' >"$T/m"
hdmarc "binary From" 'fail\|none\|permerror' "$T/m" $ENV
printf 'From: a@absurd-rua.example\n\n' >"$T/m"
check_exit "dmarc --ip that is not an address: usage error" 64 \
    "$HANKO" dmarc --dns-zone "$T/z" --ip 999.1.1.1 --mail-from x@y "$T/m"
mkdir "$T/env"
printf 'client_address=999.1.1.1\nsender=<x@y.example>\n\000\377=\n' >"$T/env/m.env"
hdmarc "sidecar with a bad IP and junk lines" fail "$T/m" --envelope-dir "$T/env"
_p=$(field "$T/o" envelope.problem); _s=$(field "$T/o" spf.result)
if [ "$_s" = none ] && echo "$_p" | grep -q 'not an address'; then
	ok "dmarc bad sidecar IP: spf=none, problem reported ($_p)"
else nok "dmarc bad sidecar IP: spf=$_s problem=$_p"; fi
finish
