#!/bin/bash
# No sample lost, figures that add up: a recording of a five-thread process
# holds every sample it counted, and every view of it says the same number
# (record's closing line; report's text, --json, --threads, --tree,
# --folded; the session's rows read with SQLite). The reference is outside
# siprof: the threads the kernel lists in /proc/PID/task, the rate asked
# for (a sample per thread per tick, 100 ticks in every second), and the
# wall clock around the command. --duration is wall time from the first
# sample: the session spans it to within a sampling period.
#
# Runs with SIPROF_DEBUG_UNWIND_US make unwinding slower than sampling (as
# on a loaded machine, or while the symbols of a big program are first
# read): samples then wait in the queue across the second boundaries, where
# the counts used to go wrong. Then the same checks on a Python process of
# five threads (two busy, three sleeping; the GIL makes the busy ones take
# turns in a futex), three recordings of 3 s.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"

RATE=100
DUR=2
# How long a tick waits for a thread to take its stop (src/sampler.c): a
# stop given up then costs its tick and those it was waited through. The
# man page says the same.
STOP_TIMEOUT_MS=$(sed -n 's/^#define TICK_STOP_TIMEOUT_MS \([0-9][0-9]*\)$/\1/p' "$top_srcdir/src/sampler.c")
[ -n "$STOP_TIMEOUT_MS" ] || fail "no TICK_STOP_TIMEOUT_MS in src/sampler.c"
grep -qx "A thread asked to stop that has not stopped $STOP_TIMEOUT_MS ms later" "$top_srcdir/man/siprof.1" ||
	fail "the man page does not say that a stop is waited for $STOP_TIMEOUT_MS ms"
STATE=$tmpdir/threads5
mkdir -p "$STATE"
"$TARGETS/target-threads5" "$STATE" &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$STATE/ready"
THREADS=$(ls "/proc/$TARGET_PID/task" | wc -l)
[ "$THREADS" = 5 ] || fail "the target has $THREADS threads, not 5"

