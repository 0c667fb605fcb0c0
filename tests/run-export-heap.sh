#!/bin/bash
# Memory profiles (alloc and inuse samples, made by SQL on the stacks of a
# real recording, as their producer writes them) in every view and export,
# against SQL's sums: go tool pprof reads one heap profile with Go's sample
# types in Go's order, recognises it (-inuse_space, Type:), and its -top
# totals and flat values for each of the four sample indexes are SQL's;
# folded, speedscope and svg values are bytes, their titles say what they
# count; report --json has each function's bytes and objects and both
# shares, and its text sizes as people read them; diff of two such sessions
# has SQL's shares; an upload is one memory profile, named app.memory, whose
# sample types make Pyroscope file it as memory. A missing go leaves out
# only the checks that read with it.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_chain
"$SIPROF" record -q -o "$tmpdir/s.siprof" -d 2 -p "$TARGET_PID" || fail "record failed"
# Two sessions with memory samples on the recorded stacks: a stack with
# allocations only (the last), one with bytes in use only (the first), the
# others with both; different
# figures in each so that a diff has changes to show.
for k in 1 2; do
	cp "$tmpdir/s.siprof" "$tmpdir/h$k.siprof"
	python3 - "$tmpdir/h$k.siprof" "$k" <<'EOF' || fail "cannot add memory samples"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
k = int(sys.argv[2])
c.execute("INSERT INTO samples SELECT bucket, tid, stack, 0, 0, count * (stack %% 3 + 1), 1,"
          " count * ((stack * %d) %% 5 + 1) * 300007, 0 FROM samples WHERE type = 0"
          " AND stack != (SELECT min(stack) FROM samples WHERE type = 0)" % k)
c.execute("INSERT INTO samples SELECT bucket, tid, stack, 0, 0, count, 2,"
          " count * ((stack + %d) %% 4 + 1) * 70001, 0 FROM samples WHERE type = 0"
          " AND stack != (SELECT max(stack) FROM samples WHERE type = 0)" % k)
c.commit()
n = dict(c.execute("SELECT type, count(*) FROM samples GROUP BY type"))
assert n.get(1) and n.get(2), n
EOF
done
H=$tmpdir/h1.siprof

# SQL's figures: per type, the total value and count, and by leaf function.
python3 - "$H" > "$tmpdir/sql.json" <<'EOF'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
out = {}
for t, name in ((1, "alloc"), (2, "inuse")):
    value, count = c.execute("SELECT sum(value), sum(count) FROM samples WHERE type = ?", (t,)).fetchone()
    leaf = {}
    for fn, v, n in c.execute("SELECT f.function, sum(s.value), sum(s.count) FROM samples s"
                              " JOIN stacks st ON st.id = s.stack JOIN frame_names f ON f.id = st.frame"
                              " WHERE s.type = ? GROUP BY f.function", (t,)):
        fn = fn or "[unknown]"
        leaf.setdefault(fn, [0, 0])
        leaf[fn][0] += v
        leaf[fn][1] += n
    out[name] = {"value": value, "count": count, "leaf": leaf}
json.dump(out, sys.stdout)
EOF

