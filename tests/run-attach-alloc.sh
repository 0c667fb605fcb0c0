#!/bin/bash
# attach --alloc, against the targets' own counters
# (tests/targets/alloc-*.c): the --batch --json frames of the Alloc tab
# give three sites' byte and object shares within 5 points, each at its
# file:line, and a steady leak beside a churn of the same bytes as the only
# suspect at the target's rate within 20%; the live view (tmux) shows the
# Alloc and In use tabs with their bytes, the call site in the Alloc tree,
# the leak suspect in the memory panel, and the In use tree from it; on
# quitting no probe is left in the target; and the options that go with
# --alloc say so without it.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
need_uprobes
load_exit_codes
run_alone "the shares are compared with the targets' paced counters, which a busy machine skews"

# 1. The options that go with --alloc, without it: a usage error, and
# nothing attached.
start_alloc leak
for opt in "-c alloc" "-c inuse" "--overhead=5" "--alloc-window=always" "--uprobes=pmu"; do
	# shellcheck disable=SC2086 # the option and its value, split
	"$SIPROF" attach --batch $opt "$TARGET_PID" > /dev/null 2> "$tmpdir/usage.err"
	rc=$?
	[ "$rc" = "$EXIT_USAGE" ] || fail "attach $opt without --alloc: exit $rc, not $EXIT_USAGE"
	grep -q -- "--alloc" "$tmpdir/usage.err" || fail "attach $opt without --alloc: $(cat "$tmpdir/usage.err")"
done
[ "$(tr -d '\0' < /proc/$TARGET_PID/status | sed -n 's/^TracerPid:\t*//p')" = 0 ] ||
	fail "a usage error left the target traced"
kill -TERM "$TARGET_PID"

# 2. Three sites, 60/30/10 percent of the bytes, probed all the time:
# the last frame's Alloc functions (bytes, since the attach) against the
# target's counts over the attach.
start_alloc sites 10000 32,4096,16384
counts "$tmpdir/sites.before"
"$SIPROF" attach --alloc --alloc-window=always -c alloc --window=all --batch --json \
	--iterations=6 --delay=1 "$TARGET_PID" > "$tmpdir/sites.jsonl" 2> "$tmpdir/sites.err" ||
	fail "attach --alloc --batch failed: $(cat "$tmpdir/sites.err")"
counts "$tmpdir/sites.after"
assert_running "$TARGET_PID"
kill -TERM "$TARGET_PID"
tail -1 "$tmpdir/sites.jsonl" > "$tmpdir/sites.json"
json_check "$tmpdir/sites.json" '
import os, re, sys
a = json.load(open("'"$tmpdir/sites.before"'"))
b = json.load(open("'"$tmpdir/sites.after"'"))
lines = {}
for i, text in enumerate(open("'"$SITES_SRC"'"), 1):
    m = re.search(r"SITE_([A-Z]+)", text)
    if m:
        lines["site_" + m.group(1).lower()] = i
assert doc["function_unit"] == "bytes", doc["function_unit"]
mem = doc["memory"]
print("sites: memory", {k: v for k, v in mem.items() if k != "leaks"}, file=sys.stderr)
assert mem["alloc_bytes"] == doc["function_samples"], (mem["alloc_bytes"], doc["function_samples"])
want_b = {k: b["sites"][k]["bytes"] - a["sites"][k]["bytes"] for k in b["sites"]}
want_n = {k: b["sites"][k]["objects"] - a["sites"][k]["objects"] for k in b["sites"]}
got = {f["function"]: f for f in doc["functions"] if f["self"] > 0}
assert set(got) == set(want_b), sorted(got)
assert mem["alloc_objects"] == sum(f["self_count"] for f in got.values()), mem
bad = []
for site in want_b:
    f = got[site]
    gb = f["self_percent"]
    gn = 100.0 * f["self_count"] / mem["alloc_objects"]
    wb = 100.0 * want_b[site] / sum(want_b.values())
    wn = 100.0 * want_n[site] / sum(want_n.values())
    print(f"sites: {site}: bytes {gb:.1f}% (target {wb:.1f}%), objects {gn:.1f}% (target {wn:.1f}%)", file=sys.stderr)
    if abs(gb - wb) > 5 or abs(gn - wn) > 5:
        bad.append((site, gb, wb, gn, wn))
    if os.path.basename(f["file"] or "") != "alloc-sites.c" or f["line"] != lines[site]:
        bad.append((site, f["file"], f["line"], "not alloc-sites.c:%d" % lines[site]))
assert not bad, bad
'

