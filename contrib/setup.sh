#!/bin/sh
# Set up siprof on Debian 12 and build it; then, with --demo, show the live
# view on the bundled demo program, or with --check, run the test suite.
#
#   sh contrib/setup.sh [--demo | --check | --build] [CONFIGURE-OPTIONS...]
#
# Installs missing Debian packages (as root; quiet when all are present),
# bootstraps and configures when needed, and builds. With CI=true the build
# uses --enable-werror. --check configures with --enable-debug-hooks, which
# the tests that hold a thread or slow unwinding down need (HACKING.md); a
# later --build or --demo keeps that configuration rather than rebuild.
# Exits 0 when the build, the tests, or the demo end normally.
set -eu
cd "$(dirname "$0")/.."

mode=build
case "${1:-}" in
--demo|--check|--build) mode=${1#--}; shift ;;
esac

packages="build-essential autoconf automake pkg-config libdw-dev libelf-dev
libunwind-dev libncurses-dev libcurl4-openssl-dev libsqlite3-dev zlib1g-dev
libjansson-dev libiberty-dev libc6-dbg g++ libjemalloc-dev elfutils binutils util-linux python3 procps tmux"
# What the tests read siprof's exports with, the Rust and Go targets are
# built with, and the programs and debugger stacks are compared against.
if [ "$mode" = check ]; then
	packages="$packages golang-go rustc gdb postgresql redis-server redis-tools python3-jsonschema chromium strace valgrind"
fi

missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: these Debian packages are missing:$missing" >&2
		echo "setup: run this script as root, or install them with apt-get" >&2
		exit 1
	fi
	echo "setup: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing > /dev/null
fi

if [ "${CI:-}" = true ]; then
	set -- --enable-werror "$@"
fi
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	echo "setup: bootstrapping"
	autoreconf -fi > /dev/null 2>&1 || autoreconf -fi
fi
opts="$*"
hooks="--enable-debug-hooks${opts:+ $opts}"
if [ "$mode" = check ]; then
	set -- --enable-debug-hooks "$@"
	opts=$hooks
fi
have=$(cat .setup-configure 2>/dev/null || :)
if [ ! -f Makefile ] || { [ "$have" != "$opts" ] && [ "$have" != "$hooks" ]; }; then
	echo "setup: configuring${opts:+ with $opts}"
	./configure --quiet "$@"
	printf '%s' "$opts" > .setup-configure
fi
jobs=$(nproc 2>/dev/null || echo 2)
make -s -j"$jobs"

case $mode in
build)
	echo "setup: built src/siprof"
	;;
check)
	# Build in parallel, test one at a time: several tests measure how a
	# profile comes out, and other tests' busy targets would skew them.
	make -s -j"$jobs" check TESTS=
	make -s -j1 check
	;;
demo)
	make -s -j"$jobs" contrib/demo/siprof-demo
	contrib/demo/siprof-demo 600 > /dev/null &
	demo=$!
	# However this script ends, the demo ends with it, and the script's
	# status stays siprof's (0 after q), not the demo's.
	trap 'rc=$?; kill "$demo" 2>/dev/null; wait "$demo" 2>/dev/null; exit $rc' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	sleep 1
	if [ -t 0 ] && [ -t 1 ]; then
		echo "setup: siprof attach $demo  (the demo program; press ? for keys, q to quit)"
		sleep 2
		src/siprof attach "$demo"
	else
		echo "setup: siprof attach --batch --iterations=3 $demo  (the demo program; not a terminal, so text)"
		src/siprof attach --batch --iterations=3 "$demo"
	fi
	;;
esac