# ---- pprof, as go tool pprof reads it ----
GO=$(command -v go || echo /usr/lib/go/bin/go)
[ -x "$GO" ] || { skip_check go "go tool pprof reads the heap profiles; contrib/setup.sh installs golang-go"; GO=; }
export HOME=$tmpdir GOCACHE=$tmpdir/gocache GOTOOLCHAIN=local
for ty in alloc inuse; do
	"$SIPROF" export -f pprof --type=$ty -o "$tmpdir/$ty.pb.gz" "$H" || fail "export -f pprof --type=$ty failed"
	[ -n "$GO" ] || continue
	"$GO" tool pprof -raw -symbolize=none "$tmpdir/$ty.pb.gz" > "$tmpdir/$ty.raw" 2> "$tmpdir/err" ||
		fail "go tool pprof cannot read the $ty profile: $(cat "$tmpdir/err")"
	"$GO" tool pprof -top -symbolize=none "$tmpdir/$ty.pb.gz" > "$tmpdir/$ty.dflt" 2>&1 ||
		fail "pprof -top of the $ty profile failed: $(cat "$tmpdir/$ty.dflt")"
	for index in alloc_objects alloc_space inuse_objects inuse_space; do
		unit=
		case $index in *_space) unit=-unit=B ;; esac
		"$GO" tool pprof -top -nodecount=100000 -nodefraction=0 -edgefraction=0 -symbolize=none $unit \
			-sample_index=$index "$tmpdir/$ty.pb.gz" > "$tmpdir/$ty.$index" 2>&1 ||
			fail "pprof -sample_index=$index failed: $(cat "$tmpdir/$ty.$index")"
	done
	# go tool pprof's own heap flag, which needs Go's heap sample types.
	"$GO" tool pprof -top -symbolize=none -inuse_space "$tmpdir/$ty.pb.gz" > "$tmpdir/$ty.flag" 2>&1 ||
		fail "pprof -inuse_space does not take the $ty profile: $(cat "$tmpdir/$ty.flag")"
	python3 - "$tmpdir/sql.json" "$tmpdir/$ty" "$ty" <<'EOF' || fail "the $ty heap profile disagrees with SQL"
import json, re, sys
sql = json.load(open(sys.argv[1]))
base, ty = sys.argv[2], sys.argv[3]
raw = open(base + ".raw").read().splitlines()
assert raw[0] == "PeriodType: space bytes", raw[0]
dflt = "inuse_space" if ty == "inuse" else "alloc_space"
types = raw[raw.index("Samples:") + 1].split()
want = [t if t.split("/")[0] != dflt else t + "[dflt]" for t in
        ("alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes")]
assert types == want, (types, want)
# A stack that has one type only: zeros in the other's columns.
rows = [[int(x) for x in m.group(1).split()] for m in
        (re.match(r"^\s+([\d ]+): [\d ]+$", l) for l in raw) if m]
assert any(r[0] and not r[2] for r in rows) and any(r[2] and not r[0] for r in rows), rows
assert "Type: %s" % dflt in open(base + ".dflt").read().splitlines()
assert "Type: inuse_space" in open(base + ".flag").read().splitlines()
for index, (name, col) in {"alloc_objects": ("alloc", "count"), "alloc_space": ("alloc", "value"),
                           "inuse_objects": ("inuse", "count"), "inuse_space": ("inuse", "value")}.items():
    top = open(base + "." + index).read()
    m = re.search(r"^Showing nodes accounting for (\d+)B?, 100% of (\d+)B? total$", top, re.M)
    assert m, top
    assert int(m.group(2)) == sql[name][col], (index, m.group(2), sql[name][col])
    flat = {}
    for l in top.splitlines():
        m = re.match(r"^\s*(\d+)B?\s+[\d.]+%\s+[\d.]+%\s+(\d+)B?\s+[\d.]+%\s+(.+?)( \(inline\))?$", l)
        if m and int(m.group(1)):
            flat[m.group(3)] = flat.get(m.group(3), 0) + int(m.group(1))
    want = {fn: v[0 if col == "value" else 1] for fn, v in sql[name]["leaf"].items()}
    assert flat == want, (index, flat, want)
EOF
done

# ---- folded, speedscope, svg: bytes, against SQL ----
for ty in alloc inuse; do
	"$SIPROF" export -f folded --type=$ty -o "$tmpdir/$ty.folded" "$H" || fail "export -f folded --type=$ty failed"
	"$SIPROF" export -f speedscope --type=$ty -o "$tmpdir/$ty.ss.json" "$H" || fail "export -f speedscope --type=$ty failed"
	"$SIPROF" export -f svg --type=$ty -o "$tmpdir/$ty.svg" "$H" || fail "export -f svg --type=$ty failed"
	python3 - "$tmpdir/sql.json" "$tmpdir/$ty" "$ty" "$top_srcdir/tests/data/speedscope-schema.json" <<'EOF' || fail "the $ty exports disagree with SQL"