# 3. A leak beside a churn of the same bytes, probed all the time (a
# window ends every second): the last frame's leak suspects.
start_alloc leak
counts "$tmpdir/leak.before"
"$SIPROF" attach --alloc --alloc-window=always --batch --json --iterations=10 --delay=1 \
	"$TARGET_PID" > "$tmpdir/leak.jsonl" 2> "$tmpdir/leak.err" ||
	fail "attach --alloc --batch failed: $(cat "$tmpdir/leak.err")"
counts "$tmpdir/leak.after"
tail -1 "$tmpdir/leak.jsonl" > "$tmpdir/leak.json"
json_check "$tmpdir/leak.json" '
import os
a = json.load(open("'"$tmpdir/leak.before"'"))
b = json.load(open("'"$tmpdir/leak.after"'"))
rate = 60.0 * (b["sites"]["leak_site"]["bytes"] - a["sites"]["leak_site"]["bytes"]) / (b["elapsed_s"] - a["elapsed_s"])
leaks = doc["memory"]["leaks"]
print("leak: suspects", [(l["function"], round(l["rate_bytes_per_minute"])) for l in leaks], "target", round(rate), "per minute")
assert [l["function"] for l in leaks] == ["leak_site"], leaks
l = leaks[0]
assert os.path.basename(l["file"]) == "alloc-leak.c" and l["line"] == '"$(line_of SITE_LEAK "$LEAK_SRC")"', l
assert abs(l["rate_bytes_per_minute"] - rate) <= 0.2 * rate, (l["rate_bytes_per_minute"], rate)
assert doc["memory"]["windows"] >= 5, doc["memory"]
'
# The text frame says the same.
"$SIPROF" attach --alloc --alloc-window=always --batch --iterations=6 --delay=1 \
	"$TARGET_PID" > "$tmpdir/leak.txt" 2> "$tmpdir/leak.err" ||
	fail "attach --alloc --batch (text) failed: $(cat "$tmpdir/leak.err")"
grep -qE "^leak suspect: [0-9.]+ [KM]iB a minute over [0-9]+ windows, .* not freed: leak_site \(alloc-leak.c:$(line_of SITE_LEAK "$LEAK_SRC")\)" "$tmpdir/leak.txt" ||
	fail "the text frames name no leak suspect: $(tail -12 "$tmpdir/leak.txt")"
grep -q "^memory: .* allocations probed" "$tmpdir/leak.txt" ||
	fail "the text frames have no memory line: $(tail -12 "$tmpdir/leak.txt")"

# 4. The live view: the memory tabs, the memory panel, the In use tree.
tmux_init alloc
tm new-session -d -s alloc -x 150 -y 40 -c "$tmpdir" \
	"TERM=xterm-256color '$SIPROF' attach --alloc --alloc-window=always $TARGET_PID; echo EXITED \$?; sleep 60"
wait_screen '\[Cpu [0-9]*%\]' "the live view"
wait_screen ' Alloc [0-9.]+ [KMG]?i?B .*In use [0-9.]+ [KMG]?i?B' "the memory tabs" 200
for i in 1 2 3 4 5 6 7 8 9 10; do
	screen | grep -qE '\[Alloc [0-9.]' && break
	keys Tab
done
screen | grep -qE '\[Alloc [0-9.]' || fail "Tab never reached the Alloc tab: $(screen)"
wait_screen 'view: Alloc tree' "the Alloc tree"
wait_screen ' total% +self% +bytes +function' "the Alloc tree's bytes column"
wait_screen '(leak_site|churn_site) \(alloc-leak.c:[0-9]+\)' "a call site in the Alloc tree"
keys 5
wait_screen 'view: memory' "the memory panel"
wait_screen '^probing \((tracefs|the uprobe PMU)\): probing all the time' "the probing line"
wait_screen "leak_site \\(alloc-leak.c:$(line_of SITE_LEAK "$LEAK_SRC")\\)" "the leak suspect" 200
screen | grep -q 'churn_site' && fail "the memory panel lists the churn as a leak: $(screen)"
keys Enter
wait_screen 'view: In use tree' "Enter: the In use tree"
wait_screen 'leak_site \(alloc-leak.c' "the leak's bytes in the In use tree"
keys q
wait_screen "EXITED 0" "q (quit)"
assert_running "$TARGET_PID"
# Nothing of the probes is left: no definition of siprof's in tracefs
# (this test runs alone: no other siprof has any).
for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
	[ -r "$d/uprobe_events" ] || continue
	! grep -q "^[pr]:siprof_" "$d/uprobe_events" ||
		fail "probes left in $d/uprobe_events after quitting: $(grep siprof "$d/uprobe_events")"
	break
done
kill -TERM "$TARGET_PID"
exit 0
