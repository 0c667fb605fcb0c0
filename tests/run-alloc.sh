#!/bin/bash
# record --alloc (uprobes on the allocator), against the targets' own
# counters (tests/targets/alloc-*.c): three sites' byte and object shares
# within 5 points, each at its file:line (the innermost frame is the
# function that called malloc), probing all the time and at the default
# budget; a steady leak beside a churn of the same bytes: the leak is the
# only suspect, its rate within 20% of the target's; C++ new (operator new
# innermost, its caller's line above) and a program on jemalloc: the right
# sites; threads that live a millisecond, probed from their first
# instruction; siprof killed (SIGKILL) while probing leaves no probe behind (the
# target's own throughput counter is back to what it was before, no uprobe
# is registered, no perf event is open in the target) and a readable
# session; and an unprivileged user gets a clear message and EXIT_NOPROBES
# from --alloc, while record without --alloc still works for them.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
need_uprobes
load_exit_codes
run_alone "the shares are compared with the targets' paced counters, which a busy machine skews"
CXX_SRC=$top_srcdir/tests/targets/alloc-cxx.cc

# sites SESSION TYPE: the session's TYPE samples by innermost frame, as
# JSON {FUNCTION: {"bytes", "objects", "where": {"FILE:LINE<tab>CALLER<tab>
# FILE:LINE": [bytes, objects]}}}, from its tables (man/siprof-session.5).
sites() {
	python3 - "$1" "$2" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = db.execute("""
    SELECT f.function, f.file, f.line, c.function, c.file, c.line, sum(s.value), sum(s.count)
    FROM samples s JOIN types t ON t.id = s.type
    JOIN stacks st ON st.id = s.stack JOIN frame_names f ON f.id = st.frame
    LEFT JOIN stacks ps ON ps.id = st.parent LEFT JOIN frame_names c ON c.id = ps.frame
    WHERE t.name = ? GROUP BY 1, 2, 3, 4, 5, 6""", (sys.argv[2],)).fetchall()
out = {}
for fn, file, line, caller, cfile, cline, v, n in rows:
    o = out.setdefault(fn, {"bytes": 0, "objects": 0, "where": {}})
    o["bytes"] += v
    o["objects"] += n
    # Where: the innermost frame's file:line, then its caller's name and
    # file:line, tab-separated.
    key = f"{file}:{line}\t{caller}\t{cfile}:{cline}"
    w = o["where"].setdefault(key, [0, 0])
    w[0] += v
    w[1] += n
print(json.dumps(out))
PY
}

