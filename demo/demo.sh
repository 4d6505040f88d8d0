#!/bin/sh
# make demo: create an RSA-2048 and an Ed25519 key, sign the bundled sample
# messages with both (as RFC 8463 recommends), verify them offline against
# a zone file holding the two public keys, show what a receiver's DMARC
# check says, and batch-sign a generated campaign.
set -eu
HANKO=${1:-build/release/hanko}
D=build/demo
rm -rf "$D"
mkdir -p "$D/keys" "$D/signed"
echo "== keys: hanko keygen (the DNS records to publish)"
"$HANKO" keygen -d demo.example -s rsa2026 -a rsa -b 2048 -o "$D/keys"
"$HANKO" keygen -d demo.example -s ed2026 -a ed25519 -o "$D/keys"
cat "$D/keys/rsa2026.txt" "$D/keys/ed2026.txt" > "$D/keys/demo.zone"
echo
for m in demo/msgs/*.eml; do
	n=$(basename "$m")
	"$HANKO" sign -d demo.example -s rsa2026 -k "$D/keys/rsa2026.private" \
	    -s ed2026 -k "$D/keys/ed2026.private" < "$m" > "$D/signed/$n"
done
echo "== signed: the first message's new header fields"
sed -n '/^From:/q;p' "$D/signed/01-newsletter.eml"
echo
echo "== verify: hanko verify --dns-zone $D/keys/demo.zone $D/signed"
"$HANKO" verify --authserv-id demo.hanko --dns-zone "$D/keys/demo.zone" \
    "$D/signed"
echo
echo "== a tampered copy (one body byte changed) must fail:"
sed 's/12.00 EUR/13.00 EUR/' "$D/signed/02-invoice-crlf.eml" > "$D/tampered.eml"
"$HANKO" verify --authserv-id demo.hanko --dns-zone "$D/keys/demo.zone" \
    "$D/tampered.eml" || echo "(exit $?: no passing signature, as expected)"

echo
echo "== what a receiver would say: hanko dmarc (SPF + DKIM + DMARC)"
cat >> "$D/keys/demo.zone" <<'ZONE'
demo.example. 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
bounce.demo.example. 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.demo.example. 3600 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@demo.example"
ZONE
"$HANKO" dmarc --authserv-id demo.hanko --dns-zone "$D/keys/demo.zone" \
    --ip 192.0.2.25 --mail-from bounce@bounce.demo.example \
    --helo mta.demo.example "$D/signed/01-newsletter.eml"
echo "== the tampered copy, sent from an address SPF does not allow:"
"$HANKO" dmarc --authserv-id demo.hanko --dns-zone "$D/keys/demo.zone" \
    --ip 198.51.100.9 --mail-from bounce@bounce.demo.example \
    --helo mta.demo.example "$D/tampered.eml" ||
    echo "(exit $?: dmarc=fail, p=reject applies, as expected)"

echo
echo "== batch: 10,000 generated newsletter messages through the spool pipeline"
mkdir -p "$D/spool"
awk -v d="$D/spool" 'BEGIN {
	body = "";
	for (l = 0; l < 30; l++)
		body = body "Line " l " of this issue: hanko signs a whole campaign at the speed of the hardware.\r\n";
	for (i = 1; i <= 10000; i++) {
		f = d "/msg" sprintf("%05d", i);
		printf "From: \"Hanko News\" <news@demo.example>\r\nTo: reader%d@example.net\r\nSubject: Issue 42 for reader %d\r\nDate: Sat, 28 Nov 2026 09:00:00 +0000\r\nMessage-ID: <%d.42@demo.example>\r\nList-Unsubscribe: <https://demo.example/u/%d>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello reader %d,\r\n\r\n%s", i, i, i, i, i, body > f;
		close(f);
	}
}'
"$HANKO" sign -d demo.example -s rsa2026 -k "$D/keys/rsa2026.private" \
    -s ed2026 -k "$D/keys/ed2026.private" "$D/spool" "$D/outbound"
echo "== the outbound directory verifies:"
"$HANKO" verify --authserv-id demo.hanko --dns-zone "$D/keys/demo.zone" \
    "$D/outbound" > "$D/outbound.ar" && echo "all $(ls "$D/outbound" | wc -l) messages: dkim=pass (rsa-sha256 and ed25519-sha256)"
