#!/bin/bash
# siprof export, read back by the tools people use: go tool pprof reads
# every class, its functions and counts agree with siprof report; without
# -c one pprof file holds every class, each a sample type that
# -sample_index picks, with class and thread labels that -tagfocus picks,
# against SQL's counts, and the program (as /proc says) as its first
# mapping; folded
# lines parse as flame graph tools parse them; speedscope validates against
# the format's schema; the SVG flame graph renders in a browser with the hot
# function's box, and its search finds it. Profile types other than
# thread-samples (alloc, duration, errors, added by SQL) export with their
# values and units, against SQL's sums. A missing go, jsonschema or chromium
# leaves out only the checks that read with it.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_classes
"$SIPROF" record -q -o "$tmpdir/s.siprof" -d 3 -p "$TARGET_PID" || fail "record failed"
S=$tmpdir/s.siprof

classes=$("$SIPROF" report --json "$S" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["classes"]))')
[ -n "$classes" ] || fail "no classes in the recording"
for cls in wall cpu; do
	"$SIPROF" report --json -c "$cls" -n 100000 "$S" > "$tmpdir/$cls.json"
done

# ---- pprof, every class present, and wall ----
GO=$(command -v go || echo /usr/lib/go/bin/go)
[ -x "$GO" ] || { skip_check go "go tool pprof reads the pprof exports; contrib/setup.sh installs golang-go"; GO=; }
export HOME=$tmpdir GOCACHE=$tmpdir/gocache GOFLAGS=-mod=mod GOTOOLCHAIN=local
for cls in wall $classes; do
	"$SIPROF" export -f pprof -c "$cls" -o "$tmpdir/$cls.pb.gz" "$S" || fail "export -f pprof -c $cls failed"
	[ "$(stat -c %a "$tmpdir/$cls.pb.gz")" = 600 ] || fail "the export is not mode 0600"
	[ -n "$GO" ] || continue
	"$GO" tool pprof -raw -symbolize=none "$tmpdir/$cls.pb.gz" > "$tmpdir/$cls.raw" 2> "$tmpdir/$cls.err" ||
		fail "go tool pprof cannot read the $cls profile: $(cat "$tmpdir/$cls.err")"
	"$SIPROF" report --json -c "$cls" -n 100000 "$S" > "$tmpdir/$cls.json"
	python3 - "$tmpdir/$cls.raw" "$tmpdir/$cls.json" "$cls" "$TARGET_PID" <<'EOF' || fail "pprof $cls does not match report"
import json, re, sys
raw = open(sys.argv[1]).read().splitlines()
report = json.load(open(sys.argv[2]))
cls = sys.argv[3]
assert raw[0] == f"PeriodType: {cls} nanoseconds", raw[0]
period = int(raw[1].split()[1])
assert abs(period - 1e9 / 99) < 2, raw[1]
section, samples, locs, cur = None, [], {}, None
for line in raw:
    if line in ("Samples:", "Locations", "Mappings"):
        section = line
        continue
    if section == "Samples:":
        m = re.match(r"^\s+(\d+)\s+(\d+): ([\d ]+)$", line)
        if m:
            samples.append([int(m.group(1)), int(m.group(2)), [int(x) for x in m.group(3).split()], ""])
        elif "thread_id:[" in line:
            samples[-1][3] = line.strip()
        elif line.strip() and not line.startswith("samples/count"):
            raise AssertionError("unexpected sample line: " + line)
    elif section == "Locations":
        m = re.match(r"^\s+(\d+): 0x[0-9a-f]+ M=(\d+) (.+) (\S*):(\d+) s=\d+$", line)
        if m:
            cur = int(m.group(1))
            locs[cur] = [m.group(3)]
        else:
            m = re.match(r"^\s+(.+) (\S*):(\d+) s=\d+$", line)
            assert m and cur, "unexpected location line: " + line
            locs[cur].append(m.group(1))
# Every sample: count x period, class and thread labels, known locations.
self_by_fn = {}
for count, ns, ids, labels in samples:
    assert ns == count * period, (count, ns)
    want = r"\w+" if cls == "wall" else cls
    assert re.search(r"class:\[%s\] pid:\[%s\] thread:\[.+\] thread_id:\[\d+\]" % (want, sys.argv[4]), labels), labels
    assert all(i in locs for i in ids), ids
    leaf = locs[ids[0]][0]
    self_by_fn[leaf] = self_by_fn.get(leaf, 0) + count
total = sum(s[0] for s in samples)
assert total == sum(report["classes"].values()) if cls == "wall" else report["classes"][cls], total
want = {}
for f in report["functions"]:
    if f["self"]:
        want[f["function"] or "[unknown]"] = want.get(f["function"] or "[unknown]", 0) + f["self"]
