#!/bin/bash
# lock against wait: threads idle in pthread_cond_wait and sem_wait (waiting
# for work) are class wait; a thread blocked on a contended mutex, and one
# on a rwlock, are class lock, the mutex waiter's share within 5 points of
# the time it measured itself waiting for the lock. The reference is the
# target (tests/targets/waits.c): each thread is named for what it does,
# and the mutex waiter times its own pthread_mutex_lock calls. The same
# classes in the live view (attach --batch, and its screen in tmux).
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_waits idle

m0=$(cat "$STATE/mutex")
"$SIPROF" record -q -o "$tmpdir/w.siprof" -d 4 -p "$TARGET_PID" 2> "$tmpdir/err" ||
	fail "record exited with $?: $(cat "$tmpdir/err")"
m1=$(cat "$STATE/mutex")
assert_running "$TARGET_PID"
waited=$(( $(result_field wait_ns "$m1") - $(result_field wait_ns "$m0") ))
span=$(( $(result_field at_ns "$m1") - $(result_field at_ns "$m0") ))
acquired=$(( $(result_field acquired "$m1") - $(result_field acquired "$m0") ))
[ "$acquired" -gt 10 ] || fail "the mutex changed hands only $acquired times: $m0 / $m1"

"$SIPROF" report --threads --json "$tmpdir/w.siprof" > "$tmpdir/threads.json" ||
	fail "report --threads failed"
# Off-CPU samples only: a thread that was woken and waits for a CPU (on a
# loaded machine) is not waiting for its lock or its work any more.
json_check "$tmpdir/threads.json" "
names = {t['name']: t for t in doc}
def share(name, cls):
    c = names[name]['classes']
    off = sum(v for k, v in c.items() if k not in ('cpu', 'runq'))
    return 100.0 * c.get(cls, 0) / off if off else 0
for name, cls in (('condwait', 'wait'), ('semwait', 'wait'), ('rwwait', 'lock'),
                  ('mutexwait', 'lock')):
    print(f'{name}: {share(name, cls):.1f}% {cls}', names[name]['classes'])
    assert share(name, cls) > 90, (name, cls, names[name]['classes'])
# The holder sleeps with the lock and never waits long for it.
assert share('holder', 'lock') < 10, names['holder']['classes']
"
# The mutex waiter's time in pthread_mutex_lock, against its own clock
# (which counts a wake-up that waits for a CPU as waiting too).
"$SIPROF" report --json -c wall -T mutexwait --sort total -n 100 "$tmpdir/w.siprof" > "$tmpdir/mw.json" ||
	fail "report -T mutexwait failed"
json_check "$tmpdir/mw.json" "
f = {x['function']: x['total_percent'] for x in doc['functions']}
own = 100.0 * $waited / $span
print(f'mutexwait: in take_contended {f[\"take_contended\"]:.1f}% of its samples, '
      f'waiting for the lock {own:.1f}% of the time by its own clock')
assert abs(f['take_contended'] - own) <= 5, (own, f)
"

# report -c: the functions behind each class.
"$SIPROF" report --json -c wait --sort total -n 100 "$tmpdir/w.siprof" > "$tmpdir/wait.json" ||
	fail "report -c wait failed"
json_check "$tmpdir/wait.json" '
assert doc["class"] == "wait", doc["class"]
f = {x["function"]: x["total_percent"] for x in doc["functions"]}
assert f.get("wait_for_work", 0) > 30 and f.get("semwait_main", 0) > 30, f
assert f.get("take_contended", 0) < 5 and "rwwait_main" not in f, f
'
"$SIPROF" report --json -c lock --sort total -n 100 "$tmpdir/w.siprof" > "$tmpdir/lock.json" ||
	fail "report -c lock failed"
json_check "$tmpdir/lock.json" '
f = {x["function"]: x["total_percent"] for x in doc["functions"]}
assert f.get("take_contended", 0) > 30 and f.get("rwwait_main", 0) > 30, f
assert "wait_for_work" not in f and "semwait_main" not in f, f
'

# The live view classes the same way.
"$SIPROF" attach --batch --iterations=2 --delay=1 -c wall --threads=condwait,semwait "$TARGET_PID" \
	> "$tmpdir/batch" 2> "$tmpdir/err" || fail "attach --batch failed: $(cat "$tmpdir/err")"
grep -q '^classes: wait 100.0%  (of [0-9]* thread-samples)$' "$tmpdir/batch" ||
	fail "the live view does not class the idle waiters as wait: $(cat "$tmpdir/batch")"
"$SIPROF" attach --batch --iterations=2 --delay=1 -c wall --threads=rwwait "$TARGET_PID" \
	> "$tmpdir/batch" 2> "$tmpdir/err" || fail "attach --batch failed: $(cat "$tmpdir/err")"
grep -q '^classes: lock 100.0%  (of [0-9]* thread-samples)$' "$tmpdir/batch" ||
	fail "the live view does not class the rwlock waiter as lock: $(cat "$tmpdir/batch")"
# The live view's Wait tab, and the detail line of a picked thread.
tmux_init waits
tm new-session -d -s waits -x 160 -y 30 -c "$tmpdir" \
	"TERM=xterm-256color '$SIPROF' attach -c wait $TARGET_PID; echo EXITED \$?; sleep 60"
wait_screen '\[Wait [0-9]+%\]' "the Wait tab"
wait_screen 'wait_for_work' "the condition waiter in the Wait tab"
screen | grep -q 'take_contended' && fail "the mutex waiter is in the Wait tab: $(screen)"
pick_thread condwait
wait_screen "thread [0-9]+ condwait: in futex \(wait\)" "the condition waiter's detail line"
pick_thread mutexwait
wait_screen "thread [0-9]+ mutexwait: in futex \(lock\)" "the mutex waiter's detail line"
keys q
wait_screen 'EXITED 0' "quitting"
assert_running "$TARGET_PID"
kill -TERM "$TARGET_PID"
wait "$TARGET_PID" 2> /dev/null
