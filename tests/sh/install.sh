# make install / make uninstall into a private DESTDIR, the man page
# against every option --help lists, the example configuration, and the
# Debian package built from a copy of the tree and inspected (dpkg-deb,
# lintian) without being installed.
. "$(dirname "$0")/../lib.sh"

R=$T/root
P=/usr/local
make -C "$TOP" --no-print-directory -s install DESTDIR="$R" PREFIX=$P \
    >"$T/install.out" 2>&1
check "make install succeeds" test $? -eq 0

want="$P/bin/hanko
$P/lib/hanko/hanko-report
$P/lib/systemd/system/hanko-milter.service
$P/lib/systemd/system/hanko-watch@.service
$P/share/doc/hanko/examples/KeyTable
$P/share/doc/hanko/examples/SigningTable
$P/share/doc/hanko/examples/milter.conf
$P/share/doc/hanko/examples/watch.env
$P/share/man/man1/hanko.1"
got=$(cd "$R" && find . ! -type d | sed 's/^\.//' | sort)
check "make install writes exactly the binaries, man page, unit and examples" \
    test "$got" = "$(echo "$want" | sort)"
check "the installed binary runs" "$R$P/bin/hanko" --version
check "the installed hanko runs the installed hanko-report (hanko report)" \
    sh -c "'$R$P/bin/hanko' report --help | grep -q 'usage: hanko report'"
check "hanko itself is not linked with the report libraries" \
    sh -c "! ldd '$R$P/bin/hanko' | grep -q 'libxml2\|libarchive\|libsqlite3\|libicu'"
check "the installed binary has no fault-injection hook" \
    sh -c "! grep -q HANKO_FAULT '$R$P/bin/hanko'"
check "the binary is installed executable, the rest read-only" \
    test "$(stat -c %a "$R$P/bin/hanko" "$R$P/share/man/man1/hanko.1")" = \
    "$(printf '755\n644')"

# The man page renders without groff warnings and names every option.
MAN=$R$P/share/man/man1/hanko.1
if command -v man >/dev/null; then
	w=$(MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >"$T/man.txt")
	check "man -l renders hanko(1) without warnings" test -z "$w"
	check "the rendered page has the commands" \
	    grep -q "hanko sign" "$T/man.txt"
fi
missing=""
for c in "" sign verify spf dmarc keygen report "report aggregate" milter; do
	$HANKO $c --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
done | sort -u >"$T/opts"
while read -r o; do
	esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
	grep -q -- "$esc" "$MAN" || missing="$missing $o"
done <"$T/opts"
check "every long option --help lists is in hanko(1) (missing:$missing)" \
    test -z "$missing"
check "the option list is not empty" test "$(wc -l <"$T/opts")" -gt 20

# The example tables work as shipped, once their key paths are ours.
K=$TOP/tests/vectors/dkim/keys
mkdir -p "$T/keys" && cp "$K/rsa.private" "$K/ed.private" "$T/keys/" &&
    chmod 600 "$T/keys/"*
sed -e "s|/etc/hanko/keys/example.com/rsa2026.private|$T/keys/rsa.private|" \
    -e "s|/etc/hanko/keys/example.com/ed2026.private|$T/keys/ed.private|" \
    "$R$P/share/doc/hanko/examples/KeyTable" >"$T/KeyTable"
printf 'From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\n\r\nhi\r\n' \
    >"$T/msg"
$HANKO sign --key-table "$T/KeyTable" --multiple-signatures \
    --signing-table "refile:$R$P/share/doc/hanko/examples/SigningTable" \
    <"$T/msg" >"$T/signed" 2>"$T/signed.err"
check "the example KeyTable and SigningTable sign with both keys" \
    test "$(grep -c '^DKIM-Signature:.*d=example.com' "$T/signed")" -eq 2

if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/unit"
	for u in hanko-watch@.service hanko-milter.service; do
		sed "s|/usr/bin/hanko|$R$P/bin/hanko|" \
		    "$R$P/lib/systemd/system/$u" >"$T/unit/$u"
		systemd-analyze verify --man=no "$T/unit/$u" \
		    >"$T/unit.out" 2>&1
		check "systemd-analyze accepts $u, without a warning" \
		    test $? -eq 0 -a ! -s "$T/unit.out"
		sed 's/^/#   /' "$T/unit.out"
	done
fi

# The example milter.conf is read as shipped (a socket that cannot be
# opened ends the run after the whole file was accepted).
sed -e '/^key-table/d' -e '/^signing-table/d' \
    "$R$P/share/doc/hanko/examples/milter.conf" >"$T/milter.conf"
printf 'socket unix:%s/no/such/dir/sock\n' "$T" >>"$T/milter.conf"
$HANKO milter --config "$T/milter.conf" >"$T/milter.out" 2>&1
check "the example milter.conf is accepted (fails only at the socket)" \
    grep -q 'cannot listen' "$T/milter.out"
