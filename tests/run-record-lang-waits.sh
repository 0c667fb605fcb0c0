#!/bin/bash
# lock against wait from the unwound stack in C++, Rust and Go, recorded:
# a thread blocked on a contended std::mutex or Rust Mutex is lock, one in
# std::condition_variable::wait or Condvar::wait (and a join) is wait. Go
# parks a goroutine blocked on a sync.Mutex or a channel without a thread:
# what is left blocked in futex are the runtime's idle Ms (futexsleep
# under notesleep), which are wait, not lock. The references: the targets
# (tests/targets/cxx.cc, rsprog.rs, goprog.go with "locks"), whose threads
# each do one known thing and where nothing contends but the lock waiter,
# the system call /proc/PID/task/TID/syscall shows each thread blocked in,
# and for Go gdb's stacks of those threads, where gdb is installed.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"

FUTEX=202 # x86_64

# syscalls PID: "TID NAME NR" for each thread, NR the system call it is
# blocked in (-1 running).
syscalls() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "${t##*/} $(cat "$t/comm") $(cut -d' ' -f1 "$t/syscall" 2> /dev/null)"
	done
}

# record_threads NAME PID: record 3 s of PID, its threads' classes into
# $tmpdir/NAME.json (report --threads --json).
record_threads() {
	"$SIPROF" record -q -o "$tmpdir/$1.siprof" -d 3 -p "$2" 2> "$tmpdir/$1.err" ||
		fail "record ($1) exited with $?: $(cat "$tmpdir/$1.err")"
	assert_running "$2"
	"$SIPROF" report --threads --json "$tmpdir/$1.siprof" > "$tmpdir/$1.json" ||
		fail "report --threads ($1) failed"
}

# check_named NAME SYSCALLS-FILE THREAD=CLASS...: each named thread is
# blocked (before and after the recording) in the call its role says, and
# at least 90% of its off-CPU samples are of CLASS.
check_named() {
	local name=$1 before=$2
	shift 2
	syscalls "$PID" > "$tmpdir/$name.after"
	python3 - "$tmpdir/$name.json" "$before" "$tmpdir/$name.after" "$@" <<'EOF' ||
import json, sys
doc = json.load(open(sys.argv[1]))
calls = {}
for f in sys.argv[2:4]:
    for l in open(f):
        tid, comm, nr = l.split()
        calls.setdefault(comm, set()).add(nr)
byname = {}
for t in doc:
    assert t["name"] not in byname, ("two threads named", t["name"])
    byname[t["name"]] = t
# A stop turns a nanosleep into restart_syscall (219), an untimed futex
# wait goes on as a futex.
role = {"lock": {"202"}, "wait": {"202"}, "sleep": {"35", "230", "219"}}
for arg in sys.argv[4:]:
    thread, cls = arg.split("=")
    assert calls.get(thread) and calls[thread] <= role[cls], ("%s is not blocked where its role says" % thread,
                                            calls.get(thread), role[cls])
    c = byname[thread]["classes"]
    off = sum(v for k, v in c.items() if k not in ("cpu", "runq"))
    share = 100.0 * c.get(cls, 0) / off if off else 0
    print("%s: %.1f%% %s of %d off-CPU samples %s" % (thread, share, cls, off, c))
    assert off >= 100 and share >= 90, (thread, cls, c)
EOF
		fail "$name: a thread is not classed by what it does (above)"
}

# 1. C++: std::mutex against std::condition_variable (and std::thread::join).
mkdir -p "$tmpdir/cxx"
"$TARGETS/target-cxx" "$tmpdir/cxx" locks &
PID=$!
bg_pids="$bg_pids $PID"
wait_file "$tmpdir/cxx/ready"
syscalls "$PID" > "$tmpdir/cxx.before"
record_threads cxx "$PID"
check_named cxx "$tmpdir/cxx.before" lockwait=lock waiter=wait target-cxx=wait holder=sleep
kill -KILL "$PID"
wait "$PID" 2> /dev/null

# 2. Rust: Mutex against Condvar (and JoinHandle::join).
start_rust "" locks
PID=$TARGET_PID
syscalls "$PID" > "$tmpdir/rust.before"
record_threads rust "$PID"
check_named rust "$tmpdir/rust.before" lockwait=lock waiter=wait target-rust=wait holder=sleep
kill -KILL "$PID"
wait "$PID" 2> /dev/null

# 3. Go: goroutines parked on a sync.Mutex and a channel leave idle Ms.
start_go "" locks
PID=$TARGET_PID
syscalls "$PID" > "$tmpdir/go.before"
# gdb, where it is: each thread in futex sleeps in notesleep or
# notetsleepg, the runtime's wait for work (not runtime.lock2).
if command -v gdb > /dev/null; then
	gdb_bt "$PID" "$tmpdir/go.gdb"
	while read -r tid _ nr; do
		[ "$nr" = "$FUTEX" ] || continue
		# Without libthread_db gdb heads a thread "Thread N (LWP TID "name"):".
		awk -v lwp="(LWP $tid" '/^Thread / { on = index($0, lwp " ") || index($0, lwp ")"); next }
			on && /^#/ { for (i = 2; i <= NF; i++) if ($i ~ /^runtime\./) { print $i; break } }' \
			"$tmpdir/go.gdb" > "$tmpdir/go.gdb.$tid"
		grep -qE '^runtime\.(notesleep|notetsleepg?)$' "$tmpdir/go.gdb.$tid" ||
			fail "gdb does not show Go thread $tid in futex idle: $(tr '\n' ' ' < "$tmpdir/go.gdb.$tid")"
		grep -q '^runtime\.lock2' "$tmpdir/go.gdb.$tid" &&
			fail "gdb shows Go thread $tid waiting for the runtime's lock"
	done < "$tmpdir/go.before"
fi
record_threads go "$PID"
syscalls "$PID" > "$tmpdir/go.after"
python3 - "$tmpdir/go.json" "$tmpdir/go.before" "$tmpdir/go.after" "$FUTEX" <<'EOF' ||
import json, sys
doc = {str(t["tid"]): t for t in json.load(open(sys.argv[1]))}
def calls(f):
    return {l.split()[0]: l.split()[2] for l in open(f)}
before, after, futex = calls(sys.argv[2]), calls(sys.argv[3]), sys.argv[4]
idle = [t for t in before if before[t] == futex and after.get(t) == futex]
assert len(idle) >= 3, ("fewer than 3 Go threads blocked in futex", before, after)
for tid in idle:
    c = doc[tid]["classes"]
    off = sum(v for k, v in c.items() if k not in ("cpu", "runq"))
    print("Go thread %s (idle M): %s" % (tid, c))
    assert off >= 100 and c.get("wait", 0) >= 0.9 * off, ("an idle M is not wait", tid, c)
    assert c.get("lock", 0) <= 0.05 * off, ("an idle M is lock", tid, c)
EOF
	fail "Go: an idle M is not classed wait (above)"
kill -TERM "$PID"
wait "$PID" 2> /dev/null
exit 0