import json, re, sys, xml.dom.minidom
sql = json.load(open(sys.argv[1]))
base, ty = sys.argv[2], sys.argv[3]
s = sql[ty]
desc = {"alloc": "bytes allocated", "inuse": "bytes in use"}[ty]
def size(b):
    # Sizes as people read them: binary units, one decimal above bytes.
    units, u = ["B", "KiB", "MiB", "GiB", "TiB"], 0
    while b >= 1024 and u + 1 < len(units):
        b /= 1024
        u += 1
    return ("%.0f %s" if u == 0 else "%.1f %s") % (b, units[u])
got = {}
for line in open(base + ".folded"):
    m = re.match(r"^(.+) (\d+)$", line.rstrip("\n"))
    assert m, line
    fn = m.group(1).split(";")[-1]
    got[fn] = got.get(fn, 0) + int(m.group(2))
assert got == {fn: v[0] for fn, v in s["leaf"].items()}, got
doc = json.load(open(base + ".ss.json"))
try:
    import jsonschema
    jsonschema.validate(doc, json.load(open(sys.argv[4])))
except ImportError:
    pass
assert all(p["unit"] == "bytes" for p in doc["profiles"])
assert sum(sum(p["weights"]) for p in doc["profiles"]) == s["value"]
assert doc["name"].endswith("(%s)" % desc), doc["name"]
assert all(p["name"].endswith(", " + desc) for p in doc["profiles"]), [p["name"] for p in doc["profiles"]]
svg = open(base + ".svg").read()
xml.dom.minidom.parseString(svg)
assert 'data-unit="bytes"' in svg and 'data-count-unit="objects"' in svg
m = re.search(r'<g class="f" data-n="all" data-v="(\d+)"[^>]* data-o="(\d+)"><title>all \(([^)]*)\)</title>', svg)
assert m, "no root frame"
assert int(m.group(1)) == s["value"] and int(m.group(2)) == s["count"], m.groups()
assert m.group(3) == "%s in %d objects, 100.00%%" % (size(s["value"]), s["count"]), m.group(3)
t = re.search(r'<text id="title"[^>]*>([^<]*)</text>', svg).group(1)
assert t.endswith(": " + desc), t
sub = re.search(r'<text id="sub"[^>]*>([^<]*)</text>', svg).group(1)
assert sub.startswith("%s, %s in %d objects" % (desc, size(s["value"]), s["count"])), sub
EOF
done

# ---- report: bytes and objects, both shares ----
for ty in alloc inuse; do
	"$SIPROF" report --type=$ty --json -n 1000 "$H" > "$tmpdir/$ty.report.json" || fail "report --type=$ty --json failed"
	"$SIPROF" report --type=$ty -n 1000 "$H" > "$tmpdir/$ty.report" || fail "report --type=$ty failed"
	python3 - "$tmpdir/sql.json" "$tmpdir/$ty.report" "$ty" <<'EOF' || fail "report --type=$ty disagrees with SQL"
import json, re, sys
sql = json.load(open(sys.argv[1]))
base, ty = sys.argv[2], sys.argv[3]
s = sql[ty]
doc = json.load(open(base + ".json"))
desc = {"alloc": "bytes allocated", "inuse": "bytes in use"}[ty]
def size(b):
    units, u = ["B", "KiB", "MiB", "GiB", "TiB"], 0
    while b >= 1024 and u + 1 < len(units):
        b /= 1024
        u += 1
    return ("%.0f %s" if u == 0 else "%.1f %s") % (b, units[u])
assert doc["type"] == ty and doc["unit"] == "bytes", (doc["type"], doc["unit"])
got = {}
for f in doc["functions"]:
    if f["self"] or f["self_count"]:
        g = got.setdefault(f["function"] or "[unknown]", [0, 0, 0.0, 0.0])
        g[0] += f["self"]
        g[1] += f["self_count"]
        g[2] += f["self_percent"]
        g[3] += f["self_count_percent"]
assert set(got) == set(s["leaf"]), (set(got), set(s["leaf"]))
for fn, (v, n) in s["leaf"].items():
    g = got[fn]
    assert g[0] == v and g[1] == n, (fn, g, v, n)
    assert abs(g[2] - 100.0 * v / s["value"]) < 1e-6, (fn, g, v)
    assert abs(g[3] - 100.0 * n / s["count"]) < 1e-6, (fn, g, n)
