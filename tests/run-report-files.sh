#!/bin/bash
# Bad session files get one clear line and exit code 7; the views and
# filters of report work on a good one; existing files are not replaced.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_classes
"$SIPROF" record -q -o "$tmpdir/good.siprof" -d 3 -p "$TARGET_PID" || fail "record failed"

expect_bad() { # expect_bad PATTERN FILE
	"$SIPROF" report "$2" > "$tmpdir/out" 2> "$tmpdir/err"
	rc=$?
	[ $rc = 7 ] || fail "report $2 exited with $rc, expected 7: $(cat "$tmpdir/err")"
	grep -q -- "$1" "$tmpdir/err" || fail "report $2 said '$(cat "$tmpdir/err")', expected /$1/"
	[ "$(wc -l < "$tmpdir/err")" = 1 ] || fail "more than one line: $(cat "$tmpdir/err")"
}
expect_bad "cannot read $tmpdir/missing.siprof: No such file or directory" "$tmpdir/missing.siprof"
head -c 5000 /dev/urandom > "$tmpdir/random.siprof"
expect_bad "is not a siprof session (not an SQLite database)" "$tmpdir/random.siprof"
: > "$tmpdir/empty.siprof"
expect_bad "is an SQLite database but not a siprof session" "$tmpdir/empty.siprof"
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()" "$tmpdir/other.siprof"
expect_bad "is an SQLite database but not a siprof session" "$tmpdir/other.siprof"
cp "$tmpdir/good.siprof" "$tmpdir/newer.siprof"
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"update meta set value='99' where key='schema_version'\"); c.commit()" "$tmpdir/newer.siprof"
expect_bad "was written by a newer siprof (session schema 99; this siprof reads up to 5): upgrade siprof" "$tmpdir/newer.siprof"
# A version 1 file (before the gaps table) is still read.
cp "$tmpdir/good.siprof" "$tmpdir/v1.siprof"
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('drop table gaps'); c.execute(\"update meta set value='1' where key='schema_version'\"); c.commit()" "$tmpdir/v1.siprof"
"$SIPROF" report "$tmpdir/v1.siprof" > "$tmpdir/v1.txt" 2> "$tmpdir/err" || fail "a version 1 session cannot be read: $(cat "$tmpdir/err")"
grep -q '^session .*(schema 1,' "$tmpdir/v1.txt" || fail "the version 1 session reads wrong: $(cat "$tmpdir/v1.txt")"
size=$(stat -c %s "$tmpdir/good.siprof")
head -c $((size / 2)) "$tmpdir/good.siprof" > "$tmpdir/truncated.siprof"
expect_bad "is damaged or truncated" "$tmpdir/truncated.siprof"
cp "$tmpdir/good.siprof" "$tmpdir/dangling.siprof"
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('update samples set stack = 999999'); c.commit()" "$tmpdir/dangling.siprof"
expect_bad "is damaged: its tables do not refer to each other correctly" "$tmpdir/dangling.siprof"

# An existing file is never replaced without --force.
"$SIPROF" record -q -o "$tmpdir/good.siprof" -d 1 -p "$TARGET_PID" 2> "$tmpdir/err"
[ $? = 1 ] || fail "record over an existing file did not fail with 1"
grep -q "good.siprof exists; choose another name, or use --force to replace it" "$tmpdir/err" ||
	fail "no message for an existing file: $(cat "$tmpdir/err")"
"$SIPROF" report "$tmpdir/good.siprof" > /dev/null || fail "the existing file was harmed"
cp "$tmpdir/good.siprof" "$tmpdir/forced.siprof"
"$SIPROF" record -q --force -o "$tmpdir/forced.siprof" -d 1 -p "$TARGET_PID" || fail "record --force failed"

# The views.
"$SIPROF" report --tree --class cpu "$tmpdir/good.siprof" > "$tmpdir/tree" || fail "--tree failed"
grep -qE '^ *[0-9.]+% +[0-9.]+% +spinner_main \(' "$tmpdir/tree" ||
	grep -qE '^ *[0-9.]+% +[0-9.]+% +  +spinner_main' "$tmpdir/tree" || fail "no spinner_main in the tree: $(cat "$tmpdir/tree")"
awk '/spinner_main/ {d = index($0, "spinner_main")} /burn_three/ {b = index($0, "burn_three")} END {exit !(b > d && d > 0)}' "$tmpdir/tree" ||
	fail "burn_three is not indented under spinner_main"
"$SIPROF" report --folded -c wall "$tmpdir/good.siprof" > "$tmpdir/folded" || fail "--folded failed"
grep -vqE '^[^ ;][^;]*(;[^;]+)* [0-9]+$' "$tmpdir/folded" && fail "a folded line does not parse: $(grep -vE '^[^ ;][^;]*(;[^;]+)* [0-9]+$' "$tmpdir/folded" | head -2)"
grep -qE '^__clone3;start_thread;spinner_main;burn_three [0-9]+$' "$tmpdir/folded" ||
	fail "no folded stack for burn_three: $(head -5 "$tmpdir/folded")"
folded_total=$(awk '{n += $NF} END {print n}' "$tmpdir/folded")
"$SIPROF" report --json "$tmpdir/good.siprof" > "$tmpdir/all.json"
json_check "$tmpdir/all.json" "assert sum(doc['classes'].values()) == $folded_total, doc['classes']"
"$SIPROF" report --metrics "$tmpdir/good.siprof" > "$tmpdir/metrics" || fail "--metrics failed"
grep -qE '^ +[0-9]+ +[0-9.]+ ' "$tmpdir/metrics" || fail "no metrics rows: $(cat "$tmpdir/metrics")"
grep -q '^CPU%  |' "$tmpdir/metrics" || fail "no CPU chart"
"$SIPROF" report --metrics --json "$tmpdir/good.siprof" > "$tmpdir/m.json"
json_check "$tmpdir/m.json" '
assert len(doc) >= 3 and doc[-1]["threads"] >= 8, doc[-1]
# A thread spins the whole time: CPU is well above zero, never above 100%
# of the CPUs the process may use (however loaded the machine is).
assert all(5 <= r["cpu_percent"] <= 105 for r in doc[1:]), [r["cpu_percent"] for r in doc]
assert all(r["rss_anon"] + r["rss_file"] > 0 for r in doc)
'
"$SIPROF" report --json --since 1 --until 2 "$tmpdir/good.siprof" > "$tmpdir/w.json"
json_check "$tmpdir/w.json" "assert 0 < sum(doc['classes'].values()) < $folded_total"
"$SIPROF" report --by-line --class cpu --thread spinner "$tmpdir/good.siprof" | grep -q 'burn_three (classes.c:' ||
	fail "--by-line shows no lines of burn_three"
# The sqlite3 query of siprof-session(5) works.
python3 - "$tmpdir/good.siprof" <<'PY' || fail "the example query of siprof-session(5) failed"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("""SELECT f.function, sum(s.count) AS n
  FROM samples s JOIN stacks st ON st.id = s.stack
  JOIN frame_names f ON f.id = st.frame
  WHERE s.class = 0 GROUP BY f.function ORDER BY n DESC LIMIT 10""").fetchall()
assert "burn_three" in [r[0] for r in rows[:4]], rows
PY
# Other profile types over the same stacks: bytes allocated and call
# durations added by SQL, their figures in report against SQL's sums.
cp "$tmpdir/good.siprof" "$tmpdir/typed.siprof"
python3 - "$tmpdir/typed.siprof" <<'PY' || fail "cannot add typed samples"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO samples SELECT bucket, tid, stack, 0, 0, count, 1,"
          " count * 64 * (stack % 7 + 1), 0 FROM samples WHERE type = 0")
