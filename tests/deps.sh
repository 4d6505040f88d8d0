#!/bin/sh
# Install the Debian packages hanko builds and tests with, if missing, or
# the packages named as arguments (bench/deps.sh passes its own list).
# Runs apt-get as root; otherwise says what to install and fails.
BUILD="gcc make pkg-config libssl-dev liburing-dev libmimalloc-dev \
libcmocka-dev libldns-dev libunbound-dev libpsl-dev libidn2-dev publicsuffix \
libxml2-dev zlib1g-dev libarchive-dev libsqlite3-dev libjson-c-dev \
libmicrohttpd-dev \
libmilter-dev"
# One package a line in each group, so additions merge cleanly.
TEST="python3 python3-dkim python3-spf python3-yaml
clang libclang-rt-14-dev cppcheck clang-tidy
libopendmarc-dev libmail-dkim-perl opendkim-tools libopendkim-dev
nsd ldnsutils jq openssl
libxml2-utils sqlite3 chromium
debhelper dpkg-dev fakeroot lintian man-db
curl
prometheus
postfix
opendkim"
missing=""
[ $# -gt 0 ] || set -- $BUILD $TEST
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "hanko: missing packages:$missing" >&2
	echo "hanko: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "hanko: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Tests start what they need themselves: no package may start a system
# daemon (prometheus, postfix and opendkim ship one; the tests run
# their own private instances). A policy
# layer that refuses every start, only where the system has none.
rc=/usr/sbin/policy-rc.d
own_rc=no
if [ ! -e $rc ]; then
	printf '#!/bin/sh\nexit 101\n' >$rc && chmod 755 $rc && own_rc=yes
fi
apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null
st=$?
[ $own_rc = yes ] && rm -f $rc
[ $st -eq 0 ] || { echo "hanko: apt-get install failed" >&2; exit 1; }