# check_shares SESSION BEFORE AFTER SRC LABEL: the alloc samples' byte
# and object shares by site are within 5 points of the target's counts
# between BEFORE and AFTER, and each site's bytes come from the line of
# its marker in SRC (SITE_NAME for site_name, make_name: SITE_NEW_NAME).
check_shares() {
	sites "$1" alloc > "$tmpdir/sites.json" || fail "$5: cannot read the session's alloc samples"
	python3 - "$tmpdir/sites.json" "$2" "$3" "$4" "$5" <<'PY' || fail "$5: the shares or lines are wrong (above)"
import json, os, re, sys
got = json.load(open(sys.argv[1]))
a, b = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
src, label = sys.argv[4], sys.argv[5]
lines = {}
for i, text in enumerate(open(src), 1):
    m = re.search(r"SITE_(NEW_)?([A-Z]+)", text)
    if m:
        lines[m.group(2).lower()] = i
want_b = {k: b["sites"][k]["bytes"] - a["sites"][k]["bytes"] for k in b["sites"]}
want_n = {k: b["sites"][k]["objects"] - a["sites"][k]["objects"] for k in b["sites"]}
cxx = src.endswith(".cc")
# A site's bytes and objects, and where its bytes were allocated (file:line
# of the innermost frame; in C++ the innermost frame is operator new, and
# the site is its caller, at the caller's line).
by = {}
tot_b = sum(o["bytes"] for o in got.values()) or 1
tot_n = sum(o["objects"] for o in got.values()) or 1
for fn, o in got.items():
    for where, (v, n) in o["where"].items():
        inner, caller, cat = where.split("\t")
        new = cxx and fn.startswith("operator new")
        site, at = (caller, cat) if new else (fn, inner)
        s = by.setdefault(site, {"bytes": 0, "objects": 0, "where": {}})
        s["bytes"] += v
        s["objects"] += n
        s["where"][at] = s["where"].get(at, 0) + v
sb, sn = sum(want_b.values()), sum(want_n.values())
bad = []
for site in want_b:
    gb = 100.0 * by.get(site, {}).get("bytes", 0) / tot_b
    gn = 100.0 * by.get(site, {}).get("objects", 0) / tot_n
    wb, wn = 100.0 * want_b[site] / sb, 100.0 * want_n[site] / sn
    print(f"{label}: {site}: bytes {gb:.1f}% (target {wb:.1f}%), objects {gn:.1f}% (target {wn:.1f}%)",
          file=sys.stderr)
    if abs(gb - wb) > 5 or abs(gn - wn) > 5:
        bad.append(f"{site}: bytes {gb:.1f}% vs {wb:.1f}%, objects {gn:.1f}% vs {wn:.1f}%")
    line = lines[site.split("_", 1)[1]]
    where = by.get(site, {}).get("where", {})
    top = max(where, key=where.get) if where else "none"
    file, _, l = top.rpartition(":")
    if os.path.basename(file) != os.path.basename(src) or l != str(line):
        bad.append(f"{site}: its bytes are at {top}, not {os.path.basename(src)}:{line}")
extra = [f for f in by if f not in want_b]
if extra:
    bad.append(f"sites the target does not have: {extra}")
if cxx and not all(fn.startswith("operator new") for fn in got):
    bad.append(f"the innermost frames are not operator new: {list(got)}")
for x in bad:
    print(f"{label}: {x}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

# record_sites PROG-NAME SECONDS LABEL SRC [RECORD-OPTIONS...] -- [TARGET-ARGS...]
record_sites() {
	local name=$1 secs=$2 label=$3 src=$4 opts=() S
	shift 4
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	start_alloc "$name" "$@"
	S=$tmpdir/$label.siprof
	counts "$tmpdir/$label.before"
	"$SIPROF" record -q --alloc "${opts[@]}" -o "$S" -d "$secs" -p "$TARGET_PID" 2> "$tmpdir/$label.err" ||
		fail "$label: record --alloc failed: $(cat "$tmpdir/$label.err")"
	counts "$tmpdir/$label.after"
	assert_running "$TARGET_PID"
	kill -TERM "$TARGET_PID"
	# How the probing went, for the log.
	sqlite3 "$S" "SELECT key || ' ' || value FROM stats WHERE key LIKE 'alloc%'" | tr '\n' ' ' | sed "s/^/$label: /" >&2
	echo >&2
	check_shares "$S" "$tmpdir/$label.before" "$tmpdir/$label.after" "$src" "$label"
	"$SIPROF" report --type=alloc --json "$S" > "$tmpdir/$label.json" ||
		fail "$label: report --type=alloc failed"
}

# 1. Three sites, 60/30/10 percent of the bytes, 10,000 calls a second.
# Probing all the time: objects of 32 B, 4 KiB and 16 KiB. In windows under
# a budget: this paced target uses little CPU, so at the default budget
# (1% of it) a window comes every two minutes, and a test has only the
# 20 ms calibration; at 50% windows of 0.2 s come every few seconds, and
# siprof sees a few percent of the calls, so a site must come often enough
# for its share to be estimated within 5 points from them: 32 B, 256 B and
# 1 KiB (one 1 KiB object in 190 calls). 1 MiB objects are checked in 1b,
# over calls the test knows the probes saw.
record_sites sites 6 sites-always "$SITES_SRC" --alloc-window=always -- 10000 32,4096,16384
record_sites sites 15 sites-windows "$SITES_SRC" --overhead=50 -- 10000 32,256,1024
sqlite3 "$tmpdir/sites-windows.siprof" "SELECT value >= 3 FROM stats WHERE key = 'alloc_windows'" | grep -qx 1 ||
	fail "sites-windows: fewer than 3 windows (the calibration and two) in 15 s at --overhead=50"
json_check "$tmpdir/sites-always.json" '
names = [f["function"] for f in doc["functions"]]
assert {"site_small", "site_page", "site_huge"} <= set(names), names
'

# 1b. The issue's sizes, 32 B, 4 KiB and 1 MiB: 60/10 percent of the bytes
# is one 1 MiB object every 196,608 small ones, each one 10 points of
# share, so the shares are checked over exactly the calls the probes saw:
# the target's allocations are gated on (SIGUSR2) once the probes are in
# (the session has a window's end) and off before they go, and no record
# may be lost.
start_alloc sites 20000 32,4096,1048576 gated
S=$tmpdir/sites-mib.siprof
counts "$tmpdir/sites-mib.before"
"$SIPROF" record -q --alloc --alloc-window=always -o "$S" -d 120 -p "$TARGET_PID" 2> "$tmpdir/sites-mib.err" &
rec=$!
bg_pids="$bg_pids $rec"
i=0
until [ "$(sqlite3 "file:$S?mode=ro" "SELECT value >= 1 FROM stats WHERE key = 'alloc_windows'" 2> /dev/null)" = 1 ]; do
	[ $i -lt 300 ] || fail "sites-mib: no window's end in 30 s: $(cat "$tmpdir/sites-mib.err")"
	sleep 0.1
	i=$((i + 1))
done
kill -USR2 "$TARGET_PID"
sleep 25
kill -USR2 "$TARGET_PID"
sleep 1 # the last calls' hits read
kill -INT "$rec"
wait "$rec" || fail "sites-mib: record --alloc ended with $?: $(cat "$tmpdir/sites-mib.err")"
counts "$tmpdir/sites-mib.after"
kill -TERM "$TARGET_PID"
[ "$(sqlite3 "$S" "SELECT value FROM stats WHERE key = 'alloc_lost'")" = 0.0 ] ||
	fail "sites-mib: records were lost: $(sqlite3 "$S" "SELECT key || ' ' || value FROM stats WHERE key LIKE 'alloc%'" | tr '\n' ' ')"
python3 - "$tmpdir/sites-mib.before" "$tmpdir/sites-mib.after" <<'PY' || fail "sites-mib: the target made fewer than two 1 MiB objects (above)"
import json, sys
a, b = (json.load(open(f))["sites"]["site_huge"] for f in sys.argv[1:3])
print("sites-mib: 1 MiB objects", b["objects"] - a["objects"], file=sys.stderr)
assert b["size"] == 1048576 and b["objects"] - a["objects"] >= 2
PY
check_shares "$S" "$tmpdir/sites-mib.before" "$tmpdir/sites-mib.after" "$SITES_SRC" sites-mib

# 2. jemalloc: the same sites, through libjemalloc's malloc.
ldd "$TARGETS/target-alloc-sites-je" | grep -q libjemalloc ||
	fail "target-alloc-sites-je is not linked against jemalloc"
record_sites sites-je 6 jemalloc "$SITES_SRC" --alloc-window=always -- 10000 32,4096,16384

# 3. C++: operator new innermost, the functions that call it above, with
# their lines.
record_sites cxx 6 cxx "$CXX_SRC" --alloc-window=always --

# 4. A leak beside a churn of the same bytes: the leak is the only
# suspect, at the target's own rate (64 KiB a second) within 20%; probing
# all the time (a window's end every second) and in windows with the
# probes defined in tracefs; and all the time through the uprobe PMU
# (whose windows cost a second or more each to take out: too few in a
# test's time on a slow machine).
check_leak() {
	local label=$1 secs=$2
	shift 2
	start_alloc leak
	counts "$tmpdir/$label.before"
	"$SIPROF" record -q --alloc "$@" -o "$tmpdir/$label.siprof" -d "$secs" -p "$TARGET_PID" \
		2> "$tmpdir/$label.err" || fail "$label: record --alloc failed: $(cat "$tmpdir/$label.err")"
	counts "$tmpdir/$label.after"
	kill -TERM "$TARGET_PID"
	"$SIPROF" report --leaks --json "$tmpdir/$label.siprof" > "$tmpdir/$label.json" ||
		fail "$label: report --leaks failed"
	json_check "$tmpdir/$label.json" '
import os
a = json.load(open("'"$tmpdir/$label.before"'"))
b = json.load(open("'"$tmpdir/$label.after"'"))
rate = 60.0 * (b["sites"]["leak_site"]["bytes"] - a["sites"]["leak_site"]["bytes"]) / (b["elapsed_s"] - a["elapsed_s"])
leaks = doc["leaks"]
print("'"$label"': suspects", [(l["function"], round(l["rate_bytes_per_minute"])) for l in leaks], "target", round(rate), "per minute")
assert [l["function"] for l in leaks] == ["leak_site"], leaks
l = leaks[0]
assert os.path.basename(l["file"]) == "alloc-leak.c" and l["line"] == '"$(line_of SITE_LEAK "$LEAK_SRC")"', l
assert abs(l["rate_bytes_per_minute"] - rate) <= 0.2 * rate, (l["rate_bytes_per_minute"], rate)
'
}
check_leak leak-always 10 --alloc-window=always
check_leak leak-windows 25 --overhead=100 --alloc-window=300
check_leak leak-windows-pmu 10 --alloc-window=always --uprobes=pmu
# How each made its probes, as the session says and tracefs shows.
mech() { sqlite3 "$tmpdir/$1.siprof" "SELECT value FROM meta WHERE key = 'alloc_probes'"; }
[ "$(mech leak-windows-pmu)" = "the uprobe PMU" ] ||
	fail "--uprobes=pmu made its probes through '$(mech leak-windows-pmu)'"
if [ -w /sys/kernel/tracing/uprobe_events ] || [ -w /sys/kernel/debug/tracing/uprobe_events ]; then
	[ "$(mech leak-windows)" = tracefs ] ||
		fail "with tracefs writable, the probes were made through '$(mech leak-windows)'"
fi
for label in leak-windows leak-windows-pmu; do
	echo "$label: $(sqlite3 "$tmpdir/$label.siprof" "SELECT group_concat(key || ' ' || value, ' ') FROM stats WHERE key IN ('alloc_windows', 'alloc_period_s', 'alloc_probed_s')")" >&2
done

# 4b. Threads that live a millisecond, 50 a second, each allocating as
# it starts: probed from their first instruction (the tracer's clone
# event), so the probes see the target's own rate of thread_site's
# allocations over the time they were on, within 10% (a look at /proc
# every 50 ms would meet almost none of these threads).
start_alloc threads
counts "$tmpdir/threads.before"
"$SIPROF" record -q --alloc --alloc-window=always -o "$tmpdir/threads.siprof" -d 5 -p "$TARGET_PID" \
	2> "$tmpdir/threads.err" || fail "threads: record --alloc failed: $(cat "$tmpdir/threads.err")"
counts "$tmpdir/threads.after"
kill -TERM "$TARGET_PID"
sites "$tmpdir/threads.siprof" alloc > "$tmpdir/threads.json" || fail "threads: cannot read the session's alloc samples"
python3 - "$tmpdir/threads.json" "$tmpdir/threads.before" "$tmpdir/threads.after" \
	"$(sqlite3 "$tmpdir/threads.siprof" "SELECT value FROM stats WHERE key = 'alloc_probed_s'")" \
	"$(sqlite3 "$tmpdir/threads.siprof" "SELECT value FROM stats WHERE key = 'alloc_threads_born'")" <<'PY' ||
import json, sys
got = json.load(open(sys.argv[1]))
a, b = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
probed, born = float(sys.argv[4]), float(sys.argv[5])
rate = (b["sites"]["thread_site"]["objects"] - a["sites"]["thread_site"]["objects"]) / (b["elapsed_s"] - a["elapsed_s"])
threads = (b["loops"] - a["loops"]) / (b["elapsed_s"] - a["elapsed_s"])
seen = got.get("thread_site", {}).get("objects", 0)
want = rate * probed
print(f"threads: thread_site {seen} objects seen in {probed:.2f} s probed, target {want:.0f}; "
      f"{born:.0f} threads probed from birth, target {threads * probed:.0f}", file=sys.stderr)
assert abs(seen - want) <= 0.1 * want, (seen, want)
assert born >= 0.9 * threads * probed, (born, threads * probed)
PY
	fail "threads: the short-lived threads' allocations were not all seen (above)"

# 5. siprof killed while it probes, all the time: the target's own
# throughput (unpaced) is back to what it was before, nothing of the
# probes is left, and the session reads.
start_alloc sites flat
rate_of() { # the target's loops a second over 2 s, from its counters
	counts "$tmpdir/r0"
	sleep 2
	counts "$tmpdir/r1"
	python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
print(int((b["loops"] - a["loops"]) / (b["elapsed_s"] - a["elapsed_s"])))' "$tmpdir/r0" "$tmpdir/r1"
}
uprobes_now() { # the uprobes the kernel has registered, by tracefs and perf probe
	local f
	for f in /sys/kernel/tracing/uprobe_events /sys/kernel/debug/tracing/uprobe_events; do
		[ -r "$f" ] && cat "$f"
	done
	command -v perf > /dev/null && perf probe -l 2> /dev/null
	:
}
before_probes=$(uprobes_now)
rate0=$(rate_of)
"$SIPROF" record -q --alloc --alloc-window=always -o "$tmpdir/kill.siprof" -p "$TARGET_PID" 2> "$tmpdir/kill.err" &
rec=$!
bg_pids="$bg_pids $rec"
# Mid-window: once the session holds alloc samples, probes are in place.
i=0
until python3 -c '
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
n = db.execute("SELECT count(*) FROM samples s JOIN types t ON t.id = s.type WHERE t.name = ?", ("alloc",)).fetchone()[0]
sys.exit(0 if n else 1)' "$tmpdir/kill.siprof" 2> /dev/null; do
	kill -0 "$rec" 2> /dev/null || fail "record --alloc ended early: $(cat "$tmpdir/kill.err")"
	[ $i -lt 300 ] || fail "no alloc samples in the session after 30 s"
	sleep 0.1
	i=$((i + 1))
done
probed=$(ls -l /proc/"$TARGET_PID"/fd 2> /dev/null | grep -c perf_event || :)
tracefs=/sys/kernel/tracing/uprobe_events
[ -w "$tracefs" ] || tracefs=/sys/kernel/debug/tracing/uprobe_events
if [ -w "$tracefs" ]; then
	# The probes are defined in tracefs, a group of siprof's, with its
	# keeper beside it.
	grep -q "^[pr]:siprof_${rec}_[0-9]*/" "$tracefs" ||
		fail "no probe of siprof's ($rec) in $tracefs: $(cat "$tracefs")"
	keeper=$(ps -o pid=,comm= --ppid "$rec" | awk '$2 == "siprof-keeper" { print $1 }')
	[ -n "$keeper" ] || fail "siprof ($rec) has no siprof-keeper child: $(ps -o pid,comm --ppid "$rec")"
fi
rate1=$(rate_of)
kill -KILL "$rec"
wait "$rec" 2> /dev/null
[ ! -d "/proc/$rec" ] || fail "siprof ($rec) is still there after SIGKILL"
sleep 0.5
assert_running "$TARGET_PID"
rate2=$(rate_of)
echo "flat target: $rate0 loops/s before, $rate1 while probed, $rate2 after the kill" >&2
# Loose: probes left behind would cost most of the rate (a trap in each
# malloc and free is microseconds against a loop of a fraction of one).
[ "$rate2" -ge $((rate0 / 2)) ] ||
	fail "after siprof was killed the target runs at $rate2 loops/s, against $rate0 before: probes are left"
[ "$(uprobes_now)" = "$before_probes" ] || fail "uprobes are left registered: $(uprobes_now)"
n=$(ls -l /proc/"$TARGET_PID"/fd 2> /dev/null | grep -c perf_event || :)
[ "$n" = 0 ] || fail "the target holds $n perf event descriptors (it held $probed while probed)"
"$SIPROF" report "$tmpdir/kill.siprof" > /dev/null 2> "$tmpdir/kill-report.err" ||
	fail "the session of the killed siprof does not read: $(cat "$tmpdir/kill-report.err")"

# 5b. siprof and its keeper killed at once (a process group's SIGKILL):
# the definitions stay in tracefs, with no breakpoint in the target (its
# rate is back), until the next record --alloc takes them out.
if [ -w "$tracefs" ]; then
	"$SIPROF" record -q --alloc --alloc-window=always -o "$tmpdir/kill2.siprof" -p "$TARGET_PID" 2> "$tmpdir/kill2.err" &
	rec=$!
	bg_pids="$bg_pids $rec"
	i=0
	until keeper=$(ps -o pid=,comm= --ppid "$rec" | awk '$2 == "siprof-keeper" { print $1 }') &&
		[ -n "$keeper" ] && grep -q "^[pr]:siprof_${rec}_" "$tracefs"; do
		kill -0 "$rec" 2> /dev/null || fail "record --alloc ended early: $(cat "$tmpdir/kill2.err")"
		[ $i -lt 300 ] || fail "no keeper and no definitions after 30 s"
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1
	kill -KILL "$rec" "$keeper"
	wait "$rec" 2> /dev/null
	sleep 0.5
	grep -q "^[pr]:siprof_${rec}_" "$tracefs" ||
		fail "the definitions went with the keeper killed too (this test then tests nothing)"
	rate3=$(rate_of)
	echo "flat target: $rate3 loops/s with a killed siprof's definitions left" >&2
	[ "$rate3" -ge $((rate0 / 2)) ] ||
		fail "with definitions left and no event open the target runs at $rate3 loops/s, against $rate0"
	"$SIPROF" record -q --alloc -d 1 -o "$tmpdir/after.siprof" -p "$TARGET_PID" 2> "$tmpdir/after.err" ||
		fail "record --alloc after the kill failed: $(cat "$tmpdir/after.err")"
	! grep "siprof_${rec}_" "$tracefs" || fail "the next record --alloc left the stale definitions"
	! grep "siprof_" "$tracefs" || fail "record --alloc left definitions of its own"
fi
kill -TERM "$TARGET_PID"

# 6. No permission: an unprivileged user probing a process of its own
# gets EXIT_PERM and a message that says what is missing and how to get
# it; record without --alloc still works for that user.
if command -v setpriv > /dev/null && [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
	chmod 755 "$tmpdir"
	nobody=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups --)
	d=$tmpdir/nobody
	mkdir -p "$d"
	chmod 777 "$d"
	"${nobody[@]}" "$TARGETS/target-alloc-sites" "$d" 2000 &
	np=$!
	bg_pids="$bg_pids $np"
	wait_file "$d/ready"
	"${nobody[@]}" "$SIPROF" record -q --alloc -o "$d/alloc.siprof" -d 2 -p "$np" 2> "$d/alloc.err"
	rc=$?
	# EXIT_NOPROBES where src/cmd.h has it (the probes' own code), else EXIT_PERM.
	want=${EXIT_NOPROBES:-$EXIT_PERM}
	[ "$rc" = "$want" ] ||
		fail "record --alloc as nobody exited $rc, not $want (EXIT_NOPROBES, src/cmd.h): $(cat "$d/alloc.err")"
	grep -qiE 'uprobe|perf_event' "$d/alloc.err" && grep -qiE 'CAP_PERFMON|CAP_SYS_ADMIN|root|perf_event_paranoid' "$d/alloc.err" ||
		fail "record --alloc as nobody does not say what is missing and how to fix it: $(cat "$d/alloc.err")"
	[ "$(wc -l < "$d/alloc.err")" -le 3 ] || fail "the message is not short: $(cat "$d/alloc.err")"
	"${nobody[@]}" "$SIPROF" record -q -o "$d/plain.siprof" -d 2 -p "$np" 2> "$d/plain.err" ||
		fail "record without --alloc as nobody failed: $(cat "$d/plain.err")"
	"$SIPROF" report --json "$d/plain.siprof" > "$d/plain.json" || fail "the unprivileged session does not read"
	json_check "$d/plain.json" 'assert sum(doc["classes"].values()) > 0, doc["classes"]'
	assert_running "$np"
	kill -TERM "$np"
else
	echo "skipped: the unprivileged checks (they need root, setpriv and the user nobody)" >&2
fi
exit 0
