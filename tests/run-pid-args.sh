#!/bin/bash
# Process ids on the command line: -p PID wherever a PID goes (attach,
# dump, record), several PIDs (repeated -p, a comma list, operands), dump
# --children, and record's lone number where a command is expected. The
# processes are those /proc and the targets themselves name.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
load_exit_codes
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
SPIN="$TARGETS/target-spin"

# Two spinners under one shell, which waits for them.
d="$tmpdir/spin"
mkdir -p "$d"
sh -c "'$SPIN' alpha '$d' & '$SPIN' beta '$d' & wait" &
shpid=$!
bg_pids="$bg_pids $shpid"
wait_file "$d/alpha.pid"
wait_file "$d/beta.pid"
a=$(cat "$d/alpha.pid")
b=$(cat "$d/beta.pid")
bg_pids="$bg_pids $a $b"

# check_session FILE: the session's threads are alpha's and beta's, each in
# its own process, each process with its spinner's function on top.
check_session() {
	python3 - "$1" "$a" "$b" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
a, b = int(sys.argv[2]), int(sys.argv[3])
threads = dict(db.execute("SELECT tid, pid FROM threads"))
assert threads == {a: a, b: b}, threads
for pid, fn in ((a, "spin_alpha"), (b, "spin_beta")):
    top = db.execute("""SELECT f.function FROM samples s JOIN threads t ON t.tid = s.tid
        JOIN stacks st ON st.id = s.stack JOIN frame_names f ON f.id = st.frame
        WHERE t.pid = ? AND s.type = 0 GROUP BY f.function ORDER BY sum(s.count) DESC""",
        (pid,)).fetchone()
    assert top == (fn,), (pid, top)
EOF
}

# check_dump FILE PID...: the JSON of a dump of PIDs, in that order, each
# with the threads /proc lists for it, alpha's stack in spin_alpha and
# beta's in spin_beta.
check_dump() {
	local file=$1
	shift
	json_check "$file" '
import os
want = [int(p) for p in "'"$*"'".split()]
procs = doc["processes"] if len(want) > 1 else [doc]
assert [p["pid"] for p in procs] == want, [p["pid"] for p in procs]
for p in procs:
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % p["pid"]))
    assert sorted(t["tid"] for t in p["threads"]) == tids, (p["pid"], tids)
    fns = [f["function"] for t in p["threads"] for f in t["frames"]]
    if p["pid"] == '"$a"':
        assert "spin_alpha" in fns, fns
    if p["pid"] == '"$b"':
        assert "spin_beta" in fns, fns
'
}

# dump: -p PID is the operand PID.
"$SIPROF" dump --json -p "$a" > "$tmpdir/one.json" || fail "dump -p $a failed"
check_dump "$tmpdir/one.json" "$a"
"$SIPROF" dump --pid="$a" > "$tmpdir/one.txt" || fail "dump --pid=$a failed"
grep -q "^process $a (target-spin)" "$tmpdir/one.txt" || fail "dump --pid: $(head -1 "$tmpdir/one.txt")"

# Several, in every spelling, in the order given.
for form in "-p $a,$b" "-p $a -p $b" "$a $b" "$a,$b" "-p $b $a"; do
	# shellcheck disable=SC2086 # the form is split on purpose
	"$SIPROF" dump --json $form > "$tmpdir/two.json" || fail "dump $form failed"
	case $form in
	"-p $b $a") check_dump "$tmpdir/two.json" "$b" "$a" ;;
	*) check_dump "$tmpdir/two.json" "$a" "$b" ;;
	esac
done
# A PID given twice is dumped once.
"$SIPROF" dump --json -p "$a,$a" > "$tmpdir/dup.json" || fail "dump -p $a,$a failed"
check_dump "$tmpdir/dup.json" "$a"
"$SIPROF" dump "$a" "$b" > "$tmpdir/two.txt" || fail "dump $a $b failed"
[ "$(grep -c '^process ' "$tmpdir/two.txt")" = 2 ] || fail "dump $a $b: $(grep '^process ' "$tmpdir/two.txt")"

