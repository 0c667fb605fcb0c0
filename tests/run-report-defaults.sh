#!/bin/bash
# One default class, said everywhere: report, diff and export show the cpu
# class unless -c says another, as the live view does; every text header
# gives each class's share and the JSON the same shares, all against SQL's
# counts in the session file. Class names are read in any case, and
# `report --thread FILE` never reads the session file as a thread's name.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_classes
# base: the spinner thread alone; new: every thread (most of them wait).
"$SIPROF" record -q -o "$tmpdir/base.siprof" -d 2 --threads spinner -p "$TARGET_PID" || fail "record failed"
"$SIPROF" record -q -o "$tmpdir/new.siprof" -d 2 -p "$TARGET_PID" || fail "record failed"
S=$tmpdir/new.siprof

# SQL's view of a session: per class, and per leaf function in the cpu class.
sql_facts() { # sql_facts SESSION OUT.json
	python3 - "$1" "$2" <<'EOF' || fail "cannot read $1 with SQL"
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
by_class = dict(c.execute("SELECT c.name, sum(s.count) FROM samples s JOIN classes c ON c.id = s.class"
                          " WHERE s.type = 0 GROUP BY c.name"))
leaf = {}
for fn, mod, n in c.execute("SELECT f.function, f.module, sum(s.count) FROM samples s"
                            " JOIN stacks st ON st.id = s.stack JOIN frame_names f ON f.id = st.frame"
                            " WHERE s.type = 0 AND s.class = 0 GROUP BY f.function, f.module"):
    leaf["%s [%s]" % (fn, mod.rsplit("/", 1)[-1] if mod else "")] = n
spinner = {}
for fn, n in c.execute("SELECT f.function, sum(s.count) FROM samples s"
                       " JOIN stacks st ON st.id = s.stack JOIN frame_names f ON f.id = st.frame"
                       " JOIN threads t ON t.tid = s.tid JOIN strings tn ON tn.id = t.name"
                       " WHERE s.type = 0 AND s.class = 0 AND tn.value = 'spinner' GROUP BY f.function"):
    spinner[fn] = n
json.dump({"classes": by_class, "cpu_leaf": leaf, "spinner_leaf": spinner}, open(sys.argv[2], "w"))
EOF
}
sql_facts "$tmpdir/base.siprof" "$tmpdir/base.sql"
sql_facts "$S" "$tmpdir/new.sql"

# ---- report ----
"$SIPROF" report "$S" > "$tmpdir/report" || fail "report failed"
"$SIPROF" report --json -n 100000 "$S" > "$tmpdir/report.json" || fail "report --json failed"
"$SIPROF" report --tree "$S" > "$tmpdir/tree" || fail "report --tree failed"
"$SIPROF" report --tree --json "$S" > "$tmpdir/tree.json" || fail "report --tree --json failed"
python3 - "$tmpdir/new.sql" "$tmpdir/report" "$tmpdir/report.json" "$tmpdir/tree" "$tmpdir/tree.json" <<'EOF' || fail "report's default is not the cpu class"
import json, re, sys
sql = json.load(open(sys.argv[1]))
text, doc = open(sys.argv[2]).read(), json.load(open(sys.argv[3]))
tree, tdoc = open(sys.argv[4]).read(), json.load(open(sys.argv[5]))
total = sum(sql["classes"].values())
cpu = sql["classes"]["cpu"]
# The functions are the cpu class's, as SQL adds up the leaves.
assert doc["class"] == "cpu", doc["class"]
got = {}
for f in doc["functions"]:
    if f["self"]:
        k = "%s [%s]" % (f["function"], (f.get("module") or "").rsplit("/", 1)[-1])
        got[k] = got.get(k, 0) + f["self"]
assert got == sql["cpu_leaf"], (got, sql["cpu_leaf"])
top = max(sql["cpu_leaf"], key=sql["cpu_leaf"].get)
assert top.startswith("burn_three "), top
# Each class's share, in the JSON of both views and in both text headers.
for d in (doc, tdoc):
    assert d["classes"] == sql["classes"], (d["classes"], sql["classes"])
    for k, n in sql["classes"].items():
        assert abs(d["class_percent"][k] - 100.0 * n / total) < 1e-9, (k, d["class_percent"])
assert tdoc["class"] == "cpu" and tdoc["total"] == cpu, (tdoc["class"], tdoc["total"], cpu)
shares = ", ".join("%s %.1f%%" % (k, 100.0 * n / total) for k, n in
                   sorted(sql["classes"].items(), key=lambda kv: ["cpu", "lock", "net", "disk", "ipc", "poll",
                          "sleep", "child", "aio", "syscall", "fault", "stopped", "runq", "wait"].index(kv[0])))
line = "classes   %s  (of %d thread-samples)" % (shares, total)
for name, t in (("report", text), ("--tree", tree)):
    assert line in t.splitlines(), (name, line, [l for l in t.splitlines() if l.startswith("classes")])
note = "cpu, %d thread-samples (%.1f%% of all; -c wall for every class)" % (cpu, 100.0 * cpu / total)
assert re.search(r"^top functions by self: " + re.escape(note) + "$", text, re.M), text
assert tree.startswith("call tree: " + note + ";"), tree.splitlines()[0]
EOF
# Any case: -c CPU and -c Cpu are -c cpu, -c WALL is -c wall.
"$SIPROF" report --json -c cpu "$S" > "$tmpdir/lower.json" || fail "report -c cpu failed"
for c in CPU Cpu; do
	"$SIPROF" report --json -c "$c" "$S" | cmp -s - "$tmpdir/lower.json" || fail "-c $c is not -c cpu"