assert self_by_fn == want, (self_by_fn, want)
EOF
done
# -top agrees on the hottest CPU function; mappings carry the binary and its build-id.
if [ -n "$GO" ]; then
"$GO" tool pprof -top -symbolize=none "$tmpdir/cpu.pb.gz" > "$tmpdir/top" 2>&1 || fail "pprof -top failed: $(cat "$tmpdir/top")"
top=$("$SIPROF" report --json -c cpu "$S" | python3 -c 'import json,sys; print(json.load(sys.stdin)["functions"][0]["function"])')
awk '/flat%/ {getline; print $NF; exit}' "$tmpdir/top" | grep -qx "$top" ||
	fail "pprof -top does not put $top first: $(cat "$tmpdir/top")"
build_id=$("$SIPROF" report --json "$S" | python3 -c 'import json,sys; print(json.load(sys.stdin)["context"]["build_id"])')
grep -q "target-classes $build_id" "$tmpdir/wall.raw" || grep -q "target-classes \[$build_id\]" "$tmpdir/wall.raw" ||
	fail "no mapping with the binary's build-id: $(sed -n '/^Mappings/,$p' "$tmpdir/wall.raw")"
fi
"$SIPROF" export -f pprof -c wall -o - "$S" | cat > "$tmpdir/piped.pb.gz" || fail "export to a pipe failed"
cmp -s "$tmpdir/piped.pb.gz" "$tmpdir/wall.pb.gz" || fail "export to a pipe differs from the file"

# ---- pprof without -c: every class in one file ----
"$SIPROF" export -f pprof -o "$tmpdir/all.pb.gz" "$S" || fail "export -f pprof (no class) failed"
if [ -n "$GO" ]; then
exe=$(readlink "/proc/$TARGET_PID/exe")
"$GO" tool pprof -raw -symbolize=none "$tmpdir/all.pb.gz" > "$tmpdir/all.raw" 2> "$tmpdir/all.err" ||
	fail "go tool pprof cannot read the every-class profile: $(cat "$tmpdir/all.err")"
# The program is the first mapping: go tool pprof names it as the file.
"$GO" tool pprof -top -symbolize=none "$tmpdir/all.pb.gz" > "$tmpdir/all.top" 2>&1 ||
	fail "pprof -top of the every-class profile failed: $(cat "$tmpdir/all.top")"
grep -qx "File: $(basename "$exe")" "$tmpdir/all.top" || fail "pprof does not name $exe the file: $(head -3 "$tmpdir/all.top")"
grep -qx "Type: cpu" "$tmpdir/all.top" || fail "cpu is not the default sample type: $(head -3 "$tmpdir/all.top")"
sed -n '/^Mappings/{n;p;q}' "$tmpdir/all.raw" | grep -q "^ *1: .* $exe " ||
	fail "mapping 1 is not $exe: $(sed -n '/^Mappings/,$p' "$tmpdir/all.raw")"
# Each class's column, as -sample_index picks it, and each class and
# thread as -tagfocus picks it, against SQL's counts.
total_ns() { # total_ns ARGS...: what go tool pprof -top shows in all, in ns
	"$GO" tool pprof -top -nodecount=1000000 -nodefraction=0 -symbolize=none -unit=ns "$@" "$tmpdir/all.pb.gz" 2> /dev/null |
		sed -n 's/^Showing nodes accounting for \([0-9]*\)ns.*/\1/p'
}
for cls in $classes wall; do
	tag="^$cls\$"
	[ "$cls" = wall ] && tag=.
	echo "$cls $(total_ns -sample_index="$cls") $(total_ns -sample_index=wall -tagfocus=class="$tag")"
done > "$tmpdir/by-index"
echo "spinner $(total_ns -sample_index=cpu -tagfocus=thread='^spinner$')" > "$tmpdir/by-thread"
python3 - "$S" "$tmpdir/all.raw" "$tmpdir/by-index" "$tmpdir/by-thread" <<'EOF' || fail "the every-class pprof disagrees with SQL"
import re, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
raw = open(sys.argv[2]).read().splitlines()
period = int(raw[1].split()[1])
by_class = dict(c.execute("SELECT c.name, sum(s.count) FROM samples s JOIN classes c ON c.id = s.class"
                          " WHERE s.type = 0 GROUP BY c.name"))
types = raw[raw.index("Samples:") + 1].split()
present = [k for k, in c.execute("SELECT c.name FROM classes c WHERE c.id IN"
                                 " (SELECT class FROM samples WHERE type = 0) ORDER BY c.id")]
