#!/bin/bash
# An idle Redis, recorded: its background threads (bio_*, jemalloc's),
# idle in pthread_cond_wait, are class wait, not lock; its main thread, in
# epoll_wait between its timers, is poll. The references: nothing talks to
# the server, /proc/PID/task/TID/syscall says where each thread is blocked
# (before and after), and gdb's stacks, where gdb is installed, put each
# futex waiter under pthread_cond_wait.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_redis
sleep 0.5 # until its threads are idle

syscalls() {
	local t
	for t in /proc/"$REDIS_PID"/task/*; do
		echo "${t##*/} $(cat "$t/comm") $(cut -d' ' -f1 "$t/syscall" 2> /dev/null)"
	done
}
# idle_syscalls OUT: where each thread is blocked, read at a moment when
# none is running (the main thread runs its timers ten times a second, and
# a read that lands in one says "running").
idle_syscalls() {
	local i
	for i in $(seq 40); do
		syscalls > "$1"
		grep -q ' running$' "$1" || return 0
		sleep 0.05
	done
}
idle_syscalls "$tmpdir/before"
grep -q ' bio_' "$tmpdir/before" || fail "redis has no bio threads: $(cat "$tmpdir/before")"
if command -v gdb > /dev/null; then
	gdb_bt "$REDIS_PID" "$tmpdir/gdb"
	while read -r tid name nr; do
		[ "$nr" = 202 ] || continue
		gdb_names "$tmpdir/gdb" "$tid" > "$tmpdir/gdb.$tid"
		grep -qE 'pthread_cond_(timed|clock)?wait' "$tmpdir/gdb.$tid" ||
			fail "gdb does not show $name ($tid) in pthread_cond_wait: $(tr '\n' ' ' < "$tmpdir/gdb.$tid")"
	done < "$tmpdir/before"
fi

"$SIPROF" record -q -o "$tmpdir/r.siprof" -d 2 -p "$REDIS_PID" 2> "$tmpdir/err" ||
	fail "record exited with $?: $(cat "$tmpdir/err")"
assert_running "$REDIS_PID"
idle_syscalls "$tmpdir/after"
redis-cli -s "$REDIS_SOCK" ping | grep -q PONG || fail "redis does not answer after the recording"
"$SIPROF" report --threads --json "$tmpdir/r.siprof" > "$tmpdir/threads.json" ||
	fail "report --threads failed"
python3 - "$tmpdir/threads.json" "$tmpdir/before" "$tmpdir/after" "$REDIS_PID" <<'EOF' ||
import json, sys
doc = {str(t["tid"]): t for t in json.load(open(sys.argv[1]))}
def calls(f):
    return {l.split()[0]: (l.split()[1], l.split()[2]) for l in open(f)}
before, after, main = calls(sys.argv[2]), calls(sys.argv[3]), sys.argv[4]
EPOLL_WAIT, FUTEX = "232", "202"
assert before[main][1] == EPOLL_WAIT and after[main][1] == EPOLL_WAIT, ("main", before[main], after[main])
waiters = [t for t in before if t != main]
assert waiters and all(before[t][1] == FUTEX == after[t][1] for t in waiters), (before, after)
def share(tid, cls):
    c = doc[tid]["classes"]
    off = sum(v for k, v in c.items() if k not in ("cpu", "runq"))
    assert off >= 100, ("too few samples off the CPU", before[tid], c)
    print("%s %s: %s" % (tid, before[tid][0], c))
    return 100.0 * c.get(cls, 0) / off
assert share(main, "poll") >= 90, ("the main thread is not poll", doc[main])
for t in waiters:
    assert share(t, "wait") >= 95, ("an idle background thread is not wait", doc[t])
    assert doc[t]["classes"].get("lock", 0) == 0, ("an idle background thread is lock", doc[t])
EOF
	fail "redis: a thread is not classed by what it does (above)"
exit 0
