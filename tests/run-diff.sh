#!/bin/bash
# siprof diff: the functions whose share changed, largest change first,
# sessions of different rates and lengths compared as shares, and the
# differential flame graph coloured by the change. The wall-clock shares
# (-c wall) move when threads are added; the cpu class's (the default)
# stay, as only the spinner burns CPU in both.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_classes
# base: the spinner thread alone; new: every thread, at another rate and length.
"$SIPROF" record -q -o "$tmpdir/base.siprof" -d 2 --threads spinner -p "$TARGET_PID" || fail "record failed"
"$SIPROF" record -q -o "$tmpdir/new.siprof" -d 3 -r 49 -p "$TARGET_PID" || fail "record failed"
"$SIPROF" record -q -o "$tmpdir/same.siprof" -d 2 -r 97 -p "$TARGET_PID" || fail "record failed"

"$SIPROF" diff --json -c wall "$tmpdir/base.siprof" "$tmpdir/new.siprof" > "$tmpdir/d.json" || fail "diff failed"
json_check "$tmpdir/d.json" '
assert doc["class"] == "wall", doc["class"]
doc = doc["functions"]
top = doc[0]
# burn_three was 3/4 of the samples with the spinner alone, and is 3/4 of
# one thread of eight now: the largest change, a fall.
assert top["function"] == "burn_three", doc[:3]
assert 60 < top["base_self_percent"] < 90, top
assert top["new_self_percent"] < 20, top
assert abs(top["self_change"] - (top["new_self_percent"] - top["base_self_percent"])) < 1e-6, top
grew = [f for f in doc if f["self_change"] > 5]
assert grew and all(f["base_self_percent"] == 0 for f in grew), grew
changes = [abs(f["self_change"]) for f in doc]
assert changes == sorted(changes, reverse=True), changes
'
# The same program at other rates and lengths: shares, not counts, so
# nothing moves by more than sampling noise.
"$SIPROF" diff --json -c wall -n 5 "$tmpdir/same.siprof" "$tmpdir/new.siprof" > "$tmpdir/s.json" || fail "diff failed"
json_check "$tmpdir/s.json" '
assert all(abs(f["self_change"]) < 5 for f in doc["functions"]), doc
'
# The text table: both values and the change, one function a line.
"$SIPROF" diff -c wall -n 3 "$tmpdir/base.siprof" "$tmpdir/new.siprof" > "$tmpdir/d.txt" || fail "diff failed"
grep -qE '^ +[0-9.]+% +[0-9.]+% +-[0-9.]+ +[0-9.]+% +[0-9.]+% +-[0-9.]+  burn_three \[target-classes\]$' "$tmpdir/d.txt" ||
	fail "no burn_three line: $(cat "$tmpdir/d.txt")"
[ "$(grep -c '%  .*\]$' "$tmpdir/d.txt")" = 3 ] || fail "-n 3 does not list 3 functions: $(cat "$tmpdir/d.txt")"
# The cpu class: the spinner's burn_three stays the top function and moves
# by far less than wall's fall to an eighth (the syncer's write and fsync
# are CPU time in the kernel too, a larger part of it on a loaded machine).
"$SIPROF" diff --json -n 5 "$tmpdir/base.siprof" "$tmpdir/new.siprof" > "$tmpdir/c.json" || fail "diff failed"
json_check "$tmpdir/c.json" '
import json
assert doc["class"] == "cpu", doc["class"]
wall = [f for f in json.load(open("'"$tmpdir/d.json"'"))["functions"] if f["function"] == "burn_three"][0]
three = [f for f in doc["functions"] if f["function"] == "burn_three"][0]
top = max(doc["functions"], key=lambda f: f["new_self_percent"])
assert top["function"] == "burn_three", (top, three)
assert abs(three["self_change"]) < abs(wall["self_change"]) / 2, (three, wall)
'

# The differential flame graph: burn_three blue (shrank), the sleeper red (grew).
"$SIPROF" diff -c wall --svg "$tmpdir/d.svg" "$tmpdir/base.siprof" "$tmpdir/new.siprof" > /dev/null || fail "diff --svg failed"
[ "$(stat -c %a "$tmpdir/d.svg")" = 600 ] || fail "the SVG is not mode 0600"
python3 - "$tmpdir/d.svg" <<'PY' || fail "the differential flame graph is wrong"
import re, sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
fill = {}
for g in doc.getElementsByTagName("g"):
    if g.getAttribute("class") == "f":
        r = g.getElementsByTagName("rect")[0]
        fill.setdefault(g.getAttribute("data-n"), []).append(r.getAttribute("fill"))
def rgb(s):
    return tuple(int(x) for x in re.match(r"rgb\((\d+),(\d+),(\d+)\)", s).groups())
r, g, b = rgb(fill["burn_three"][0])
assert b == 255 and r < 120, fill["burn_three"]
r, g, b = rgb(fill["sleeper_main"][0])
assert r == 255 and b < 255, fill["sleeper_main"]
PY

"$SIPROF" diff "$tmpdir/base.siprof" 2> "$tmpdir/err"; [ $? = 2 ] || fail "one file: not a usage error"
"$SIPROF" diff "$tmpdir/base.siprof" "$tmpdir/missing.siprof" 2> "$tmpdir/err"; [ $? = 7 ] || fail "missing file: not exit 7"
grep -q "missing.siprof" "$tmpdir/err" || fail "missing file: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