want = ["samples/count"] + ["%s/nanoseconds%s" % (k, "[dflt]" if k == "cpu" else "") for k in present] + ["wall/nanoseconds"]
assert types == want, (types, want)
for line in open(sys.argv[3]):
    cls, by_index, by_tag = line.split()
    n = sum(by_class.values()) if cls == "wall" else by_class[cls]
    assert int(by_index) == n * period, ("-sample_index", cls, by_index, n * period)
    assert int(by_tag) == n * period, ("-tagfocus=class", cls, by_tag, n * period)
name, got = open(sys.argv[4]).read().split()
n, = c.execute("SELECT sum(s.count) FROM samples s JOIN threads t ON t.tid = s.tid"
               " JOIN strings n ON n.id = t.name WHERE s.type = 0 AND s.class = 0 AND n.value = ?",
               (name,)).fetchone()
assert n and int(got) == n * period, ("-tagfocus=thread", got, n * period)
EOF
fi

# ---- folded ----
"$SIPROF" export -f folded -c wall -o "$tmpdir/f.folded" "$S" || fail "export -f folded failed"
"$SIPROF" export -f folded --by-thread --by-class "$S" > "$tmpdir/ft.folded" || fail "export --by-thread --by-class failed"
"$SIPROF" report --threads --json "$S" > "$tmpdir/threads.json"
python3 - "$tmpdir/f.folded" "$tmpdir/ft.folded" "$tmpdir/wall.json" "$tmpdir/threads.json" <<'EOF' || fail "folded output is wrong"
import json, re, sys
def parse(path):
    rows = []
    for line in open(path):
        # As flamegraph.pl reads it: the count after the last space.
        m = re.match(r"^(.+) (\d+)$", line.rstrip("\n"))
        assert m, "unparsable line: %r" % line
        frames = m.group(1).split(";")
        assert all(frames), "empty frame: %r" % line
        rows.append((frames, int(m.group(2))))
    return rows
plain, prefixed = parse(sys.argv[1]), parse(sys.argv[2])
report = json.load(open(sys.argv[3]))
threads = json.load(open(sys.argv[4]))
total = sum(report["classes"].values())
assert sum(c for _, c in plain) == total, (sum(c for _, c in plain), total)
assert sum(c for _, c in prefixed) == total
self_by_fn = {}
for frames, c in plain:
    self_by_fn[frames[-1]] = self_by_fn.get(frames[-1], 0) + c
for f in report["functions"][:5]:
    assert self_by_fn.get(f["function"]) == f["self"], (f, self_by_fn.get(f["function"]))
names = {"%s (%d)" % (t["name"], t["tid"]) for t in threads}
classes = set(report["classes"])
for frames, c in prefixed:
    assert frames[0] in names, frames[0]
    assert frames[1] in classes, frames[1]
spin = [c for frames, c in prefixed if frames[0].startswith("spinner (") and frames[1] == "cpu"]
assert sum(spin) > 0, "no cpu samples under the spinner thread"
EOF

# ---- speedscope ----
"$SIPROF" export -f speedscope -c wall -o "$tmpdir/s.speedscope.json" "$S" || fail "export -f speedscope failed"
python3 - "$tmpdir/s.speedscope.json" "$top_srcdir/tests/data/speedscope-schema.json" "$tmpdir/threads.json" <<'EOF' || fail "speedscope output is wrong"
import json, sys
doc = json.load(open(sys.argv[1]))
try:
    import jsonschema
    jsonschema.validate(doc, json.load(open(sys.argv[2])))
except ImportError:
    print("skipped: jsonschema not installed (the schema check; contrib/setup.sh installs python3-jsonschema)", file=sys.stderr)
threads = json.load(open(sys.argv[3]))
assert len(doc["profiles"]) == len(threads), (len(doc["profiles"]), len(threads))
period = 1e9 / 99
by_name = {p["name"]: p for p in doc["profiles"]}
for t in threads:
    p = by_name["%s (%d), wall" % (t["name"], t["tid"])]
    assert len(p["samples"]) == len(p["weights"])
    assert round(sum(p["weights"]) / period) == t["samples"], (t, sum(p["weights"]))
    assert p["endValue"] == sum(p["weights"])
frames = doc["shared"]["frames"]
assert any(f["name"] == "burn_three" and f.get("file", "").endswith("classes.c") for f in frames)
EOF

