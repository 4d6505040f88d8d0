#!/bin/sh
# make bench-deps: install the peers and tools bench/run.py measures with
# (Debian 12 packages), if missing, through tests/deps.sh. The harness runs
# without them too: a missing peer's rows are reported as "skipped", never
# as numbers.
exec sh "$(dirname "$0")/../tests/deps.sh" python3 python3-dkim python3-nacl \
    libmail-dkim-perl libnet-dns-perl libopendkim-dev pkg-config time \
    linux-perf valgrind postfix