text = open(base).read()
head = "top functions by self: %s, %s in %d objects" % (desc, size(s["value"]), s["count"])
assert head in text, (head, text)
assert re.search(r"self%\s+total%\s+self\s+total\s+objects\s+objs%", text), text
# The hottest function's line: its sizes, objects and both shares.
top = max(s["leaf"].items(), key=lambda kv: kv[1][0])
fn, (v, n) = top
lines = [l for l in text.splitlines() if re.search(r"\s%s \(" % re.escape(fn), l)]
assert lines, fn
want = r"^\s*%.1f%%\s+[\d.]+%%\s+%s\s+[\d.]+ [KMG]?i?B\s+%d\s+%.1f%%\s" % (
    100.0 * v / s["value"], re.escape(size(v)), n, 100.0 * n / s["count"])
assert re.search(want, lines[0]), (want, lines[0])
EOF
done

# The call tree's text: every root's bytes as a size, which add up to the
# whole (a root is an outermost frame: SQL's stacks with no parent).
"$SIPROF" report --tree --type=inuse --min-percent=0 "$H" > "$tmpdir/tree" || fail "report --tree --type=inuse failed"
python3 - "$H" "$tmpdir/tree" <<'EOF2' || fail "report --tree --type=inuse disagrees with SQL: $(head -5 "$tmpdir/tree")"
import re, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
def size(b):
    units, u = ["B", "KiB", "MiB", "GiB", "TiB"], 0
    while b >= 1024 and u + 1 < len(units):
        b /= 1024
        u += 1
    return ("%.0f %s" if u == 0 else "%.1f %s") % (b, units[u])
# Each sample's outermost frame, up the parents of its stack.
parent = dict(c.execute("SELECT id, parent FROM stacks"))
frame = dict(c.execute("SELECT st.id, f.function FROM stacks st JOIN frame_names f ON f.id = st.frame"))
roots = {}
for stack, v in c.execute("SELECT stack, sum(value) FROM samples WHERE type = 2 GROUP BY stack"):
    while parent.get(stack):
        stack = parent[stack]
    roots[frame[stack]] = roots.get(frame[stack], 0) + v
lines = open(sys.argv[2]).read().splitlines()
assert re.match(r"^ total%\s+self%\s+total\s+function", lines[1]), lines[1]
got = {}
for l in lines[2:]:
    m = re.match(r"^\s*[\d.]+%\s+[\d.]+%\s+([\d.]+ [KMGT]?i?B)  (\S+)", l)
    if m:
        got[m.group(2)] = m.group(1)
assert got == {fn: size(v) for fn, v in roots.items()}, (got, roots)
EOF2

# ---- diff of two such sessions ----
for ty in alloc inuse; do
	"$SIPROF" diff --type=$ty --json -n 1000 "$tmpdir/h1.siprof" "$tmpdir/h2.siprof" > "$tmpdir/$ty.diff.json" ||
		fail "diff --type=$ty --json failed"
	"$SIPROF" diff --type=$ty "$tmpdir/h1.siprof" "$tmpdir/h2.siprof" > "$tmpdir/$ty.diff" || fail "diff --type=$ty failed"
	python3 - "$tmpdir/h1.siprof" "$tmpdir/h2.siprof" "$tmpdir/$ty.diff" "$ty" <<'EOF' || fail "diff --type=$ty disagrees with SQL"
import json, sqlite3, sys
t = {"alloc": 1, "inuse": 2}[sys.argv[4]]
def shares(path):
    c = sqlite3.connect(path)
    total, count = c.execute("SELECT sum(value), sum(count) FROM samples WHERE type = ?", (t,)).fetchone()
    leaf = {}
    for fn, v in c.execute("SELECT f.function, sum(s.value) FROM samples s JOIN stacks st ON st.id = s.stack"
                           " JOIN frame_names f ON f.id = st.frame WHERE s.type = ? GROUP BY f.function", (t,)):
        leaf[fn] = leaf.get(fn, 0) + 100.0 * v / total
    return total, count, leaf
