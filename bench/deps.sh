#!/bin/sh
# make bench-deps: install the peers and tools bench/run.py measures with
# (Debian 12 packages), if missing. Runs apt-get as root; otherwise says
# what to install and fails. The harness runs without them too: a missing
# peer's rows are reported as "skipped", never as numbers.
PKGS="python3 python3-dkim python3-nacl libmail-dkim-perl libnet-dns-perl \
libopendkim-dev pkg-config time linux-perf valgrind"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: missing packages:$missing" >&2
	echo "bench: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "bench: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null ||
    { echo "bench: apt-get install failed" >&2; exit 1; }