printf 'no-such-option 1\n' >"$T/bad.conf"
check_exit "an unknown option in --config is refused (78)" 78 \
    $HANKO milter --config "$T/bad.conf" --socket inet:1@127.0.0.1

make -C "$TOP" --no-print-directory -s uninstall DESTDIR="$R" PREFIX=$P \
    >"$T/uninstall.out" 2>&1
check "make uninstall succeeds" test $? -eq 0
check "make uninstall removes every file it installed" \
    test -z "$(find "$R" ! -type d)"
check "make uninstall removes hanko's own doc directory" \
    test ! -e "$R$P/share/doc/hanko"
mkdir -p "$R$P/bin" && echo keep >"$R$P/bin/other"
make -C "$TOP" --no-print-directory -s uninstall DESTDIR="$R" PREFIX=$P \
    >/dev/null 2>&1
check "make uninstall leaves other files alone" test -f "$R$P/bin/other"

# The Debian package, built from a copy so the tree stays clean.
if ! command -v dpkg-buildpackage >/dev/null; then
	nok "dpkg-buildpackage missing (tests/deps.sh installs it)"
	finish
	exit
fi
mkdir -p "$T/pkg/src"
(cd "$TOP" && git ls-files -co --exclude-standard 2>/dev/null |
    grep -v '^build/' | tar -cf - -T -) | tar -xf - -C "$T/pkg/src"
(cd "$T/pkg/src" && dpkg-buildpackage -us -uc -b) >"$T/deb.out" 2>&1
check "make deb's dpkg-buildpackage builds the package" test $? -eq 0
DEB=$(ls "$T"/pkg/hanko_*_*.deb 2>/dev/null | head -1)
if [ -z "$DEB" ]; then
	nok "no .deb produced"
	tail -20 "$T/deb.out" | sed 's/^/#   /'
	finish
	exit
fi
dpkg-deb -c "$DEB" | awk '{print $6}' >"$T/deb.list"
for f in ./usr/bin/hanko ./usr/lib/hanko/hanko-report \
    ./usr/share/man/man1/hanko.1.gz \
    ./lib/systemd/system/hanko-watch@.service \
    ./lib/systemd/system/hanko-milter.service \
    ./usr/share/doc/hanko/examples/milter.conf \
    ./usr/share/doc/hanko/examples/KeyTable ./usr/share/doc/hanko/copyright \
    ./etc/hanko/keys/; do
	check "the package ships $f" grep -qx -- "$f" "$T/deb.list"
done
check "nothing under /usr/local in the package" \
    sh -c "! grep -q '^./usr/local' $T/deb.list"
dpkg-deb -x "$DEB" "$T/pkgroot"
check "the packaged binary runs" "$T/pkgroot/usr/bin/hanko" --version
check "the packaged hanko finds the packaged hanko-report" \
    sh -c "'$T/pkgroot/usr/bin/hanko' report --help | grep -q 'usage: hanko report'"
dpkg-deb -e "$DEB" "$T/pkgctl"
check "postinst creates the hanko system user" \
    grep -q 'adduser --system' "$T/pkgctl/postinst"
check "postinst makes /etc/hanko/keys 0700, owned by hanko" \
    sh -c "grep -q 'chmod 0700 /etc/hanko/keys' $T/pkgctl/postinst &&
    grep -q 'chown hanko:hanko /etc/hanko/keys' $T/pkgctl/postinst"
# dh_installsystemd --no-enable: hanko-watch@ (a template) gets no
# snippet; hanko-milter's re-enables it only where the admin had enabled
# it before (debian-installed and was-enabled), and records state.
check "the units are shipped disabled and not started" \
    sh -c "! grep -q 'deb-systemd-invoke start' $T/pkgctl/postinst &&
    ! grep -q 'hanko-watch@' $T/pkgctl/postinst &&
    awk '/deb-systemd-helper debian-installed/ { g = 1 }
         /deb-systemd-helper --quiet was-enabled/ { if (g) w = 1 }
         /deb-systemd-helper enable/ { if (!w) bad = 1 }
         /^[ \t]*fi[ \t]*$/ { if (w) w = 0; else g = 0 }
         END { exit bad }' $T/pkgctl/postinst"
check "the package depends on adduser" \
    sh -c "dpkg-deb -f $DEB Depends | grep -q adduser"
if command -v lintian >/dev/null; then
	lintian --fail-on error "$T"/pkg/hanko_*.changes >"$T/lintian.out" 2>&1
	rc=$?
	check "lintian finds no error (exit $rc)" test $rc -eq 0
	grep '^E:' "$T/lintian.out" | sed 's/^/#   /'
else
	nok "lintian missing (tests/deps.sh installs it)"
fi
finish
