#!/bin/bash
# SIPROF_DEBUG_HOLD_US and SIPROF_DEBUG_UNWIND_US, the test-only aids that
# hold stopped threads and slow unwinding down, exist only in a build
# configured with --enable-debug-hooks (HACKING.md). In a default build
# the binary does not hold their names, so nothing reads them, and a dump
# with them set says nothing of them; in a debug-hooks build siprof warns
# that one is set.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_chain

SIPROF_DEBUG_HOLD_US=1000 SIPROF_DEBUG_UNWIND_US=1000 "$SIPROF" dump "$TARGET_PID" \
	> "$tmpdir/out" 2> "$tmpdir/err" || fail "dump failed: $(cat "$tmpdir/err")"
frames "$tmpdir/out" worker | grep -q '^level1$' || fail "no worker stack in the dump: $(cat "$tmpdir/out")"
if grep -qx '#define SIPROF_DEBUG_HOOKS 1' "$top_builddir/config.h"; then
	echo "built with --enable-debug-hooks"
	grep -aq SIPROF_DEBUG_HOLD_US "$SIPROF" || fail "config.h has the debug hooks, but src/siprof does not name SIPROF_DEBUG_HOLD_US"
	grep -q '^siprof: warning: SIPROF_DEBUG_HOLD_US is 1000: .*for tests of siprof itself' "$tmpdir/err" ||
		fail "dump with SIPROF_DEBUG_HOLD_US set gave no warning: $(cat "$tmpdir/err")"
else
	echo "a default build"
	if grep -aq SIPROF_DEBUG_ "$SIPROF"; then
		fail "a build without --enable-debug-hooks still names $(grep -ao 'SIPROF_DEBUG_[A-Z_]*' "$SIPROF" | sort -u | tr '\n' ' ')"
	fi
	[ ! -s "$tmpdir/err" ] || fail "dump with SIPROF_DEBUG_* set printed: $(cat "$tmpdir/err")"
fi
assert_running "$TARGET_PID"
stop_chain > /dev/null
