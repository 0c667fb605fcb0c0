#!/bin/bash
# Threads as a busy service has them: many asleep, several fighting for
# the CPUs. Every thread gets a sample at every tick, the sleeping ones are
# not stopped over and over to get it, and each sample is where the thread
# really is.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
WORKLOAD=$top_builddir/tests/bench/bench-workload
# workload_ended NAME: the workload, told to quit, exited 0 (not killed).
# (bash forgets a coprocess's pid once it ends: its status goes to a file.)
workload_ended() {
	wait_file "$tmpdir/$1.status"
	[ "$(cat "$tmpdir/$1.status")" = 0 ] || fail "the $1 workload failed after the recording"
}

# 1 busy thread and 60 blocked in a condition wait (a futex: stopping them
# is harmless, so they are stopped, once).
coproc WL { "$WORKLOAD" idle 60; echo $? > "$tmpdir/idle.status"; }
bg_pids="$bg_pids $WL_PID"
read -r -u "${WL[0]}" ready pid busy || fail "the workload did not start"
[ "$ready" = ready ] || fail "the workload did not start: $ready"
bg_pids="$bg_pids $pid"
"$SIPROF" record -q -o "$tmpdir/idle.siprof" -d 3 -p "$pid" || fail "record failed"
assert_running "$pid"
"$SIPROF" report --json -c wall "$tmpdir/idle.siprof" > "$tmpdir/idle.json"
"$SIPROF" report --threads --json "$tmpdir/idle.siprof" > "$tmpdir/idle-threads.json"
json_check "$tmpdir/idle.json" '
s = doc["context"]["stats"]
threads = 62                                  # main, busy, 60 idle
# Each sleeping thread is stopped about once, not at every tick.
assert s["stops"] < s["ticks"] + 3 * threads, s
assert s["reused_stacks"] > s["ticks"] * 50, s
names = {f["function"] for f in doc["functions"]}
assert "idle_main" in names or any("cond_wait" in n for n in names), names
'
json_check "$tmpdir/idle-threads.json" '
idle = [t for t in doc if t["name"] in ("idle", "bench-workload")]
counts = sorted(t["samples"] for t in idle)
# The 60 idle threads and the main thread: samples at (nearly) every tick.
assert len(idle) == 61, len(idle)
assert counts[-1] - counts[0] <= 10, counts
'
echo quit >&"${WL[1]}"
workload_ended idle

# 6 busy threads on however many CPUs: no tick is lost waiting for a thread
# to get a CPU, and the samples show the work.
coproc WL { "$WORKLOAD" busy 6; echo $? > "$tmpdir/busy.status"; }
bg_pids="$bg_pids $WL_PID"
read -r -u "${WL[0]}" ready pid busy || fail "the workload did not start"
bg_pids="$bg_pids $pid"
"$SIPROF" record -q -o "$tmpdir/busy.siprof" -d 3 -p "$pid" || fail "record failed"
assert_running "$pid"
"$SIPROF" report --threads --json "$tmpdir/busy.siprof" > "$tmpdir/busy-threads.json"
"$SIPROF" report --json -c cpu "$tmpdir/busy.siprof" > "$tmpdir/busy.json"
json_check "$tmpdir/busy-threads.json" '
busy = [t for t in doc if t["name"] == "busy"]
assert len(busy) == 6, doc
counts = [t["samples"] for t in busy]
main = [t for t in doc if t["name"] == "bench-workload"][0]["samples"]
# A thread that takes its stop late still gets a sample for every tick.
assert min(counts) >= 0.9 * main, (counts, main)
'
json_check "$tmpdir/busy.json" '
top = doc["functions"][0]
assert top["function"] == "work_leaf", doc["functions"][:3]
assert top["self_percent"] > 80, top
'
echo quit >&"${WL[1]}"
workload_ended busy