# --children: the shell, then its children (ascending), as /proc has them.
kids=$(cat /proc/"$shpid"/task/*/children | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
"$SIPROF" dump --json --children "$shpid" > "$tmpdir/kids.json" || fail "dump --children failed"
# shellcheck disable=SC2086
check_dump "$tmpdir/kids.json" "$shpid" $kids
case " $kids " in *" $a "*) ;; *) fail "the shell's children ($kids) are not alpha $a" ;; esac

# attach: -p, and several processes in one view (what it sampled is read
# from its --record file, complete once it quits; a frame drawn on a busy
# machine may come before the unwinding).
"$SIPROF" attach --batch --iterations=1 --delay=1 -p "$a" > "$tmpdir/attach1.txt" || fail "attach -p $a failed"
grep -q "^siprof pid $a target-spin" "$tmpdir/attach1.txt" || fail "attach -p $a: $(head -1 "$tmpdir/attach1.txt")"
"$SIPROF" attach --batch --iterations=1 --delay=2 --record="$tmpdir/attach.siprof" -p "$a" -p "$b" \
	> "$tmpdir/attach2.txt" || fail "attach -p $a -p $b failed"
check_session "$tmpdir/attach.siprof" || fail "attach -p $a -p $b: the processes' threads and samples do not match"

# record: several -p, each thread with its process.
"$SIPROF" record -q -o "$tmpdir/two.siprof" --duration=2 -p "$a,$b" || fail "record -p $a,$b failed"
check_session "$tmpdir/two.siprof" || fail "record -p $a,$b: threads and samples do not match the processes"
"$SIPROF" report --json --pid="$b" "$tmpdir/two.siprof" > "$tmpdir/rb.json"
json_check "$tmpdir/rb.json" '
names = [f["function"] for f in doc["functions"]]
assert names[0] == "spin_beta" and "spin_alpha" not in names, names
'
# export: --pid keeps one process (folded's counts against SQL's), and
# pprof's pid label splits the processes as go tool pprof -tagfocus reads it.
sql_count() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT sum(s.count) FROM samples s JOIN threads t ON t.tid = s.tid WHERE s.type = 0 AND t.pid = ?', (int(sys.argv[2]),)).fetchone()[0])" "$tmpdir/two.siprof" "$1"; }
"$SIPROF" export -f folded -c wall --pid="$b" "$tmpdir/two.siprof" > "$tmpdir/b.folded" ||
	fail "export --pid=$b failed"
got=$(awk '{ n += $NF } END { print n + 0 }' "$tmpdir/b.folded")
[ "$got" = "$(sql_count "$b")" ] || fail "export --pid=$b has $got samples, the session $(sql_count "$b") for $b"
grep -q spin_alpha "$tmpdir/b.folded" && fail "export --pid=$b has the other process's function"
GO=$(command -v go || echo /usr/lib/go/bin/go)
if [ -x "$GO" ]; then
	"$SIPROF" export -f pprof -c wall -o "$tmpdir/two.pb.gz" "$tmpdir/two.siprof" || fail "export -f pprof of two processes failed"
	for p in "$a" "$b"; do
		got=$("$GO" tool pprof -top -nodecount=1000000 -nodefraction=0 -symbolize=none -sample_index=samples \
			-tagfocus=pid="^$p\$" "$tmpdir/two.pb.gz" 2> /dev/null |
			sed -n 's/^Showing nodes accounting for \([0-9]*\),.*/\1/p')
		[ "$got" = "$(sql_count "$p")" ] ||
			fail "go tool pprof -tagfocus=pid=$p counts '$got' samples, the session $(sql_count "$p")"
	done
else
	skip_check go "go tool pprof reading the pid label; contrib/setup.sh installs golang-go"
fi
assert_running "$a"
assert_running "$b"

# The lone number: a PID where a command is expected is said so, and
# nothing runs (a program named 25850 in PATH would not be run either).
mkdir -p "$tmpdir/bin"
printf '#!/bin/sh\n: > "%s/ran"\n' "$tmpdir" > "$tmpdir/bin/$a"
chmod +x "$tmpdir/bin/$a"
for args in "$a" "-- $a"; do
	# shellcheck disable=SC2086
	PATH="$tmpdir/bin:$PATH" "$SIPROF" record -o "$tmpdir/lone.siprof" $args 2> "$tmpdir/err"
	rc=$?
	[ "$rc" = "$EXIT_USAGE" ] || fail "record -o FILE $args exited $rc, not $EXIT_USAGE"
	grep -q -- "'$a' looks like a process id: to record it, use -p $a" "$tmpdir/err" ||
		fail "record -o FILE $args: $(cat "$tmpdir/err")"
	[ ! -e "$tmpdir/ran" ] || fail "record -o FILE $args ran a program named $a"
	[ ! -e "$tmpdir/lone.siprof" ] || fail "record -o FILE $args created the session"
done
# A path is a program, whatever its name.
PATH="$tmpdir/bin:$PATH" "$SIPROF" record -q -o "$tmpdir/path.siprof" -- "$tmpdir/bin/$a" ||
	fail "record -- ./$a (a path) failed"
[ -e "$tmpdir/ran" ] || fail "record -- $tmpdir/bin/$a did not run it"

# Lists that are not lists of PIDs.
for cmd in "dump -p $a,x" "dump -p ," "attach --batch -p 0" "record -o $tmpdir/x.siprof -p $a,"; do
	# shellcheck disable=SC2086
	"$SIPROF" $cmd 2> "$tmpdir/err"
	rc=$?
	[ "$rc" = "$EXIT_USAGE" ] || fail "siprof $cmd exited $rc, not $EXIT_USAGE: $(cat "$tmpdir/err")"
done
: > "$d/stop"
wait "$shpid"
exit 0
