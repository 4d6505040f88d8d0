#!/bin/sh
# hanko report --html: the page Chromium renders (headless) has one
# section per domain whose day bars add up to the store's totals, pass
# rate bars per source, nothing fetched from elsewhere, and its bars are
# actually drawn (their colours in a screenshot).
. "$(dirname "$0")/../lib.sh"

CHROMIUM=$(command -v chromium) || skip_all "no chromium"
GEN="python3 $TOP/tests/gen/report_gen.py"
G=$T/gen; mkdir -p "$G"
tr '|' '\t' <<EOF | $GEN batch
xml|$G/a.xml|Rep One|a1|example.com|192.0.2.1,40,pass,pass,example.com;198.51.100.7,9,fail,fail,example.com
xml|$G/b.xml|Rep Two|b1|example.com|192.0.2.1,30,pass,fail,example.com;203.0.113.9,6,fail,fail,example.com
xml|$G/c.xml|Rep One|c1|other.example|192.0.2.9,12,pass,pass,other.example
EOF
# b.xml a day later than the others
sed -i 's|<begin>1700000000</begin><end>1700086399</end>|<begin>1700086400</begin><end>1700172799</end>|' "$G/b.xml"
"$HANKO" report --db "$T/r.db" --html "$T/html" "$G" >/dev/null 2>"$T/err"
[ -s "$T/html/index.html" ] && ok "html: --html DIR writes DIR/index.html" ||
    nok "html: no page: $(cat "$T/err")"
ls -A "$T/html" | grep -qvx index.html &&
    nok "html: DIR holds more than index.html" ||
    ok "html: DIR holds only index.html"
"$HANKO" report --db "$T/r.db" --json >"$T/j.json" 2>/dev/null

chrome() {
	timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	    --disable-background-networking --disable-component-update \
	    --no-first-run --user-data-dir="$T/profile" "$@" 2>/dev/null
}
chrome --dump-dom "file://$T/html/index.html" >"$T/dom.html"
grep -q '<svg class="days"' "$T/dom.html" &&
    ok "chromium: the page loads and has its SVG plots" ||
    nok "chromium: dump-dom: $(head -c 300 "$T/dom.html")"
(cd "$T" && chrome --window-size=900,1400 --screenshot="$T/shot.png" \
    "file://$T/html/index.html" >/dev/null)
[ -s "$T/shot.png" ] && ok "chromium: screenshot taken" ||
    nok "chromium: no screenshot"
python3 "$TOP/tests/gen/html_check.py" "$T/dom.html" "$T/j.json" \
    "$T/shot.png" >"$T/chk"
tab_report <"$T/chk"
finish
