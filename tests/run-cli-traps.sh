#!/bin/bash
# Command-line traps (#14): one meaning for each short option across the
# commands, a --threads filter that matches nothing, a COMMAND that cannot
# be run, and attach --batch --json as a script reads it.
. "$(dirname "$0")/test-subr.sh"
load_exit_codes

# ---- Short options: one meaning each, as the --help texts list them. ----
for c in attach record report dump export diff upload; do
	"$SIPROF" "$c" --help | grep -oE '^  -[a-zA-Z], --[a-z-]+' | sed "s/^ *//; s/,//"
done | sort -u > "$tmpdir/shorts"
# upload's -u (--url) against the sampler's --unwinder is upload's to settle.
clash=$(awk '$1 != "-u" { n[$1]++; l[$1] = l[$1] " " $2 } END { for (k in n) if (n[k] > 1) print k l[k] }' \
	"$tmpdir/shorts")
[ -z "$clash" ] || fail "a short option means different things in different commands: $clash"
grep -qx -- '-f --format' "$tmpdir/shorts" || fail "-f is not --format: $(cat "$tmpdir/shorts")"
grep -qx -- '-d --duration' "$tmpdir/shorts" || fail "-d is not --duration: $(cat "$tmpdir/shorts")"
grep -qx -- '-n --top' "$tmpdir/shorts" || fail "-n is not --top: $(cat "$tmpdir/shorts")"

# The letters taken away: a usage error that names the long option.
refused() { # refused WHAT LONG siprof-args...
	local what=$1 long=$2
	shift 2
	"$SIPROF" "$@" > "$tmpdir/out" 2> "$tmpdir/err"
	local rc=$?
	[ $rc = "$EXIT_USAGE" ] || fail "$what: exit $rc, not $EXIT_USAGE: $(cat "$tmpdir/err")"
	grep -q -- "$what is not an option of $1.*$long" "$tmpdir/err" ||
		fail "$what: the message does not name $long: $(cat "$tmpdir/err")"
}
refused -f --force record -f -o "$tmpdir/f.siprof" -- true
[ ! -e "$tmpdir/f.siprof" ] || fail "record -f: a session file was made"
# (A process id that cannot exist: nothing is attached to, whatever happens.)
refused -f --force attach -f --record="$tmpdir/f.siprof" 2147483647
refused -d --delay attach -b -d 1 2147483647
refused -n --iterations attach -b -n 2 2147483647
refused -n --iterations attach -bn2 2147483647

# ---- record -- COMMAND that cannot be run: the statuses a shell gives. ----
printf '#!/bin/sh\nexit 0\n' > "$tmpdir/noexec.sh"
chmod 644 "$tmpdir/noexec.sh"
ran() { # ran WHAT STATUS MESSAGE command...
	local what=$1 want=$2 msg=$3
	shift 3
	"$SIPROF" record -q -o "$tmpdir/run.siprof" -- "$@" > "$tmpdir/out" 2> "$tmpdir/err"
	local rc=$?
	[ $rc = "$want" ] || fail "record -- $what: exit $rc, not $want: $(cat "$tmpdir/err")"
	grep -qF -- "$msg" "$tmpdir/err" || fail "record -- $what: no '$msg' in: $(cat "$tmpdir/err")"
	[ ! -e "$tmpdir/run.siprof" ] || fail "record -- $what: a session file was made"
}
shell_status() { sh -c '"$@"' sh "$@" > /dev/null 2>&1; echo $?; }
[ "$(shell_status siprof-no-such-command)" = 127 ] || skip "sh does not exit 127 for a missing command"
ran "a command not in PATH" 127 "cannot run 'siprof-no-such-command': no such command in PATH" \
	siprof-no-such-command
ran "a missing file" "$(shell_status "$tmpdir/missing")" \
	"cannot run '$tmpdir/missing': No such file or directory" "$tmpdir/missing"
[ "$(shell_status "$tmpdir/noexec.sh")" = 126 ] || fail "sh runs a file without execute permission"
ran "a file without execute permission" 126 "cannot run '$tmpdir/noexec.sh': Permission denied" \
	"$tmpdir/noexec.sh"
ran "a directory" "$(shell_status "$tmpdir")" "cannot run '$tmpdir': " "$tmpdir"
# A command that ran exits with its own status, 127 included.
"$SIPROF" record -q -o "$tmpdir/own.siprof" -- sh -c 'exit 127'
rc=$?
[ $rc = 127 ] || fail "record -- sh -c 'exit 127': exit $rc"
[ -s "$tmpdir/own.siprof" ] || fail "record -- sh -c 'exit 127': no session file"

need_ptrace

# ---- --threads that never matches: a warning, the file, exit 9. ----
start_classes
"$SIPROF" record -q -o "$tmpdir/none.siprof" -d 5 --threads 'zzz*,99999999' -p "$TARGET_PID" \
	2> "$tmpdir/err"
rc=$?
[ $rc = "$EXIT_NOMATCH" ] || fail "--threads matching nothing: exit $rc, not $EXIT_NOMATCH: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
[ "$(grep -c "warning: --threads 'zzz\*,99999999' has matched no thread of process $TARGET_PID" "$tmpdir/err")" = 1 ] ||
	fail "no single warning naming the filter: $(cat "$tmpdir/err")"
