#!/bin/bash
# The health metrics add up, against the kernel's accounting and the
# target's own:
# - context switches are every thread's: a target whose worker threads
#   switch thousands of times a second while its main thread sleeps, two of
#   them exiting mid-recording, switched in the session as many times as the
#   sum over /proc/PID/task/*/status before and after says (with what the
#   exited threads counted themselves, getrusage RUSAGE_THREAD), and the
#   total never goes back when a thread exits;
# - RSS that grows from 68 to 70 MiB is charted over its range, which is
#   printed with its rate, within 20% of the rate the target measured
#   itself (its own VmRSS);
# - the two CPU figures say what they are a share of, and report and the
#   live view give how long threads were held: median, p99 and the longest.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"

# ctxsw PID: "VOLUNTARY INVOLUNTARY" summed over the threads alive now.
ctxsw() {
	cat /proc/"$1"/task/*/status 2> /dev/null |
		awk '/^voluntary_ctxt_switches:/ {v += $2} /^nonvoluntary_ctxt_switches:/ {i += $2}
		     END {print v + 0, i + 0}'
}

# wait_traced PID: until siprof has seized the process (the kernel says so).
wait_traced() {
	local i=0
	while grep -q '^TracerPid:[[:space:]]*0$' "/proc/$1/status"; do
		[ $i -lt 200 ] || fail "siprof did not attach: $(cat "$tmpdir/err")"
		sleep 0.05
		i=$((i + 1))
	done
}

# ---- context switches ----
STATE=$tmpdir/switch
mkdir -p "$STATE"
"$TARGETS/target-metrics" switch "$STATE" &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$STATE/ready"
before=$(ctxsw "$TARGET_PID")

"$SIPROF" record -q -d 8 -o "$tmpdir/switch.siprof" -p "$TARGET_PID" 2> "$tmpdir/err" &
rec=$!
bg_pids="$bg_pids $rec"
wait_traced "$TARGET_PID"
# The first second of metrics is read right after the attach.
sleep 0.5
touch "$STATE/go"
wait_file "$STATE/done"
wait $rec || fail "record exited with $?: $(cat "$tmpdir/err")"
after=$(ctxsw "$TARGET_PID")
assert_running "$TARGET_PID"
[ "$(wc -l < "$STATE/exited")" = 2 ] || fail "not two exited threads: $(cat "$STATE/exited")"
echo "kernel: before $before, after $after (live threads); exited threads: $(tr '\n' ';' < "$STATE/exited")"

"$SIPROF" report --metrics --json "$tmpdir/switch.siprof" > "$tmpdir/switch.json" 2> "$tmpdir/err" ||
	fail "report --metrics --json failed: $(cat "$tmpdir/err")"
"$SIPROF" report "$tmpdir/switch.siprof" > "$tmpdir/switch.txt" 2> "$tmpdir/err" ||
	fail "report failed: $(cat "$tmpdir/err")"
grep '^metrics' -A3 "$tmpdir/switch.txt"
python3 - "$tmpdir/switch.json" "$tmpdir/switch.txt" "$before" "$after" "$STATE/exited" <<'EOF' ||
import json, re, sys
rows = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
v0, i0 = map(int, sys.argv[3].split())
v1, i1 = map(int, sys.argv[4].split())
ev = ei = 0
for line in open(sys.argv[5]):
    _, v, i = map(int, line.split())
    ev += v
    ei += i
# What the kernel counted between the two readings: the live threads' and
# the exited threads' own counts, less what everyone had before.
kv, ki = v1 + ev - v0, i1 + ei - i0
sv = rows[-1]["ctx_voluntary"] - rows[0]["ctx_voluntary"]
si = rows[-1]["ctx_involuntary"] - rows[0]["ctx_involuntary"]
print(f"voluntary: kernel {kv}, session {sv}; involuntary: kernel {ki}, session {si}")
assert kv > 10000, f"the target switched only {kv} times: not the workload meant"
for k in ("ctx_voluntary", "ctx_involuntary"):
    for a, b in zip(rows, rows[1:]):
        assert b[k] >= a[k], f"{k} went back from {a[k]} at {a['t']} s to {b[k]} at {b['t']} s"
# The session misses the switches before its first reading and after its
# last (the attach, the detach: a few hundred); the exited threads were
# quiet for their last second.
assert 0.9 * (kv + ki) - 300 <= sv + si <= (kv + ki) + 300, (sv + si, kv + ki)
assert 0.9 * kv - 300 <= sv <= kv + 300, (sv, kv)
# The default report's rate is the same figure a second.
secs = rows[-1]["t"] - rows[0]["t"]
m = re.search(r"(\d+) voluntary and (\d+) involuntary context switches/s \(all threads\)", text)
assert m, "no context switch rates in the report"
rate = int(m.group(1))
assert 0.9 * kv / secs - 50 <= rate <= kv / secs + 50, (rate, kv / secs)
EOF
	fail "context switches do not add up"

# ---- RSS growth ----
STATE=$tmpdir/grow
mkdir -p "$STATE"
"$TARGETS/target-metrics" grow "$STATE" 256 &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$STATE/ready"
"$SIPROF" record -q -d 8 -o "$tmpdir/grow.siprof" -p "$TARGET_PID" 2> "$tmpdir/err" ||
	fail "record failed: $(cat "$tmpdir/err")"
"$SIPROF" report --metrics "$tmpdir/grow.siprof" > "$tmpdir/grow.txt" 2> "$tmpdir/err" ||
	fail "report --metrics failed: $(cat "$tmpdir/err")"
"$SIPROF" report "$tmpdir/grow.siprof" > "$tmpdir/grow-top.txt" 2> "$tmpdir/err" ||
	fail "report failed: $(cat "$tmpdir/err")"
grep -E '^(CPU%|RSS) ' "$tmpdir/grow.txt"
grep -E '^ +RSS ' "$tmpdir/grow-top.txt"
python3 - "$tmpdir/grow.txt" "$tmpdir/grow-top.txt" "$STATE/rss" <<'EOF' ||
import re, sys
chart = open(sys.argv[1]).read()
top = open(sys.argv[2]).read()
log = [tuple(map(int, l.split())) for l in open(sys.argv[3])]
# The target's own rate, from its VmRSS readings, in KiB/s.
own = (log[-1][1] - log[0][1]) / ((log[-1][0] - log[0][0]) / 1e9)
lowest, highest = min(r for _, r in log), max(r for _, r in log)
units = {"B": 1 / 1024, "KiB": 1, "MiB": 1024, "GiB": 1024 * 1024}
def kib(num, unit):
    return float(num) * units[unit]
num = r"([0-9.]+) (B|KiB|MiB|GiB)"
m = re.search(r"^RSS   \|(.*)\|  " + num + " \.\. " + num + r", \+" + num + r"/s over (\d+) s$",
              chart, re.M)
assert m, "no RSS chart with its range and rate"
bars, lo, hi, rate = m.group(1), kib(*m.group(2, 3)), kib(*m.group(4, 5)), kib(*m.group(6, 7))
print(f"chart: {lo:.0f}..{hi:.0f} KiB at {rate:.0f} KiB/s; the target's own: "
      f"{lowest}..{highest} KiB at {own:.0f} KiB/s")
assert 0.8 * own <= rate <= 1.2 * own, (rate, own)
# The range is the target's (over less time: the recording's), 1 MiB or more
# apart; at 0.1 MiB of rounding, and the kernel's own slack: RSS is a per-CPU
# counter (percpu_counter, batch max(32, 2 x CPUs) pages) that a reader of
# /proc sees up to a batch per CPU away from its sum, whoever reads it.
import os
cpus = os.cpu_count()
slack = 102 + cpus * max(32, 2 * cpus) * 4
assert lowest - slack <= lo < hi <= highest + slack and hi - lo >= 1024, (lo, hi, lowest, highest, slack)
# Drawn over that range, the growth shows: from the lowest bar to the highest.
levels = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
assert bars[0] in levels[:3] and bars[-1] in levels[-2:], bars
assert len(set(bars)) >= 4, bars
m = re.search(r"^ +RSS " + num + " \.\. " + num + r", \+" + num + r"/s over (\d+) s", top, re.M)
assert m, "no RSS range and rate in the default report"
assert 0.8 * own <= kib(*m.group(5, 6)) <= 1.2 * own, (m.group(0), own)
EOF
	fail "the RSS chart does not show the growth"

# ---- labels ----
cap=$(sed -n 's/^CPU% is a share of the \([0-9.]*\) CPUs the process may use (not of thread-samples);$/\1/p' \
	"$tmpdir/grow.txt")
[ -n "$cap" ] || fail "report --metrics does not say what CPU% is a share of: $(head -3 "$tmpdir/grow.txt")"
grep -qE "^CPU%  \|.*\|  0 \.\. [0-9.]+% of $cap CPUs$" "$tmpdir/grow.txt" || fail "the CPU chart has no scale"
grep -qE "^metrics   CPU [0-9]+% average, [0-9]+% highest \(share of the $cap CPUs it may use\)$" \
	"$tmpdir/grow-top.txt" || fail "the report's CPU figure says not of what: $(grep ^metrics "$tmpdir/grow-top.txt")"
grep -qE '^classes  .* [a-z]+ [0-9.]+%.*\(of [0-9]+ thread-samples\)$' "$tmpdir/grow-top.txt" ||
	fail "the class shares say not of what: $(grep ^classes "$tmpdir/grow-top.txt")"
"$SIPROF" attach --batch --iterations=3 --delay=1 "$TARGET_PID" > "$tmpdir/batch" 2> "$tmpdir/err" ||
	fail "attach --batch failed: $(cat "$tmpdir/err")"
tail -n +"$(grep -n '^siprof pid' "$tmpdir/batch" | tail -1 | cut -d: -f1)" "$tmpdir/batch" | head -3
grep -qE "^CPU [0-9]+% of $cap CPUs  RSS [0-9.]+ MiB \([0-9.]+\.\.[0-9.]+ MiB \+[0-9.]+ KiB/s over [0-9]+ s\)  threads 1 " \
	"$tmpdir/batch" || fail "the live view's health line lacks its labels: $(grep ^CPU "$tmpdir/batch")"
grep -qE '^classes: .*[a-z]+ [0-9.]+%  \(of [0-9]+ thread-samples\)$' "$tmpdir/batch" ||
	fail "the live view's class shares say not of what: $(grep ^classes "$tmpdir/batch")"

# ---- held time ----
grep -qE "^siprof pid $TARGET_PID .* held p50 [0-9]+ us p99 [0-9]+ us max [0-9]+ us" "$tmpdir/batch" ||
	fail "the live view's header lacks the held time: $(grep ^siprof "$tmpdir/batch")"
grep -qE '^ +[0-9]+ stops \(held p50 [0-9]+ us, p99 [0-9]+ us, max [0-9]+ us\)' "$tmpdir/switch.txt" ||
	fail "report does not show the held time: $(grep stops "$tmpdir/switch.txt")"
"$SIPROF" report --json "$tmpdir/switch.siprof" > "$tmpdir/switch-top.json" ||
	fail "report --json failed"
json_check "$tmpdir/switch-top.json" '
s = doc["context"]["stats"]
assert s["stops"] > 0, s
assert 0 < s["held_p50_us"] <= s["held_p99_us"] <= s["held_max_us"], s
'