c.execute("INSERT INTO samples SELECT bucket, tid, stack, 0, 0, count, 3,"
          " count * 1000 + stack, 1000 + stack FROM samples WHERE type = 0")
c.commit()
PY
for t in alloc:1 duration:3; do
	"$SIPROF" report --type="${t%:*}" --json -n 1000 "$tmpdir/typed.siprof" > "$tmpdir/typed.json" ||
		fail "report --type=${t%:*} failed"
	python3 - "$tmpdir/typed.siprof" "${t#*:}" "$tmpdir/typed.json" <<'PY' || fail "report --type=${t%:*} disagrees with SQL"
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
t = int(sys.argv[2])
doc = json.load(open(sys.argv[3]))
name, unit = c.execute("SELECT name, unit FROM types WHERE id = ?", (t,)).fetchone()
assert doc["type"] == name and doc["unit"] == unit, (doc["type"], doc["unit"])
value, count = c.execute("SELECT sum(value), sum(count) FROM samples WHERE type = ?", (t,)).fetchone()
assert doc["types"][name] == {"unit": unit, "value": value, "count": count}, doc["types"]
# Self by function and module path, from the leaf frame of each stack.
leaf = {}
for fn, mod, v, n, mx in c.execute(
        "SELECT f.function, f.module, sum(s.value), sum(s.count), max(s.max) FROM samples s"
        " JOIN stacks st ON st.id = s.stack JOIN frame_names f ON f.id = st.frame"
        " WHERE s.type = ? GROUP BY f.function, f.module", (t,)):
    leaf[(fn, mod)] = (v, n, mx)
assert sum(v for v, n, mx in leaf.values()) == value
got = {(f["function"], f.get("module")): f for f in doc["functions"] if f["self"] > 0}
assert len(got) == len(leaf), (len(got), len(leaf))
for k, (v, n, mx) in leaf.items():
    f = got[k]
    assert f["self"] == v and f["self_count"] == n, (k, f, v, n)
    assert abs(f["self_percent"] - 100.0 * v / value) < 1e-6, (k, f)
    if t == 3:
        assert f["max"] >= mx, (k, f, mx)
PY
done
"$SIPROF" report --type=alloc -c cpu "$tmpdir/typed.siprof" 2> "$tmpdir/err"; [ $? = 2 ] ||
	fail "--class with --type=alloc: not a usage error"
grep -q "class goes with --type=samples" "$tmpdir/err" || fail "no message for --class with alloc: $(cat "$tmpdir/err")"
"$SIPROF" report --type=nope "$tmpdir/typed.siprof" 2> /dev/null; [ $? = 2 ] || fail "bad type: not a usage error"
# Thread-samples read the same with other types beside them.
"$SIPROF" report --json "$tmpdir/good.siprof" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d["functions"]))' > "$tmpdir/f1" &&
"$SIPROF" report --json "$tmpdir/typed.siprof" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d["functions"]))' > "$tmpdir/f2" &&
cmp -s "$tmpdir/f1" "$tmpdir/f2" || fail "other types changed the thread-samples report"
"$SIPROF" report --tree --folded "$tmpdir/good.siprof" 2> /dev/null; [ $? = 2 ] || fail "two views: not a usage error"
"$SIPROF" report --class nope "$tmpdir/good.siprof" 2> /dev/null; [ $? = 2 ] || fail "bad class: not a usage error"
stop_chain > /dev/null
