#!/bin/sh
# make bench: install what siprof is compared against (linux-perf, gdb,
# elfutils' eu-stack) when missing, then run tests/bench/bench.py from the
# build directory. Arguments go to bench.py (e.g. --quick, --only 1,5).
set -eu
srcdir=$(cd "$(dirname "$0")" && pwd)

missing=
command -v perf > /dev/null 2>&1 || missing="$missing linux-perf"
command -v gdb > /dev/null 2>&1 || missing="$missing gdb"
command -v eu-stack > /dev/null 2>&1 || missing="$missing elfutils"
command -v python3 > /dev/null 2>&1 || missing="$missing python3"
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "bench: missing:$missing; install them (apt-get install$missing) or run as root" >&2
		exit 1
	fi
	echo "bench: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing > /dev/null
fi
if ! perf record -q -o /dev/null -- true > /dev/null 2>&1; then
	echo "bench: perf cannot record here (kernel.perf_event_paranoid is" \
	     "$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo unknown);" \
	     "run as root or lower it)" >&2
	exit 1
fi
exec python3 "$srcdir/bench.py" --builddir . --out bench-results.md "$@"