# ---- SVG flame graph, in a browser ----
"$SIPROF" export -f svg -c cpu -o "$tmpdir/f.svg" "$S" || fail "export -f svg failed"
"$SIPROF" export -f svg --icicle --by-thread --title 'load test' -o "$tmpdir/i.svg" "$S" || fail "export --icicle failed"
grep -q '<text id="title"[^>]*>load test</text>' "$tmpdir/i.svg" || fail "no title in the SVG"
grep -q 'http' "$tmpdir/f.svg" && ! grep -q 'xmlns="http://www.w3.org/2000/svg"' "$tmpdir/f.svg" && fail "the SVG refers to the network"
python3 -c "import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])" "$tmpdir/f.svg" || fail "the SVG is not well-formed XML"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip_check chromium "the flame graph's script in a browser; contrib/setup.sh installs it"
browse() { # browse URL: the DOM after the page's script ran
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--user-data-dir="$tmpdir/chromium" --virtual-time-budget=2000 --dump-dom "$1" 2> /dev/null
}
if [ -n "$CHROMIUM" ]; then
browse "file://$tmpdir/f.svg#search=^burn_" > "$tmpdir/dom" || fail "chromium could not open the SVG"
python3 - "$tmpdir/dom" "$tmpdir/cpu.json" <<'EOF' || fail "the flame graph is wrong in the browser"
import json, re, sys
dom = open(sys.argv[1]).read()
report = json.load(open(sys.argv[2]))
hot = report["functions"][0]
boxes = re.findall(r'<g class="f( match)?" data-n="([^"]*)" data-v="(\d+)"', dom)
assert boxes, "no frames rendered"
hot_boxes = [b for b in boxes if b[1] == hot["function"]]
assert hot_boxes, "no box for " + hot["function"]
assert sum(int(b[2]) for b in hot_boxes) >= hot["self"], (hot_boxes, hot)
# The search ran: the burn_ functions are highlighted, others not, and the
# matched share is the two functions' share of CPU samples.
matched = {b[1] for b in boxes if b[0]}
assert matched == {"burn_three", "burn_one"}, matched
m = re.search(r'data-matched="([\d.]+)"', dom)
assert m, "no matched share"
want = sum(f["total_percent"] for f in report["functions"] if f["function"] in ("burn_three", "burn_one"))
assert abs(float(m.group(1)) - want) < 1.0, (m.group(1), want)
EOF
# Zooming into a frame hides what is not under it.
browse "file://$tmpdir/f.svg#zoom=^burn_one$" > "$tmpdir/zoom" || fail "chromium could not open the SVG"
python3 - "$tmpdir/zoom" <<'EOF' || fail "zoom does not work"
import re, sys
dom = open(sys.argv[1]).read()
shown = re.findall(r'<g class="f[^"]*" data-n="([^"]*)"[^>]*?(style="display: none;")?>', dom)
hidden = {n for n, s in shown if s}
visible = {n for n, s in shown if not s}
assert "burn_three" in hidden, (hidden, visible)
assert "burn_one" in visible, visible
EOF
fi

# ---- other profile types: alloc (1), duration (3), errors (4), by SQL ----
cp "$S" "$tmpdir/typed.siprof"
python3 - "$tmpdir/typed.siprof" <<'EOF' || fail "cannot add typed samples"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for t, value, mx in ((1, "count * 64 * (stack % 7 + 1)", "0"), (3, "count * 1000 + stack", "1000 + stack"),
                     (4, "count", "0")):
    c.execute("INSERT INTO samples SELECT bucket, tid, stack, 0, 0, count, %d, %s, %s"
              " FROM samples WHERE type = 0" % (t, value, mx))
