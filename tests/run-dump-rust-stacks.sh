#!/bin/bash
# The Rust target's acceptor thread, blocked in accept(2), is copied without
# a stop (only sp and pc are known) through std's frame-pointer code, and
# its main thread is held in pthread_join: both stacks must be gdb's, frame
# by frame, with libdw and with libunwind (which, left to find the Rust
# binary's tables itself, skips frames: lld lays segments out at file
# offsets it miscounts).
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "no python3"
start_rust

acceptor=
for t in /proc/$TARGET_PID/task/*; do
	[ "$(cat "$t/comm")" = acceptor ] && acceptor=${t##*/}
done
[ -n "$acceptor" ] || fail "no acceptor thread in $TARGET_PID"
i=0
until grep -q '^288 ' /proc/$TARGET_PID/task/$acceptor/syscall 2> /dev/null; do
	[ $i -lt 100 ] || fail "the acceptor is not in accept4: $(cat /proc/$TARGET_PID/task/$acceptor/syscall)"
	sleep 0.1; i=$((i + 1))
done

gdb_bt "$TARGET_PID" "$tmpdir/gdb"
for uw in dw libunwind; do
	"$SIPROF" dump --json -u $uw "$TARGET_PID" > "$tmpdir/$uw.json" 2> "$tmpdir/$uw.err" ||
		fail "dump -u $uw exited with $?: $(cat "$tmpdir/$uw.err")"
	for tid in "$acceptor" "$TARGET_PID"; do
		# glibc's futex wait ends in a jump: gdb rebuilds that frame
		# from call-site information; the machine stack lacks it.
		python3 "$top_srcdir/tests/gdb-stack-compare.py" "$tmpdir/gdb" "$tmpdir/$uw.json" "$tid" \
			--tail __futex_abstimed_wait_cancelable64 > "$tmpdir/cmp" ||
			fail "-u $uw: thread $tid's stack is not gdb's: $(cat "$tmpdir/cmp")"
		cat "$tmpdir/cmp"
	done
done
for uw in dw libunwind; do
	python3 "$top_srcdir/tests/gdb-stack-compare.py" "$tmpdir/gdb" "$tmpdir/$uw.json" "$acceptor" |
		grep -q 'ok gdb.*accept_loop' || fail "-u $uw: the acceptor's stack does not reach rsprog::accept_loop"
	python3 "$top_srcdir/tests/gdb-stack-compare.py" "$tmpdir/gdb" "$tmpdir/$uw.json" "$TARGET_PID" \
		--tail __futex_abstimed_wait_cancelable64 | grep -q 'ok gdb.*lang_start_internal' ||
		fail "-u $uw: the main thread's stack does not reach std::rt::lang_start_internal"
done