done
"$SIPROF" report --json -c wall "$S" > "$tmpdir/wall.json" || fail "report -c wall failed"
"$SIPROF" report --json -c WALL "$S" | cmp -s - "$tmpdir/wall.json" || fail "-c WALL is not -c wall"
json_check "$tmpdir/wall.json" 'assert doc["class"] == "wall", doc["class"]'
"$SIPROF" report -c nope "$S" 2> "$tmpdir/err"; [ $? = 2 ] || fail "-c nope: not a usage error"

# `report --thread FILE`: a usage error that names the file and --threads,
# not a report of no thread; with a thread given, the file is the session.
"$SIPROF" report --thread "$S" > "$tmpdir/out" 2> "$tmpdir/err"; rc=$?
[ $rc = 2 ] || fail "report --thread FILE: exit $rc, not a usage error: $(cat "$tmpdir/out" "$tmpdir/err")"
grep -qF "'$S'" "$tmpdir/err" && grep -q -- "--threads" "$tmpdir/err" ||
	fail "report --thread FILE does not say what happened: $(cat "$tmpdir/err")"
[ -s "$tmpdir/out" ] && fail "report --thread FILE printed a report"
"$SIPROF" export -f folded -T "$S" > /dev/null 2> "$tmpdir/err"; [ $? = 2 ] || fail "export -T FILE: not a usage error"
for args in "--thread spinner $S" "--thread=spinner $S" "$S --thread spinner" "-T spinner $S"; do
	# shellcheck disable=SC2086
	"$SIPROF" report --json -n 100000 $args > "$tmpdir/spin.json" || fail "report $args failed"
	python3 - "$tmpdir/new.sql" "$tmpdir/spin.json" <<'EOF' || fail "report $args is not the spinner thread's cpu"
import json, sys
sql, doc = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
got = {}
for f in doc["functions"]:
    if f["self"]:
        got[f["function"]] = got.get(f["function"], 0) + f["self"]
assert got == sql["spinner_leaf"] and "burn_three" in got, (got, sql["spinner_leaf"])
EOF
done

# ---- diff: the cpu class's shares in each session, as SQL gives them ----
"$SIPROF" diff --json -n 100000 "$tmpdir/base.siprof" "$S" > "$tmpdir/diff.json" || fail "diff failed"
"$SIPROF" diff "$tmpdir/base.siprof" "$S" > "$tmpdir/diff.txt" || fail "diff failed"
python3 - "$tmpdir/base.sql" "$tmpdir/new.sql" "$tmpdir/diff.json" "$tmpdir/diff.txt" <<'EOF' || fail "diff's default is not the cpu class"
import json, sys
base, new = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
doc, text = json.load(open(sys.argv[3])), open(sys.argv[4]).read().splitlines()
assert doc["class"] == "cpu", doc["class"]
def share(facts, k):
    return 100.0 * facts["cpu_leaf"].get(k, 0) / sum(facts["cpu_leaf"].values())
rows = {"%s [%s]" % (f["function"], f["module"] or ""): f for f in doc["functions"]}
for k in set(base["cpu_leaf"]) | set(new["cpu_leaf"]):
    f = rows[k]
    assert abs(f["base_self_percent"] - share(base, k)) < 1e-6, (k, f, share(base, k))
    assert abs(f["new_self_percent"] - share(new, k)) < 1e-6, (k, f, share(new, k))
for side, facts in (("base", base), ("new", new)):
    assert doc[side]["classes"] == facts["classes"], (side, doc[side]["classes"], facts["classes"])
    total = sum(facts["classes"].values())
    for k, n in facts["classes"].items():
        assert abs(doc[side]["class_percent"][k] - 100.0 * n / total) < 1e-9, (side, k)
assert text[0].startswith("cpu: "), text[0]
assert text[1].startswith("classes   base cpu ") and text[2].startswith("          new  cpu "), text[:3]
assert "lock" in text[2] and "lock" not in text[1], text[:3]
EOF
"$SIPROF" diff --json -c cpu -n 100000 "$tmpdir/base.siprof" "$S" | cmp -s - "$tmpdir/diff.json" ||
	fail "diff is not diff -c cpu"

# ---- exports: the cpu class, said in their titles ----
"$SIPROF" export -f folded -o "$tmpdir/f.folded" "$S" || fail "export -f folded failed"
folded=$(awk '{n += $NF} END {print n}' "$tmpdir/f.folded")
json_check "$tmpdir/new.sql" "assert doc['classes']['cpu'] == $folded, ($folded, doc['classes'])"
"$SIPROF" export -f svg -o "$tmpdir/f.svg" "$S" || fail "export -f svg failed"
python3 - "$tmpdir/f.svg" "$tmpdir/new.sql" <<'EOF' || fail "the flame graph does not say its class"
import json, re, sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
sql = json.load(open(sys.argv[2]))
text = {t.getAttribute("id"): "".join(n.data for n in t.childNodes) for t in doc.getElementsByTagName("text")}
assert text["title"] == "target-classes: cpu", text["title"]
total = sum(sql["classes"].values())
want = "cpu, %d thread-samples (%.1f%% of all classes), " % (sql["classes"]["cpu"], 100.0 * sql["classes"]["cpu"] / total)
assert text["sub"].startswith(want), (text["sub"], want)
EOF
"$SIPROF" export -f speedscope -o "$tmpdir/s.json" "$S" || fail "export -f speedscope failed"
json_check "$tmpdir/s.json" '
assert doc["name"] == "target-classes (cpu)", doc["name"]
assert doc["profiles"] and all(p["name"].endswith("), cpu") for p in doc["profiles"]), [p["name"] for p in doc["profiles"]]'
assert_running "$TARGET_PID"
