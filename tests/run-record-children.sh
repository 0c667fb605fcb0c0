#!/bin/bash
# record --children: the processes a target starts (fork, vfork, exec) are
# followed, each with its own pid in the session and its own symbols; the
# pids are those the processes report themselves (getpid), and every
# process is detached and running once siprof ends, whether the processes
# exited first, or siprof was ended by SIGTERM or Ctrl-C (SIGINT); with -p,
# the processes started before the attach are traced too.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
SPIN="$TARGETS/target-spin"

# The hottest leaf function of each process in a session, from its
# tables: "PID FUNCTION" lines.
leaf_by_pid() {
	python3 - "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("""
    SELECT t.pid, f.function, sum(s.count) AS n
    FROM samples s JOIN threads t ON t.tid = s.tid
    JOIN stacks st ON st.id = s.stack JOIN frame_names f ON f.id = st.frame
    WHERE s.type = 0 GROUP BY t.pid, f.function ORDER BY t.pid, n DESC""").fetchall()
seen = set()
for pid, fn, n in rows:
    if pid not in seen:
        seen.add(pid)
        print(pid, fn)
EOF
}

# wait_leaves FILE PID FUNCTION PID FUNCTION: until the session, as
# committed so far (once a second), has both processes with their
# functions on top; siprof's unwinding may run behind on a busy machine.
wait_leaves() {
	local i=0
	until leaf_by_pid "$1" 2>/dev/null > "$tmpdir/leaves" &&
		grep -qx "$2 $3" "$tmpdir/leaves" && grep -qx "$4 $5" "$tmpdir/leaves"; do
		[ $i -lt 1200 ] || fail "$1 does not show $3 in $2 and $5 in $4: $(tr '\n' ';' < "$tmpdir/leaves")"
		sleep 0.1
		i=$((i + 1))
	done
}

# expect_leaf FILE PID FUNCTION: FUNCTION is the hottest leaf of PID.
expect_leaf() {
	leaf_by_pid "$1" > "$tmpdir/leaves"
	grep -qx "$2 $3" "$tmpdir/leaves" ||
		fail "$3 is not the hottest function of process $2 in $1: $(tr '\n' ';' < "$tmpdir/leaves")"
}

# traced_by PID SIPROF_PID: PID's tracer is a thread of siprof.
traced_by() {
	local tracer
	tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$1/status" 2>/dev/null)
	[ -n "$tracer" ] && [ "$tracer" != 0 ] && [ -d "/proc/$2/task/$tracer" ]
}

wait_traced() { # wait_traced PID SIPROF_PID
	local i=0
	until traced_by "$1" "$2"; do
		[ $i -lt 200 ] || fail "process $1 is not traced by siprof ($2)"
		sleep 0.05
		i=$((i + 1))
	done
}

# 1. A command whose children run to their end: both are followed from
# fork through exec, and siprof exits with the command's own status once
# they and the command have exited.
d1="$tmpdir/one"
mkdir -p "$d1"
"$SIPROF" record -q -o "$tmpdir/one.siprof" --children -- \
	sh -c "'$SPIN' alpha '$d1' & '$SPIN' beta '$d1' & wait; exit 7" &
rec=$!
wait_file "$d1/alpha.pid"
wait_file "$d1/beta.pid"
a=$(cat "$d1/alpha.pid")
b=$(cat "$d1/beta.pid")
bg_pids="$bg_pids $a $b"
traced_by "$a" "$rec" || fail "alpha ($a) is not traced by siprof while it runs"
traced_by "$b" "$rec" || fail "beta ($b) is not traced by siprof while it runs"
wait_leaves "$tmpdir/one.siprof" "$a" spin_alpha "$b" spin_beta
: > "$d1/stop"
wait "$rec"
rc=$?
[ "$rc" = 7 ] || fail "record --children exited $rc, not the command's 7"
expect_leaf "$tmpdir/one.siprof" "$a" spin_alpha
expect_leaf "$tmpdir/one.siprof" "$b" spin_beta
"$SIPROF" report --json --pid="$a" "$tmpdir/one.siprof" > "$tmpdir/one-a.json"
json_check "$tmpdir/one-a.json" '
names = [f["function"] for f in doc["functions"]]
assert "spin_alpha" in names and "spin_beta" not in names, names
procs = {p["pid"]: p for p in doc["processes"]}
assert list(procs) == ['"$a"'], procs
'
"$SIPROF" report --json "$tmpdir/one.siprof" > "$tmpdir/one.json"
json_check "$tmpdir/one.json" '
pids = sorted(p["pid"] for p in doc["processes"])
assert '"$a"' in pids and '"$b"' in pids and len(pids) == 3, pids
'
"$SIPROF" report "$tmpdir/one.siprof" | grep -q '^processes 3' ||
	fail "report shows no per-process breakdown"

# 2. -p of a shell that starts its children after the attach, one of them
# through Python's subprocess (vfork where Python has it), ended by
# SIGTERM while they run: every process is let go, running.
d2="$tmpdir/two"
mkdir -p "$d2"
sh -c "while [ ! -e '$d2/go' ]; do sleep 0.1; done
	'$SPIN' alpha '$d2' &
	python3 -c 'import subprocess, sys; subprocess.run(sys.argv[1:])' '$SPIN' beta '$d2' &
	wait" &
shpid=$!
bg_pids="$bg_pids $shpid"
"$SIPROF" record -q -o "$tmpdir/two.siprof" --children -p "$shpid" &
rec=$!
wait_traced "$shpid" "$rec"
: > "$d2/go"
wait_file "$d2/alpha.pid"
wait_file "$d2/beta.pid"
a=$(cat "$d2/alpha.pid")
b=$(cat "$d2/beta.pid")
py=$(awk '/^PPid:/ {print $2}' "/proc/$b/status")
bg_pids="$bg_pids $a $b $py"
wait_traced "$a" "$rec"
wait_traced "$b" "$rec"
wait_leaves "$tmpdir/two.siprof" "$a" spin_alpha "$b" spin_beta
kill -TERM "$rec"
wait "$rec"
for p in "$shpid" "$a" "$b" "$py"; do
	assert_running "$p"
done
expect_leaf "$tmpdir/two.siprof" "$a" spin_alpha
expect_leaf "$tmpdir/two.siprof" "$b" spin_beta
: > "$d2/stop"

# 3. Ctrl-C (SIGINT to siprof alone) while a command's children run.
d3="$tmpdir/three"
mkdir -p "$d3"
"$SIPROF" record -q -o "$tmpdir/three.siprof" --children -- \
	sh -c "'$SPIN' alpha '$d3' & '$SPIN' beta '$d3' & wait" &
rec=$!
wait_file "$d3/alpha.pid"
wait_file "$d3/beta.pid"
a=$(cat "$d3/alpha.pid")
b=$(cat "$d3/beta.pid")
shpid=$(awk '/^PPid:/ {print $2}' "/proc/$a/status")
bg_pids="$bg_pids $a $b $shpid"
wait_traced "$a" "$rec"
wait_traced "$b" "$rec"
wait_leaves "$tmpdir/three.siprof" "$a" spin_alpha "$b" spin_beta
kill -INT "$rec"
wait "$rec"
for p in "$shpid" "$a" "$b"; do
	assert_running "$p"
done
expect_leaf "$tmpdir/three.siprof" "$a" spin_alpha
expect_leaf "$tmpdir/three.siprof" "$b" spin_beta
: > "$d3/stop"

# 4. -p of a tree that runs already (a service's master and workers): the
# processes started before the attach are traced too.
d4="$tmpdir/four"
mkdir -p "$d4"
sh -c "'$SPIN' alpha '$d4' & '$SPIN' beta '$d4' & wait" &
shpid=$!
bg_pids="$bg_pids $shpid"
wait_file "$d4/alpha.pid"
wait_file "$d4/beta.pid"
a=$(cat "$d4/alpha.pid")
b=$(cat "$d4/beta.pid")
bg_pids="$bg_pids $a $b"
"$SIPROF" record -q -o "$tmpdir/four.siprof" --children -p "$shpid" &
rec=$!
wait_traced "$a" "$rec"
wait_traced "$b" "$rec"
wait_leaves "$tmpdir/four.siprof" "$a" spin_alpha "$b" spin_beta
kill -TERM "$rec"
wait "$rec"
for p in "$shpid" "$a" "$b"; do
	assert_running "$p"
done
: > "$d4/stop"
exit 0