# The threads it lists are the process's, as /proc names them.
spinner=$(thread_tid "$TARGET_PID" spinner)
main_tid=$TARGET_PID
grep -qF "$main_tid (target-classes)" "$tmpdir/err" || fail "the warning does not list the main thread: $(cat "$tmpdir/err")"
listed=$(sed -n 's/.*its threads are //p' "$tmpdir/err" | grep -oE '[0-9]+ \([^)]*\)')
[ -n "$listed" ] || fail "the warning lists no threads: $(cat "$tmpdir/err")"
echo "$listed" | while read -r tid name; do
	[ "($(cat "/proc/$TARGET_PID/task/$tid/comm"))" = "$name" ] || fail "listed $tid $name, /proc says otherwise"
done || exit 1
grep -q "matched no thread of process $TARGET_PID.*none.siprof holds no samples" "$tmpdir/err" ||
	fail "no closing message: $(cat "$tmpdir/err")"
"$SIPROF" report --json "$tmpdir/none.siprof" > "$tmpdir/none.json" || fail "the session of no samples is not readable"
json_check "$tmpdir/none.json" 'assert doc["context"]["stats"]["samples"] == 0, doc["context"]["stats"]'

# A filter that matches records, and exits 0 (no warning).
"$SIPROF" record -q -o "$tmpdir/some.siprof" -d 1 --threads "zzz,$spinner" -p "$TARGET_PID" 2> "$tmpdir/err" ||
	fail "--threads matching the spinner: exit $?: $(cat "$tmpdir/err")"
! grep -q "matched no thread" "$tmpdir/err" || fail "a warning though the filter matched: $(cat "$tmpdir/err")"

# With COMMAND: exit 9 when it exits 0; its own status when it does not.
"$SIPROF" record -q -o "$tmpdir/c0.siprof" --threads zzz -- true 2> "$tmpdir/err"
rc=$?
[ $rc = "$EXIT_NOMATCH" ] || fail "record --threads zzz -- true: exit $rc, not $EXIT_NOMATCH"
[ -s "$tmpdir/c0.siprof" ] || fail "record --threads zzz -- true: no session file"
"$SIPROF" record -q -o "$tmpdir/c3.siprof" --threads zzz -- sh -c 'exit 3' 2> "$tmpdir/err"
rc=$?
[ $rc = 3 ] || fail "record --threads zzz -- sh -c 'exit 3': exit $rc, not the command's 3"

# ---- attach --batch --json: JSON Lines a script reads. ----
"$SIPROF" attach --json "$TARGET_PID" 2> "$tmpdir/err"
[ $? = "$EXIT_USAGE" ] || fail "--json without --batch is not a usage error"
before=$(date +%s.%N)
"$SIPROF" attach --batch --json --iterations=3 --delay=1 "$TARGET_PID" > "$tmpdir/frames" 2> "$tmpdir/err" ||
	fail "attach --batch --json failed: $(cat "$tmpdir/err")"
after=$(date +%s.%N)
assert_running "$TARGET_PID"
ls "/proc/$TARGET_PID/task" > "$tmpdir/tids"
for t in $(cat "$tmpdir/tids"); do
	echo "$t $(cat "/proc/$TARGET_PID/task/$t/comm")"
done > "$tmpdir/proc-threads"
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
python3 - "$tmpdir/frames" "$TARGET_PID" "$tmpdir/proc-threads" "$before" "$after" << 'EOF' || fail "attach --batch --json: $(head -c 2000 "$tmpdir/frames")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
pid = int(sys.argv[2])
proc = dict(l.split(" ", 1) for l in open(sys.argv[3]).read().splitlines())
before, after = float(sys.argv[4]), float(sys.argv[5])
assert len(lines) == 3, "%d lines, not one per frame" % len(lines)
frames = [json.loads(l) for l in lines]
assert [f["frame"] for f in frames] == [1, 2, 3], [f["frame"] for f in frames]
prev = None
for f in frames:
    assert f["pid"] == pid and f["command"] == "target-classes", f
    assert f["class"] == "cpu" and f["window"] == "5s" and f["exited"] is False, f
    assert before <= f["time"] <= after, (before, f["time"], after)
    if prev is not None:
        assert f["time"] > prev["time"] and f["elapsed"] > prev["elapsed"], (prev, f)
        assert f["samples"] >= prev["samples"], (prev, f)
    prev = f
    cls = f["classes"]
    assert sum(c["samples"] for c in cls.values()) == f["thread_samples"], f
    assert abs(sum(c["percent"] for c in cls.values()) - 100) < 0.01, cls
    # The threads are the process's, by id and name.
    for t in f["threads"]:
        assert str(t["tid"]) in proc and proc[str(t["tid"])] == t["name"], (t, proc)
        assert sum(c["samples"] for c in t["classes"].values()) == t["samples"], t
    assert sum(t["samples"] for t in f["threads"]) == f["thread_samples"], f
last = frames[-1]
# The target's known work: the spinner burns CPU in burn_three (3 units)
# and burn_one (1 unit); the other threads block.
funcs = [x["function"] for x in last["functions"]]
assert funcs and funcs[0] == "burn_three", funcs
assert "burn_one" in funcs, funcs
assert last["functions"][0]["self"] <= last["function_samples"], last
assert 0 < last["functions"][0]["self_percent"] <= 100, last["functions"][0]
spin = [t for t in last["threads"] if t["name"] == "spinner"]
assert spin and "cpu" in spin[0]["classes"], last["threads"]
locked = [t for t in last["threads"] if t["name"] == "locked"]
assert locked and "lock" in locked[0]["classes"], last["threads"]
assert "cpu" in last["classes"] and "lock" in last["classes"], last["classes"]
EOF
exit 0