bt, bc, base = shares(sys.argv[1])
nt, nc, new = shares(sys.argv[2])
doc = json.load(open(sys.argv[3] + ".json"))
assert doc["type"] == sys.argv[4] and doc["unit"] == "bytes", doc
assert doc["base"]["total"] == bt and doc["base"]["count"] == bc, doc["base"]
assert doc["new"]["total"] == nt and doc["new"]["count"] == nc, doc["new"]
got = {}
for f in doc["functions"]:
    g = got.setdefault(f["function"], [0.0, 0.0])
    g[0] += f["base_self_percent"]
    g[1] += f["new_self_percent"]
for fn in set(base) | set(new):
    assert abs(got[fn][0] - base.get(fn, 0)) < 1e-6 and abs(got[fn][1] - new.get(fn, 0)) < 1e-6, (fn, got[fn], base.get(fn), new.get(fn))
desc = {1: "bytes allocated", 2: "bytes in use"}[t]
assert open(sys.argv[3]).read().startswith(desc + ": "), open(sys.argv[3]).read()[:200]
EOF
done

# ---- upload: one memory profile, as Pyroscope files it ----
start_receiver
export SIPROF_SPOOL_DIR=$tmpdir/spool
"$SIPROF" upload --url "$URL" --app shop "$H" > "$tmpdir/out" 2>&1 || fail "upload failed: $(cat "$tmpdir/out")"
python3 - "$srv/log" <<'EOF' > "$tmpdir/memory-n" || fail "no memory profile went up: $(cat "$tmpdir/out")"
import json, re, sys
log = [json.loads(l) for l in open(sys.argv[1])]
names = [r["query"]["name"][0] for r in log]
mem = [r for r in log if r["query"]["name"][0].startswith("shop.memory{")]
assert len(mem) == 1, names
assert not any(n.startswith(("shop.alloc{", "shop.inuse{")) for n in names), names
q = {k: v[0] for k, v in mem[0]["query"].items()}
assert q["format"] == "pprof" and q["spyName"] == "siprof", q
assert re.match(r"^shop\.memory\{host=[^,}]+\}$", q["name"]), q["name"]
print(mem[0]["n"])
EOF
if [ -n "$GO" ]; then
	"$GO" tool pprof -raw -symbolize=none "$srv/body-$(cat "$tmpdir/memory-n")" > "$tmpdir/up.raw" 2>&1 ||
		fail "go tool pprof cannot read the uploaded memory profile: $(cat "$tmpdir/up.raw")"
	python3 - "$tmpdir/up.raw" "$tmpdir/sql.json" <<'EOF' || fail "the uploaded memory profile is wrong: $(sed -n 1,6p "$tmpdir/up.raw")"
import json, re, sys
raw = open(sys.argv[1]).read().splitlines()
sql = json.load(open(sys.argv[2]))
assert "PeriodType: space bytes" in raw, raw[:3]
types = [t.replace("[dflt]", "") for t in raw[raw.index("Samples:") + 1].split()]
assert types == ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"], types
# In use is the default, as in Go's heap profiles.
assert "inuse_space/bytes[dflt]" in raw[raw.index("Samples:") + 1], raw[raw.index("Samples:") + 1]
# Pyroscope's rule for a pprof sent to /ingest (pkg/og/convert/pprof,
# metricName): the first sample type with alloc_ or inuse_ in its name,
# cpu before it, makes the profile "memory"; its units are the types'.
def metric(names):
    for st in names:
        if st == "wall":
            return "wall"
    for st in names:
        st = {"samples": "cpu"}.get(st, st)
        if "cpu" in st:
            return "process_cpu"
        if "alloc_" in st or "inuse_" in st or st in ("space", "objects"):
            return "memory"
assert metric([t.split("/")[0] for t in types]) == "memory"
sums = [0, 0, 0, 0]
for l in raw:
    m = re.match(r"^\s+([\d ]+): [\d ]+$", l)
    if m:
        for i, x in enumerate(m.group(1).split()):
            sums[i] += int(x)
want = [sql["alloc"]["count"], sql["alloc"]["value"], sql["inuse"]["count"], sql["inuse"]["value"]]
assert sums == want, (sums, want)
EOF
fi
assert_running "$TARGET_PID"