c.commit()
EOF
for t in alloc:1 duration:3 errors:4; do
	ty=${t%:*} id=${t#*:}
	"$SIPROF" export -f folded --type="$ty" -o "$tmpdir/$ty.folded" "$tmpdir/typed.siprof" || fail "export -f folded --type=$ty failed"
	"$SIPROF" export -f speedscope --type="$ty" -o "$tmpdir/$ty.ss.json" "$tmpdir/typed.siprof" || fail "export -f speedscope --type=$ty failed"
	"$SIPROF" export -f svg --type="$ty" -o "$tmpdir/$ty.svg" "$tmpdir/typed.siprof" || fail "export -f svg --type=$ty failed"
	raw=
	if [ -n "$GO" ]; then
		"$SIPROF" export -f pprof --type="$ty" -o "$tmpdir/$ty.pb.gz" "$tmpdir/typed.siprof" || fail "export -f pprof --type=$ty failed"
		"$GO" tool pprof -raw -symbolize=none "$tmpdir/$ty.pb.gz" > "$tmpdir/$ty.raw" 2> "$tmpdir/$ty.err" ||
			fail "go tool pprof cannot read the $ty profile: $(cat "$tmpdir/$ty.err")"
		raw=$tmpdir/$ty.raw
	fi
	python3 - "$tmpdir/typed.siprof" "$id" "$tmpdir/$ty" "$raw" <<'EOF' || fail "the $ty exports disagree with SQL"
import json, re, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
t, base, raw = int(sys.argv[2]), sys.argv[3], sys.argv[4]
name, unit, count_unit = c.execute("SELECT name, unit, count_unit FROM types WHERE id = ?", (t,)).fetchone()
value, count = c.execute("SELECT sum(value), sum(count) FROM samples WHERE type = ?", (t,)).fetchone()
leaf = {}
for fn, v in c.execute("SELECT f.function, sum(s.value) FROM samples s JOIN stacks st ON st.id = s.stack"
                       " JOIN frame_names f ON f.id = st.frame WHERE s.type = ? GROUP BY f.function", (t,)):
    leaf[fn or "[unknown]"] = v
# folded: the values by leaf function
got = {}
for line in open(base + ".folded"):
    m = re.match(r"^(.+) (\d+)$", line.rstrip("\n"))
    assert m, line
    fn = m.group(1).split(";")[-1]
    got[fn] = got.get(fn, 0) + int(m.group(2))
assert got == leaf, (got, leaf)
# speedscope: weights in the unit, summing to the type's value
doc = json.load(open(base + ".ss.json"))
want_unit = unit if unit in ("bytes", "nanoseconds") else "none"
assert all(p["unit"] == want_unit for p in doc["profiles"]), [p["unit"] for p in doc["profiles"]]
assert sum(sum(p["weights"]) for p in doc["profiles"]) == value
# svg: the root frame is the whole value, its unit said
svg = open(base + ".svg").read()
assert re.search(r'<g class="f" data-n="all" data-v="%d"' % value, svg), "root frame is not %d" % value
assert 'data-unit="%s"' % unit in svg
# pprof, as go tool pprof reads it: sample types, and each column's sum
if raw:
    lines = open(raw).read().splitlines()
    types = lines[lines.index("Samples:") + 1].split()
    # alloc: Go's heap profile, alloc_space the default (the session has
    # nothing in use: zeros there); the others their type's, the last the
    # default.
    if name == "alloc":
        want = ["alloc_objects/count", "alloc_space/bytes[dflt]", "inuse_objects/count", "inuse_space/bytes"]
    elif name == "errors":
        want = ["errors/count[dflt]"]
    else:
        want = ["%s_%s/count" % (name, count_unit), "%s/%s[dflt]" % (name, unit)]
    assert types == want, (types, want)
    sums = [0] * len(types)
    section = None
    for line in lines:
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        m = re.match(r"^\s+([\d ]+): [\d ]+$", line)
        if section == "Samples:" and m:
            for i, x in enumerate(m.group(1).split()):
                sums[i] += int(x)
    assert sums == {1: [count, value], 2: [count, value], 4: [count, value, 0, 0]}[len(types)][:len(types)], (sums, count, value)
EOF
done
"$SIPROF" export -f folded --type=alloc -c cpu "$tmpdir/typed.siprof" 2> "$tmpdir/err"; [ $? = 2 ] ||
	fail "--class with --type=alloc: not a usage error"
"$SIPROF" export -f folded --type=nope "$tmpdir/typed.siprof" 2> "$tmpdir/err"; [ $? = 2 ] || fail "bad type: not a usage error"
"$SIPROF" export -f folded -c wall "$tmpdir/typed.siprof" | cmp -s - "$tmpdir/f.folded" || fail "other types changed the thread-samples export"

# ---- mistakes ----
"$SIPROF" export -o "$tmpdir/x" "$S" 2> "$tmpdir/err"; [ $? = 2 ] || fail "no -f: not a usage error"
grep -q -- "-f FORMAT is needed" "$tmpdir/err" || fail "no -f: $(cat "$tmpdir/err")"
"$SIPROF" export -f png "$S" 2> "$tmpdir/err"; [ $? = 2 ] || fail "bad format: not a usage error"
"$SIPROF" export -f folded "$tmpdir/missing.siprof" 2> "$tmpdir/err"; [ $? = 7 ] || fail "missing file: not exit 7"
"$SIPROF" export -f folded -o /nonexistent/dir/x "$S" 2> "$tmpdir/err"; [ $? = 1 ] || fail "unwritable output: not exit 1"
grep -q "cannot create '/nonexistent/dir/x'" "$tmpdir/err" || fail "unwritable output: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
