#!/bin/bash
# Thread churn under record: a target creates and joins 20,000 short-lived
# threads (one at a time, then 100 at a time) while siprof records it. Every
# one is traced: siprof saw exactly the threads the target says it created,
# plus the two it had. None is left stopped: the target finishes, counts
# every thread as having run, and runs on untraced afterwards.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
N=20000
STATE=$tmpdir/churn
mkdir -p "$STATE"
"$TARGETS/target-churn" "$STATE" $N &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$STATE/ready"
initial=$(ls "/proc/$TARGET_PID/task" | wc -l)

"$SIPROF" record -q -o "$tmpdir/churn.siprof" -p "$TARGET_PID" 2> "$tmpdir/err" &
rec=$!
bg_pids="$bg_pids $rec"
# Start the churn once every thread is seized (the kernel says by whom).
i=0
while grep -q '^TracerPid:[[:space:]]*0$' /proc/"$TARGET_PID"/task/*/status; do
	[ $i -lt 200 ] || fail "siprof did not attach: $(cat "$tmpdir/err")"
	sleep 0.05
	i=$((i + 1))
done
kill -USR1 "$TARGET_PID"
i=0
while [ ! -s "$STATE/done" ]; do
	# A thread left stopped would keep its join waiting for ever.
	[ $i -lt 900 ] || fail "the target did not finish creating $N threads under record" \
		"($(ls "/proc/$TARGET_PID/task" | wc -l) threads left;" \
		"states: $(cat /proc/"$TARGET_PID"/task/*/stat 2>/dev/null | sed 's/.*) //' | cut -d' ' -f1 | sort | uniq -c | tr '\n' ' '))"
	sleep 0.05
	i=$((i + 1))
done
kill -INT $rec
wait $rec || fail "record exited with $?: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"

done_line=$(cat "$STATE/done")
created=$(result_field created "$done_line")
[ "$created" = $N ] || fail "the target created $created of $N threads: $done_line"
[ "$(result_field ran "$done_line")" = $N ] || fail "not every thread ran: $done_line"

"$SIPROF" report --json "$tmpdir/churn.siprof" > "$tmpdir/r.json" 2> "$tmpdir/err" ||
	fail "report failed: $(cat "$tmpdir/err")"
json_check "$tmpdir/r.json" "
s = doc['context']['stats']
# Each thread is seen once: the two there at the attach and every one created.
assert s['threads_seen'] == $created + $initial, (s['threads_seen'], $created, $initial)
# Every created thread exited, and the churner after them (the last
# exits may still have been on their way when the recording ended).
assert $created + 1 - 100 <= s['threads_exited'] <= $created + 1, (s['threads_exited'], $created)
"
"$SIPROF" report --threads --json "$tmpdir/churn.siprof" > "$tmpdir/t.json" ||
	fail "report --threads failed"
json_check "$tmpdir/t.json" '
assert any(t["name"] == "churn-child" and t["samples"] > 0 for t in doc), [t["name"] for t in doc][:20]
'

# Untraced, it still creates threads and takes signals: it ends on SIGTERM.
kill -TERM "$TARGET_PID"
wait_file "$STATE/result"
wait "$TARGET_PID" || fail "the target exited with $?"
