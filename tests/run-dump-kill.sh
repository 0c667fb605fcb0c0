#!/bin/bash
# Whatever ends siprof while it holds a thread -- SIGKILL, a crash (SIGSEGV),
# SIGINT, SIGTERM, SIGHUP -- the target keeps running, untraced.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
need_debug_hooks "holding a thread while siprof is ended (SIPROF_DEBUG_HOLD_US)"
start_chain

for sig in KILL SEGV INT TERM HUP; do
	# Each stopped thread is held 2 s: the signal lands while one is held.
	SIPROF_DEBUG_HOLD_US=2000000 "$SIPROF" dump "$TARGET_PID" > "$tmpdir/out" 2> "$tmpdir/err" &
	dumper=$!
	i=0
	until grep -q '	t ' <(awk '{print "\t" $3 " "}' /proc/"$TARGET_PID"/task/*/stat 2>/dev/null); do
		[ $i -lt 100 ] || fail "siprof never held a thread"
		sleep 0.02
		i=$((i + 1))
	done
	kill -s "$sig" "$dumper"
	wait "$dumper"
	rc=$?
	sleep 0.1
	assert_running "$TARGET_PID"
	p1=$(progress_of "$TARGET_PID")
	sleep 0.2
	[ "$(progress_of "$TARGET_PID")" != "$p1" ] || fail "after SIG$sig the worker thread does not run"
	case $sig in
	INT|TERM|HUP)
		[ $rc = 130 ] || fail "SIG$sig: exit code $rc, expected 130"
		grep -q "interrupted; process $TARGET_PID was detached and keeps running" "$tmpdir/err" ||
			fail "SIG$sig: no message: $(cat "$tmpdir/err")"
		;;
	SEGV)
		grep -q "crashed; the target was detached and keeps running" "$tmpdir/err" ||
			fail "SIGSEGV: no crash message: $(cat "$tmpdir/err")"
		;;
	esac
done
result=$(stop_chain)
[ "$(result_field eintr "$result")" = 0 ] || fail "epoll_wait saw EINTR: $result"
