#!/bin/sh
# Install the Debian packages hanko builds and tests with, if missing, or
# the packages named as arguments (bench/deps.sh passes its own list).
# Runs apt-get as root; otherwise says what to install and fails.
BUILD="gcc make pkg-config libssl-dev liburing-dev libmimalloc-dev \
libcmocka-dev libldns-dev libunbound-dev libpsl-dev libidn2-dev publicsuffix \
libxml2-dev zlib1g-dev libarchive-dev libsqlite3-dev libjson-c-dev"
# One package a line in each group, so additions merge cleanly.
TEST="python3 python3-dkim python3-spf python3-yaml
clang libclang-rt-14-dev cppcheck clang-tidy
libopendmarc-dev libmail-dkim-perl opendkim-tools libopendkim-dev
nsd ldnsutils jq openssl
libxml2-utils sqlite3 chromium
debhelper dpkg-dev fakeroot lintian man-db
postfix"
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
# Installing postfix (smtp-sink, smtp-source, a private test instance)
# must not start a system daemon: a policy-rc.d that forbids every start,
# only while apt-get runs and only when the machine has none of its own.
rcd=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d &&
	    chmod 755 /usr/sbin/policy-rc.d && rcd=/usr/sbin/policy-rc.d
fi
apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null
rc=$?
[ -n "$rcd" ] && rm -f "$rcd"
[ $rc -eq 0 ] || { echo "hanko: apt-get install failed" >&2; exit 1; }
