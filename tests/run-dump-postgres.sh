#!/bin/bash
# PostgreSQL client backends blocked in epoll_wait (idle, idle in a
# transaction, in pg_sleep) or in a semaphore wait (LOCK TABLE held by
# another session) are copied without a stop, so only sp and pc are known,
# and postgres is built with frame pointers (CFA=rbp+16): each stack must
# still be gdb's, frame by frame, down to PostgresMain and main.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "no python3"
start_postgres

start_pg_backends
sleeping=$PG_SLEEPING in_xact=$PG_IN_XACT idle=$PG_IDLE locked=$PG_LOCKED

for what in sleeping in_xact idle locked; do
	pid=${!what}
	"$SIPROF" dump --json "$pid" > "$tmpdir/$what.json" 2> "$tmpdir/$what.err" ||
		fail "dump of the $what backend ($pid) exited with $?: $(cat "$tmpdir/$what.err")"
	gdb_bt "$pid" "$tmpdir/$what.gdb"
	python3 "$top_srcdir/tests/gdb-stack-compare.py" "$tmpdir/$what.gdb" "$tmpdir/$what.json" "$pid" \
		> "$tmpdir/$what.cmp" ||
		fail "the $what backend's stack is not gdb's: $(cat "$tmpdir/$what.cmp")"
	grep -q 'PostgresMain' "$tmpdir/$what.cmp" || fail "the $what backend's stack lacks PostgresMain: $(cat "$tmpdir/$what.cmp")"
	cat "$tmpdir/$what.cmp"
done
grep -q 'ProcSleep' "$tmpdir/locked.cmp" && grep -q 'LockAcquireExtended' "$tmpdir/locked.cmp" ||
	fail "the lock waiter is not in ProcSleep under LockAcquireExtended: $(cat "$tmpdir/locked.cmp")"
