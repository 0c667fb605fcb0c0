#!/bin/bash
# Signals sent while siprof holds threads all reach the program, and a
# process stopped with SIGSTOP stays stopped through a dump, then continues.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
need_debug_hooks "signals sent while threads are held (SIPROF_DEBUG_HOLD_US)"
start_chain

# Hold each thread 20 ms so that many signals arrive while one is held.
SIPROF_DEBUG_HOLD_US=20000 bash -c '
	for i in 1 2 3 4 5 6 7 8; do "$0" dump "$1" > /dev/null || exit 1; done' \
	"$SIPROF" "$TARGET_PID" 2> "$tmpdir/err" &
dumper=$!
sent=0
while kill -0 "$dumper" 2>/dev/null; do
	kill -s SIGRTMIN "$TARGET_PID"
	sent=$((sent + 1))
	sleep 0.005
done
wait "$dumper" || fail "a dump failed: $(cat "$tmpdir/err")"
[ $sent -ge 20 ] || fail "only $sent signals were sent; the dumps ended too soon"
assert_running "$TARGET_PID"
result=$(stop_chain)
[ "$(result_field rt "$result")" = "$sent" ] ||
	fail "sent $sent real-time signals, the program received $(result_field rt "$result")"
[ "$(result_field eintr "$result")" = 0 ] || fail "epoll_wait saw EINTR: $result"

# A stopped process: dumped, still stopped afterwards, runs after SIGCONT.
# (SIGSTOP itself makes epoll_wait fail with EINTR after SIGCONT, signal(7),
# so EINTR is not counted here.)
start_chain
kill -STOP "$TARGET_PID"
sleep 0.2
"$SIPROF" dump "$TARGET_PID" > "$tmpdir/out" 2> "$tmpdir/err" ||
	fail "dump of a stopped process exited with $?: $(cat "$tmpdir/err")"
frames "$tmpdir/out" worker | grep -q '^level1$' || fail "no worker stack in the stopped process"
sleep 0.2
for t in /proc/"$TARGET_PID"/task/*; do
	s=$(sed 's/.*) //' "$t/stat" | cut -d' ' -f1)
	[ "$s" = T ] || fail "thread ${t##*/} is in state $s after the dump, not stopped (T)"
done
p1=$(progress_of "$TARGET_PID")
sleep 0.2
[ "$(progress_of "$TARGET_PID")" = "$p1" ] || fail "the stopped process ran during the dump"
kill -CONT "$TARGET_PID"
sleep 0.3
assert_running "$TARGET_PID"
[ "$(progress_of "$TARGET_PID")" != "$p1" ] || fail "the process did not continue after SIGCONT"
stop_chain > /dev/null
