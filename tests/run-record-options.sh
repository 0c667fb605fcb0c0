#!/bin/bash
# record's options as a user sets them: --threads, --tag, --jitter, --rate,
# and the status line on a terminal.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_classes

# --threads: only the named threads are sampled (and only they are stopped).
"$SIPROF" record -q -o "$tmpdir/f.siprof" -d 1.5 --threads 'spin*,sleeper' -p "$TARGET_PID" ||
	fail "record --threads failed"
"$SIPROF" report --threads --json "$tmpdir/f.siprof" > "$tmpdir/f.json"
json_check "$tmpdir/f.json" '
assert sorted(t["name"] for t in doc) == ["sleeper", "spinner"], doc
'
"$SIPROF" report --json "$tmpdir/f.siprof" > "$tmpdir/f2.json"
json_check "$tmpdir/f2.json" '
s = doc["context"]["stats"]
assert s["stops"] <= s["ticks"] * 2 + 5, s  # never more than the two threads
'
locked=$(thread_tid "$TARGET_PID" locked)
"$SIPROF" record -q -o "$tmpdir/t.siprof" -d 1 --threads "$locked" -p "$TARGET_PID" || fail "record --threads TID failed"
"$SIPROF" report --threads --json "$tmpdir/t.siprof" > "$tmpdir/t.json"
json_check "$tmpdir/t.json" "assert [t['tid'] for t in doc] == [$locked], doc"

# --tag, --rate, --jitter: stored and honoured.
"$SIPROF" record -q -o "$tmpdir/j.siprof" -d 2 -r 50 --jitter -t app=shop -t env=test \
	-p "$TARGET_PID" || fail "record with tags and jitter failed"
"$SIPROF" report --json "$tmpdir/j.siprof" > "$tmpdir/j.json"
json_check "$tmpdir/j.json" '
c = doc["context"]
assert c["tags"] == {"app": "shop", "env": "test"}, c["tags"]
assert c["rate_hz"] == "50", c
s = c["stats"]
expected = s["duration_s"] * 50
assert abs(s["ticks"] + s["missed_ticks"] - expected) <= 0.05 * expected + 2, s
'
"$SIPROF" report "$tmpdir/j.siprof" | grep -q '^tags      app=shop env=test$' || fail "report does not show the tags"

# Usage errors.
"$SIPROF" record -p "$TARGET_PID" 2> "$tmpdir/err"; [ $? = 2 ] || fail "no -o: not a usage error"
grep -q -- "-o FILE is needed" "$tmpdir/err" || fail "no -o: no message"
"$SIPROF" record -o "$tmpdir/x.siprof" 2> /dev/null; [ $? = 2 ] || fail "no target: not a usage error"
"$SIPROF" record -o "$tmpdir/x.siprof" -t novalue -p 1 2> /dev/null; [ $? = 2 ] || fail "bad tag: not a usage error"
"$SIPROF" record -o "$tmpdir/x.siprof" -r 0 -p 1 2> /dev/null; [ $? = 2 ] || fail "rate 0: not a usage error"

# The status line, on a terminal (script(1) gives siprof a pty).
if command -v script > /dev/null; then
	script -qec "'$SIPROF' record -o '$tmpdir/tty.siprof' -d 2.5 -p $TARGET_PID" /dev/null > "$tmpdir/tty" 2>&1 ||
		fail "record on a terminal failed: $(cat "$tmpdir/tty")"
	grep -aqE '[0-9]+s  [0-9]+ samples  [0-9.]+ Hz  held p50 [0-9]+ us  CPU [0-9]+%  RSS [0-9.]+ MiB' "$tmpdir/tty" ||
		fail "no status line on the terminal: $(cat -v "$tmpdir/tty")"
	grep -aq "recorded 2.5 s, [0-9]* samples of [0-9]* threads to $tmpdir/tty.siprof" "$tmpdir/tty" ||
		fail "no summary: $(cat -v "$tmpdir/tty")"
else
	echo "note: script(1) is missing; the status line is not checked"
fi
assert_running "$TARGET_PID"
stop_chain > /dev/null
