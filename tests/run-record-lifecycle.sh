#!/bin/bash
# How a recording ends: SIGKILL of siprof (the file stays readable), Ctrl-C,
# --duration, the process exiting, and `record -- COMMAND` returning the
# command's exit status. Thread churn throughout.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_classes --churn

# SIGKILL mid-record: readable, with samples, the target untouched.
"$SIPROF" record -q -o "$tmpdir/killed.siprof" -p "$TARGET_PID" 2> "$tmpdir/err" &
rec=$!
sleep 4
kill -KILL $rec
wait $rec 2>/dev/null
sleep 0.1
assert_running "$TARGET_PID"
"$SIPROF" report --threads --json "$tmpdir/killed.siprof" > "$tmpdir/k.json" 2> "$tmpdir/err" ||
	fail "a session killed mid-record cannot be read: $(cat "$tmpdir/err")"
json_check "$tmpdir/k.json" '
total = sum(t["samples"] for t in doc)
assert total >= 99, total  # at least a second of one thread was committed
assert any(t["name"] == "spinner" for t in doc)
'

# Ctrl-C (SIGINT) ends it cleanly: exit 0, one file, statistics written.
"$SIPROF" record -q -o "$tmpdir/int.siprof" -p "$TARGET_PID" 2> "$tmpdir/err" &
rec=$!
sleep 1.5
kill -INT $rec
wait $rec || fail "record after SIGINT exited with $?: $(cat "$tmpdir/err")"
[ ! -e "$tmpdir/int.siprof-wal" ] || fail "SIGINT left the WAL behind"
"$SIPROF" report "$tmpdir/int.siprof" > "$tmpdir/report" || fail "report after SIGINT failed"
grep -q 'threads seen' "$tmpdir/report" || fail "no statistics after SIGINT"
assert_running "$TARGET_PID"

# Thread churn: many threads seen and gone, no tracked thread left behind.
"$SIPROF" record -q -o "$tmpdir/churn.siprof" -d 2 -p "$TARGET_PID" || fail "record of churn failed"
"$SIPROF" report --json "$tmpdir/churn.siprof" > "$tmpdir/c.json" || fail "report of churn failed"
json_check "$tmpdir/c.json" '
s = doc["context"]["stats"]
assert s["threads_seen"] > 50 and s["threads_exited"] > 40, s
assert s["failed_snapshots"] < s["samples"] * 0.05, s
# The clock keeps time: ticks taken plus ticks missed make the duration
# at 99 Hz (a loaded machine misses some, and must say so, not drift).
expected = s["duration_s"] * 99
assert abs(s["ticks"] + s["missed_ticks"] - expected) <= 0.05 * expected + 2, s
assert s["samples"] > 500, s
'
result=$(stop_chain)
[ "$(result_field eintr "$result")" = 0 ] || fail "epoll_wait saw EINTR: $result"

# The process exits during the recording: it ends there, exit 0.
"$TARGETS/target-exit" 1500 &
victim=$!
bg_pids="$bg_pids $victim"
sleep 0.1
"$SIPROF" record -o "$tmpdir/exit.siprof" -p "$victim" 2> "$tmpdir/err" ||
	fail "record of an exiting process exited with $?: $(cat "$tmpdir/err")"
grep -q "(the process exited)" "$tmpdir/err" || fail "no word of the exit: $(cat "$tmpdir/err")"
"$SIPROF" report --threads --json "$tmpdir/exit.siprof" > "$tmpdir/e.json" || fail "report failed"
json_check "$tmpdir/e.json" '
assert sum(t["samples"] for t in doc) > 10, doc
main = [t for t in doc if t["classes"].get("sleep", 0) > 0]
assert main, doc  # the main thread sleeps in usleep: class sleep, never cpu
'

# record -- COMMAND: from its first instruction, with its exit status.
"$SIPROF" record -q -o "$tmpdir/cmd.siprof" -- "$TARGETS/target-exit" 800
[ $? = 0 ] || fail "record -- target-exit did not return its status 0"
"$SIPROF" report --json "$tmpdir/cmd.siprof" > "$tmpdir/cmd.json" || fail "report failed"
json_check "$tmpdir/cmd.json" '
assert doc["context"]["comm"] == "target-exit", doc["context"]
assert any(f["function"] == "spin" for f in doc["functions"]), doc["functions"]
'
"$SIPROF" record -q -o "$tmpdir/seven.siprof" -- sh -c 'exit 7'
[ $? = 7 ] || fail "record -- sh -c 'exit 7' did not return 7"
"$SIPROF" record -q -o "$tmpdir/sig.siprof" -- sh -c 'kill -TERM $$'
[ $? = 143 ] || fail "record of a command killed by SIGTERM did not return 143"
"$SIPROF" record -q -o "$tmpdir/none.siprof" -- /nonexistent/program 2> "$tmpdir/err"
[ $? = 127 ] || fail "record of a missing program did not return 127"
grep -q "cannot run '/nonexistent/program'" "$tmpdir/err" || fail "no message for a missing program"
