#!/bin/bash
# The cpu class is CPU time: the spinner of the classes target recorded on a
# quiet machine and with both CPUs saturated by another process. Its cpu
# samples times the period must add up to the CPU time the kernel accounted
# to it over the session (its schedstat, polled by this test around the
# session's own start and end) within 5%, the time it spent runnable but
# off a CPU must be runq, not cpu, and the split between its two functions
# must follow its own clock within 5 points.
. "$(dirname "$0")/test-subr.sh"
run_alone "its first recording needs a quiet machine, and its second saturates both CPUs"
need_ptrace
start_classes
wait_file "$STATE/spin"
spinner=$(for t in /proc/"$TARGET_PID"/task/*; do
	[ "$(cat "$t/comm")" = spinner ] && basename "$t"
done)
[ -n "$spinner" ] || fail "the target has no spinner thread"

# record_against_kernel NAME RATE SECONDS: record the target while a poller
# reads the spinner's schedstat every 10 ms with the wall clock's time; then
# compare the session's cpu class for the spinner with the kernel's CPU time
# over the session's window, and its split with the spinner's own clock.
record_against_kernel() {
	local name=$1 rate=$2 secs=$3 spin0 spin1
	python3 - "$TARGET_PID" "$spinner" "$tmpdir/$name.poll" <<'EOF' &
import os, sys, time
pid, tid, out = sys.argv[1:4]
with open(out, "w") as f:
    while True:
        try:
            v = open(f"/proc/{pid}/task/{tid}/schedstat").read().split()
        except OSError:
            break
        # The machine's steal, irq and softirq time (ns): a runnable
        # thread's CPU doing other work, in neither its CPU time nor its
        # run delay.
        c = open("/proc/stat").readline().split()
        lost = (int(c[6]) + int(c[7]) + int(c[8])) * 1e9 / os.sysconf("SC_CLK_TCK")
        f.write(f"{time.time():.6f} {v[0]} {v[1]} {lost:.0f}\n")
        f.flush()
        time.sleep(0.01)
EOF
	local poller=$!
	bg_pids="$bg_pids $poller"
	wait_file "$tmpdir/$name.poll"
	while [ "$(wc -l < "$tmpdir/$name.poll")" -lt 3 ]; do sleep 0.05; done
	spin0=$(cat "$STATE/spin")
	# --jitter: the spinner's rounds are periodic, and ticks at a fixed
	# period can fall on the same phase of them run after run.
	"$SIPROF" record -q --jitter -r "$rate" -o "$tmpdir/$name.siprof" -d "$secs" -p "$TARGET_PID" \
		2> "$tmpdir/$name.err" || fail "record ($name) exited with $?: $(cat "$tmpdir/$name.err")"
	spin1=$(cat "$STATE/spin")
	sleep 0.2
	kill "$poller" 2> /dev/null
	wait "$poller" 2> /dev/null
	assert_running "$TARGET_PID"
	"$SIPROF" report --threads --json "$tmpdir/$name.siprof" > "$tmpdir/$name.threads" ||
		fail "report --threads ($name) failed"
	# The split is of the spinner's samples in every class: its clock is
	# the monotonic one, which goes on while it waits for a CPU.
	"$SIPROF" report --json --class wall -n 1000 --thread spinner "$tmpdir/$name.siprof" > "$tmpdir/$name.cpu" ||
		fail "report --class wall ($name) failed"
	python3 - "$tmpdir/$name.siprof" "$tmpdir/$name.poll" "$tmpdir/$name.threads" \
		"$tmpdir/$name.cpu" "$name" "$spin0" "$spin1" <<'EOF' || fail "$name: see above"
import json, sqlite3, sys
sess, poll, threads, cpu, name, spin0, spin1 = sys.argv[1:8]
meta = dict(sqlite3.connect(f"file:{sess}?mode=ro", uri=True).execute("SELECT key, value FROM meta"))
t0, t1 = int(meta["start_unix_ns"]) / 1e9, int(meta["end_unix_ns"]) / 1e9
period = 1 / float(meta["rate_hz"])
rows = [tuple(map(float, l.split())) for l in open(poll)]
def at(t):
    for a, b in zip(rows, rows[1:]):
        if a[0] <= t <= b[0]:
            f = (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else 0
            return [a[i] + f * (b[i] - a[i]) for i in (1, 2, 3)]
    sys.exit(f"{name}: the poller did not cover the session ({rows[0][0]}..{rows[-1][0]} against {t0}..{t1})")
k0, k1 = at(t0), at(t1)
kernel_cpu, kernel_wait = (k1[0] - k0[0]) / 1e9, (k1[1] - k0[1]) / 1e9
lost = (k1[2] - k0[2]) / 1e9
spin = [t for t in json.load(open(threads)) if t["name"] == "spinner"][0]["classes"]
ours = spin.get("cpu", 0) * period
runq = spin.get("runq", 0) * period
print(f"{name}: spinner cpu {ours:.3f} s sampled, {kernel_cpu:.3f} s by the kernel "
      f"({100 * (ours / kernel_cpu - 1):+.1f}%); runq {runq:.3f} s, run delay {kernel_wait:.3f} s, "
      f"steal+irq of the machine {lost:.3f} s; "
      f"window {t1 - t0:.2f} s; classes {spin}")
assert abs(ours - kernel_cpu) <= 0.05 * kernel_cpu, "cpu is not the kernel's CPU time within 5%"
# Waiting for a CPU is runq: at least the kernel's run delay, and at most
# that and the time the machine's CPUs were taken from its threads (steal
# by the hypervisor, interrupts), which the run delay leaves out; within
# 10% of the window (the run delay is added only when a wait ends).
assert kernel_wait - 0.10 * (t1 - t0) <= runq <= kernel_wait + lost + 0.10 * (t1 - t0), \
    "runq is not the time spent waiting for a CPU"
field = lambda k, s: int(dict(x.split("=") for x in s.split())[k])
three = field("three_ns", spin1) - field("three_ns", spin0)
one = field("one_ns", spin1) - field("one_ns", spin0)
f = {x["function"]: x["total"] for x in json.load(open(cpu))["functions"]}
own = 100 * three / (three + one)
n = f["burn_three"] + f["burn_one"]
seen = 100 * f["burn_three"] / n
# Four standard deviations of n samples, and 2 points for the window's edges.
bound = 400 * (own / 100 * (1 - own / 100) / n) ** 0.5 + 2
print(f"{name}: burn_three of the two: {seen:.1f}% sampled, {own:.1f}% by its own clock "
      f"({n} samples, bound {bound:.1f} points)")
assert abs(seen - own) <= bound, (own, seen, f)
EOF
}

record_against_kernel quiet 99 4

# Both CPUs saturated by another process: the spinner waits for a CPU about
# two thirds of the time, and every stop costs it the rest of its slice.
for i in 1 2; do
	sh -c 'while :; do :; done' &
	bg_pids="$bg_pids $!"
done
sleep 0.5
record_against_kernel saturated 199 8
