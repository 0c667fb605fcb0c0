#!/bin/bash
# 200 dumps in a row: the thread in epoll_wait never sees EINTR, the read()
# and futex waiters never notice, and the target is left running each time.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_chain

i=0
while [ $i -lt 200 ]; do
	"$SIPROF" dump "$TARGET_PID" > "$tmpdir/out" 2> "$tmpdir/err" ||
		fail "dump $i exited with $?: $(cat "$tmpdir/err")"
	grep -q 'poller" sleeping in epoll_wait (not stopped)' "$tmpdir/out" ||
		fail "dump $i: the epoll thread was not left alone: $(grep poller "$tmpdir/out")"
	i=$((i + 1))
done
assert_running "$TARGET_PID"
result=$(stop_chain)
[ "$(result_field eintr "$result")" = 0 ] || fail "epoll_wait returned EINTR: $result"
