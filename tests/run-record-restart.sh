#!/bin/bash
# A second record of threads in long timed waits: the stops of the first one
# leave each of them in restart_syscall (the precondition, checked in
# /proc/PID/task/TID/syscall), and the second classes each by the call it
# continues: a timed condition wait and a timed sem_wait are wait, a timed
# mutex lock is lock, a poll with a timeout is poll, a nanosleep is sleep
# (not sleep for all). The reference is what each thread of the target
# does (tests/targets/waits.c, threads named by role).
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_waits timed

check_classes() { # check_classes SESSION
	"$SIPROF" report --threads --json "$1" > "$tmpdir/threads.json" ||
		fail "report --threads failed on $1"
	json_check "$tmpdir/threads.json" "
want = {'timedcond': 'wait', 'timedsem': 'wait', 'timedlock': 'lock',
        'timedpoll': 'poll', 'napper': 'sleep'}
names = {t['name']: t for t in doc}
for name, cls in want.items():
    c = names[name]['classes']
    share = 100.0 * c.get(cls, 0) / sum(c.values())
    print(f'$(basename "$1"): {name} {share:.1f}% {cls}', c)
    assert share > 90, (name, cls, c)
"
}

"$SIPROF" record -q -o "$tmpdir/first.siprof" -d 2 -p "$TARGET_PID" 2> "$tmpdir/err" ||
	fail "the first record exited with $?: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
for name in timedcond timedsem timedlock timedpoll napper; do
	tid=$(awk -v n="$name" '$1 == n { print $2 }' "$STATE/tids")
	nr=$(cut -d' ' -f1 "/proc/$TARGET_PID/task/$tid/syscall")
	[ "$nr" = 219 ] ||
		fail "after the first record $name ($tid) is in system call $nr, not restart_syscall (219): the precondition of this test does not hold"
done
check_classes "$tmpdir/first.siprof"

"$SIPROF" record -q -o "$tmpdir/second.siprof" -d 3 -p "$TARGET_PID" 2> "$tmpdir/err" ||
	fail "the second record exited with $?: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
check_classes "$tmpdir/second.siprof"
kill -TERM "$TARGET_PID"
wait "$TARGET_PID" 2> /dev/null