# check_recording NAME [VAR=VALUE...]: record DUR s of the target (with
# the environment given), and check every total and the times.
check_recording() {
	local name=$1 f=$tmpdir/$1.siprof t0 t1
	shift
	t0=$(date +%s%N)
	env "$@" "$SIPROF" record --force -o "$f" -r "$RATE" -d "$DUR" -p "$TARGET_PID" \
		2> "$tmpdir/$name.err" || fail "record ($name) failed: $(cat "$tmpdir/$name.err")"
	t1=$(date +%s%N)
	assert_running "$TARGET_PID"
	[ "$(ls "/proc/$TARGET_PID/task" | wc -l)" = "$THREADS" ] ||
		fail "the target's threads changed during the recording"
	"$SIPROF" report -c wall "$f" > "$tmpdir/$name.txt" || fail "report ($name) failed"
	"$SIPROF" report --json -c wall -n 100000 "$f" > "$tmpdir/$name.json" || fail "report --json failed"
	"$SIPROF" report --threads --json "$f" > "$tmpdir/$name-threads.json" || fail "report --threads failed"
	"$SIPROF" report --tree --json -c wall --min-percent 0 "$f" > "$tmpdir/$name-tree.json" ||
		fail "report --tree failed"
	"$SIPROF" report --folded -c wall "$f" > "$tmpdir/$name.folded" || fail "report --folded failed"
	python3 - "$tmpdir/$name" "$f" "$t0" "$t1" "$RATE" "$DUR" "$THREADS" "$STOP_TIMEOUT_MS" <<'EOF' ||
import json, math, re, sqlite3, sys

base, session, t0, t1, rate, dur, threads, stop_ms = sys.argv[1:]
t0, t1, rate, dur, threads = int(t0), int(t1), int(rate), float(dur), int(threads)
doc = json.load(open(base + ".json"))
st = doc["context"]["stats"]
total = int(st["samples"])
text = open(base + ".txt").read()
err = open(base + ".err").read()

def number(pattern, where, what):
    m = re.search(pattern, where, re.M)
    assert m, "no %s in:\n%s" % (what, where)
    return int(m.group(1))

db = sqlite3.connect("file:%s?mode=ro" % session, uri=True)
rows = dict(db.execute("SELECT bucket, SUM(count) FROM samples GROUP BY bucket"))
views = {
    "record's closing line": number(r"recorded [0-9.]+ s, (\d+) samples", err, "closing line"),
    "report: sampling": number(r"^sampling .*?, (\d+) thread-samples", text, "sampling line"),
    "report: classes": number(r"^classes .*\(of (\d+) thread-samples\)", text, "classes line"),
    "report: functions": number(r"^top functions by self: .*, (\d+) thread-samples", text,
                                "functions line"),
    "--json classes": sum(doc["classes"].values()),
    "--json functions (self)": sum(f["self"] for f in doc["functions"]),
    "--threads": sum(t["samples"] for t in json.load(open(base + "-threads.json"))),
    "--tree": json.load(open(base + "-tree.json"))["total"],
    "--tree roots": sum(r["total"] for r in json.load(open(base + "-tree.json"))["roots"]),
    "--folded": sum(int(l.rsplit(" ", 1)[1]) for l in open(base + ".folded")),
    "per-second rows (SQLite)": sum(rows.values()),
}
wrong = {k: v for k, v in views.items() if v != total}
assert not wrong, "stats say %d samples, but %s" % (total, wrong)

# Threads: those the kernel lists, in the closing line and in --threads.
assert number(r"samples of (\d+) threads", err, "thread count") == threads, err
assert len(json.load(open(base + "-threads.json"))) == threads

# Ticks: DUR s at RATE Hz, those missed included.
ticks, missed = int(st["ticks"]), int(st["missed_ticks"])
assert abs(ticks + missed - dur * rate) <= 1, ("ticks", ticks, missed)
# A sample per thread per tick, but for those not taken: a stop that came
# too late or failed costs its tick and the ticks it was waiting through
# (stops are waited for stop_ms), as do those in flight when sampling
# ends; dropped samples are counted one by one.
per_stop = 1 + math.ceil(int(stop_ms) * rate / 1000)
lost = int(per_stop * (st["late_stops"] + st["failed_snapshots"] + threads) +
           st["dropped_samples"])
assert ticks * threads - lost <= total <= ticks * threads, (total, ticks, threads, st)

# Each second: RATE ticks x threads. Missed ticks leave their seconds
# short; a thread found blocked is checked every few ticks (up to 8 at a
# time), and the ticks it owes land at the check, which may be in the
# next second; a stop that comes a tick late counts for its own tick.
slack = 8 * threads
for b in range(int(dur)):
    want = rate * threads
    got = rows.get(b, 0)
    assert want - slack - (missed + 1) * threads - lost <= got <= want + slack, (b, got, want, rows)
assert sum(v for k, v in rows.items() if k >= dur) <= slack, rows

# Wall time from the session's own times, and measured around the command:
# sampling began at or after the command did, ended within a period after
# DUR (a little more on a loaded machine), and before it returned.
start, end = int(doc["context"]["start_unix_ns"]), int(doc["context"]["end_unix_ns"])
span = (end - start) / 1e9
assert dur <= span <= dur + 1.0 / rate + 0.25, ("session span", span)
assert abs(st["duration_s"] - span) < 0.001, (st["duration_s"], span)
assert t0 - 50000000 <= start and end <= t1 + 50000000, ("times", t0, start, end, t1)
print("%s: %d samples in every view; seconds %s; span %.3f s, command %.3f s; %d late stops, "
      "%d failed, %d dropped (up to %d samples lost)" %
      (base.rsplit("/", 1)[1], total, [rows[k] for k in sorted(rows)], span, (t1 - t0) / 1e9,
       st["late_stops"], st["failed_snapshots"], st["dropped_samples"], lost))
EOF
		fail "recording $name: the totals or times are wrong (above)"
	WALL=$(( (t1 - t0) / 1000000 ))
}

# Unwinding that keeps up: the command itself lasts DUR, plus the attach
# and the last samples' unwinding (a few hundred ms on a loaded machine,
# where unwinding gets behind some; well under a second on a quiet one).
for i in 1 2; do
	check_recording "plain$i"
	[ "$WALL" -le $((DUR * 1000 + 3000)) ] ||
		fail "record -d $DUR took $WALL ms, though unwinding kept up"
done
# Unwinding slower than sampling: samples wait, none is lost, and the
# session still spans DUR (the command then waits for the unwinding).
debug_hooks "the recordings with unwinding slower than sampling (SIPROF_DEBUG_UNWIND_US)" &&
	for i in 1 2; do
		check_recording "behind$i" SIPROF_DEBUG_UNWIND_US=4000
	done

# On a terminal, once sampling is over and the queue is still being
# unwound, the status line says how many samples are left ("unwinding N
# samples...", N going down) until record returns; with -q it prints
# nothing but the warning about the debugging aid.
if ! debug_hooks "record on a terminal while unwinding is behind (SIPROF_DEBUG_UNWIND_US)"; then
	:
elif command -v script > /dev/null; then
	for q in "" -q; do
		t0=$(date +%s%N)
		# 10 ms a copy: at least 2 copies a tick (the spinners) take 4 s
		# to unwind, of which 2 s at least after sampling.
		SIPROF_DEBUG_UNWIND_US=10000 script -qec "'$SIPROF' record $q --force -o '$tmpdir/tty.siprof' -r $RATE -d $DUR -p $TARGET_PID" \
			/dev/null > "$tmpdir/tty$q.out" 2>&1 || fail "record $q on a terminal failed: $(cat "$tmpdir/tty$q.out")"
		t1=$(date +%s%N)
		"$SIPROF" report --json "$tmpdir/tty.siprof" > "$tmpdir/tty.json" ||
			fail "report of the terminal's recording failed"
		python3 - "$tmpdir/tty$q.out" "$tmpdir/tty.json" "$t0" "$t1" "$DUR" "$q" <<'EOF' ||
import json, re, sys
out = open(sys.argv[1], errors="replace").read()
doc = json.load(open(sys.argv[2]))
t0, t1, dur, quiet = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6] == "-q"
span = (int(doc["context"]["end_unix_ns"]) - int(doc["context"]["start_unix_ns"])) / 1e9
wall = (t1 - t0) / 1e9
assert dur <= span < dur + 0.3, ("the session does not span --duration", span)
if quiet:
    rest = [l for l in out.replace("\r", "\n").splitlines()
            if l.strip() and "SIPROF_DEBUG_UNWIND_US" not in l]
    assert not rest, ("record -q printed", rest)
    print("record -q on a terminal: nothing printed; %.2f s (session %.3f s)" % (wall, span))
    sys.exit(0)
left = [int(n) for n in re.findall(r"unwinding (\d+) samples\.\.\.", out)]
total = int(doc["context"]["stats"]["samples"])
assert re.search(r"recorded [0-9.]+ s, %d samples" % total, out), out
assert wall >= span + 1.5, ("the unwinding was not slowed down", wall, span)
assert left, ("no 'unwinding N samples...' in %.1f s of unwinding" % (wall - span), out)
assert all(a >= b for a, b in zip(left, left[1:])) and all(0 < n <= total for n in left), left
print("record on a terminal: %.2f s for a %.3f s session, left to unwind %s of %d" %
      (wall, span, left, total))
EOF
			fail "record $q on a terminal: what it printed while unwinding is wrong (above)"
	done
else
	echo "script (util-linux) is not installed: record on a terminal not checked"
fi

# The Python process: 2 busy threads and 3 sleeping (the main thread
# among them), in 3-second recordings.
kill -TERM "$TARGET_PID"
wait "$TARGET_PID" 2> /dev/null
STATE=$tmpdir/python
mkdir -p "$STATE"
python3 -c '
import os, sys, threading, time
def busy():
    x = 1
    while True:
        x = (x * 31 + 7) & 0xffffffff
def sleeper():
    while True:
        time.sleep(3600)
for f in (busy, busy, sleeper, sleeper):
    threading.Thread(target=f, daemon=True).start()
with open(sys.argv[1] + "/ready.tmp", "w") as r:
    r.write("%d\n" % os.getpid())
os.rename(sys.argv[1] + "/ready.tmp", sys.argv[1] + "/ready")
while True:
    time.sleep(3600)
' "$STATE" &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$STATE/ready"
THREADS=$(ls "/proc/$TARGET_PID/task" | wc -l)
[ "$THREADS" = 5 ] || fail "the Python target has $THREADS threads, not 5"
DUR=3
for i in 1 2 3; do
	check_recording "python$i"
	json_check "$tmpdir/python$i.json" '
s = doc["context"]["stats"]
assert s["samples"] == sum(doc["classes"].values()), (s["samples"], doc["classes"])
print("python: classes", doc["classes"])
'
done

# A command gone before its symbols could be read: what was sampled of it
# is still counted, with a stack that is not known.
for i in 1 2 3; do
	"$SIPROF" record -q --force -o "$tmpdir/gone.siprof" -- true || fail "record -- true failed"
	"$SIPROF" report --json -c wall "$tmpdir/gone.siprof" > "$tmpdir/gone.json"
	json_check "$tmpdir/gone.json" '
s = doc["context"]["stats"]
assert s["samples"] == sum(doc["classes"].values()) == sum(f["self"] for f in doc["functions"]), s
'
done
exit 0
