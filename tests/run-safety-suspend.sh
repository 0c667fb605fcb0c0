#!/bin/bash
# A suspended or dying siprof must not freeze the target. Ctrl-Z of record
# and of the live view, typed in a shell with job control (tmux): while
# siprof is stopped the process is not traced (the kernel's TracerPid), its
# signals arrive (its own count) and its thread-creating loop goes on; after
# fg siprof traces it again, and the session shows the gap. A process
# stopped with SIGSTOP during record is not woken at every tick (its context
# switches stand still) and stays stopped until SIGCONT. A process that
# exits while siprof is suspended ends the recording. SIGKILL of
# `record -- CMD` at random moments of its start-up never leaves CMD stopped.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
cd "$tmpdir" || fail "no tmpdir"

tmux_init sh
type_line() { tm send-keys -t sh "$1" Enter; }

tracer_of() { awk '/^TracerPid:/ {print $2}' "/proc/$1/status"; }
tgid_of() { awk '/^Tgid:/ {print $2}' "/proc/$1/status" 2> /dev/null; }
# Context switches of one thread, or (no name) of every thread of PID.
switches() {
	local files="/proc/$1/task/*/status"
	[ -n "${2:-}" ] && files="/proc/$1/task/$(thread_tid "$1" "$2")/status"
	# shellcheck disable=SC2086
	cat $files 2> /dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'
}
# wait_for WHAT COMMAND...: until COMMAND succeeds (10 s at most).
wait_for() {
	local what=$1 i=0
	shift
	until "$@"; do
		[ $i -lt 100 ] || fail "timed out waiting until $what"
		sleep 0.1
		i=$((i + 1))
	done
}
untraced() { [ "$(tracer_of "$TARGET_PID")" = 0 ]; }
traced_by() { local t; t=$(tracer_of "$TARGET_PID"); [ "$t" != 0 ] && [ "$(tgid_of "$t")" = "$1" ]; }
state_of() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1; }

# While siprof (SIPROF_PID) is suspended: the target runs free.
check_free() {
	local what=$1 before after
	[ "$(state_of "$SIPROF_PID")" = T ] || fail "$what: siprof is not stopped after Ctrl-Z: $(screen)"
	wait_for "$what: the target is not traced while siprof is suspended" untraced
	assert_running "$TARGET_PID"
	before=$(switches "$TARGET_PID" churner)
	# Apart, so that each is handled before the next (standard signals
	# that wait for a tracer are merged into one).
	for i in 1 2 3 4 5; do
		kill -USR1 "$TARGET_PID"
		sleep 0.2
	done
	after=$(switches "$TARGET_PID" churner)
	# It creates a thread, joins it and sleeps 2 ms, over and over; held
	# at a thread creation it would not move at all.
	[ $((after - before)) -ge 5 ] ||
		fail "$what: the thread-creating thread went round $((after - before)) times in 1 s while siprof was suspended"
	[ "$(state_of "$SIPROF_PID")" = T ] || fail "$what: siprof did not stay stopped"
}

# check_result WHAT: the target counted the 5 signals, and no EINTR.
check_result() {
	local res
	res=$(stop_chain)
	[ "$(result_field usr1 "$res")" = 5 ] ||
		fail "$1: the target counted $(result_field usr1 "$res") of the 5 SIGUSR1 sent while siprof was suspended ($res)"
	[ "$(result_field eintr "$res")" = 0 ] || fail "$1: epoll_wait saw EINTR ($res)"
}

tm new-session -d -s sh -x 150 -y 40 -c "$tmpdir" "env -i PATH=$PATH HOME=$tmpdir HISTFILE=/dev/null TERM=xterm-256color PS1='$ ' bash --norc --noprofile -i"
wait_screen '^\$' "the shell's prompt"

# --- Ctrl-Z of record ---
start_classes --churn
type_line "'$SIPROF' record -o '$tmpdir/rec.siprof' -p $TARGET_PID"
wait_screen "recording process $TARGET_PID" "record's start"
SIPROF_PID=$(pgrep -f "record -o $tmpdir/rec.siprof")
wait_for "record traces the target" traced_by "$SIPROF_PID"
sleep 1
tm send-keys -t sh C-z
wait_screen 'Stopped' "Ctrl-Z of record"
screen | grep -q "siprof: suspended; process $TARGET_PID runs untraced" || fail "record said nothing of the suspend: $(screen)"
check_free "record"
type_line fg
wait_for "record traces the target again after fg" traced_by "$SIPROF_PID"
wait_screen "siprof: continued; tracing process $TARGET_PID again" "record after fg"
sleep 1.5
tm send-keys -t sh C-c
wait_screen "siprof: recorded [0-9.]+ s" "record's end"
type_line 'echo RECORD-EXITED $?'
wait_screen 'RECORD-EXITED 0' "record's exit status"
assert_running "$TARGET_PID"
check_result "record"
"$SIPROF" report "$tmpdir/rec.siprof" > "$tmpdir/rec.txt" || fail "the session of a suspended record cannot be read"
grep -qE '^gaps +suspended from [0-9.]+ s to [0-9.]+ s' "$tmpdir/rec.txt" || fail "report shows no gap: $(cat "$tmpdir/rec.txt")"
"$SIPROF" report --json "$tmpdir/rec.siprof" > "$tmpdir/rec.json" || fail "report --json failed"
json_check "$tmpdir/rec.json" '
g = doc["context"]["gaps"]
assert len(g) == 1 and g[0]["reason"] == "suspended" and 0 < g[0]["start"] < g[0]["end"], g
assert g[0]["end"] < doc["context"]["stats"]["duration_s"], (g, doc["context"]["stats"])
'
# Sampling went on after the gap.
since=$(python3 -c 'import json, sys; print(int(json.load(open(sys.argv[1]))["context"]["gaps"][0]["end"]) + 1)' "$tmpdir/rec.json")
"$SIPROF" report --json --since "$since" "$tmpdir/rec.siprof" > "$tmpdir/after.json" || fail "report --since failed"
json_check "$tmpdir/after.json" 'assert any(f["function"] == "burn_three" for f in doc["functions"]), doc["functions"]'

# --- Ctrl-Z of the live view ---
start_classes --churn
type_line "clear; '$SIPROF' attach $TARGET_PID"
# The first refresh shows what the first second held; give a loaded
# machine time to sample the spinner.
wait_screen 'burn_three' "the live view" 300
SIPROF_PID=$(pgrep -f "siprof attach $TARGET_PID")
tm send-keys -t sh C-z
wait_screen 'Stopped' "Ctrl-Z of the live view"
screen | grep -q '^ siprof pid' && fail "the live view did not give the terminal back before stopping: $(screen)"
check_free "attach"
type_line fg
wait_for "attach traces the target again after fg" traced_by "$SIPROF_PID"
wait_screen "^ siprof pid $TARGET_PID" "the live view redrawn after fg"
wait_screen 'suspended for [0-9.]+ s' "the live view's word of the suspend"
wait_screen 'burn_three' "the live view after fg" 300
tm send-keys -t sh q
wait_screen "detached from process $TARGET_PID" "quitting the live view"
type_line 'echo ATTACH-EXITED $?'
wait_screen 'ATTACH-EXITED 0' "the live view's exit status"
assert_running "$TARGET_PID"
check_result "attach"

# --- a target stopped with SIGSTOP during record ---
start_chain
"$SIPROF" record -q -o "$tmpdir/stop.siprof" -p "$TARGET_PID" 2> "$tmpdir/stop.err" &
rec=$!
bg_pids="$bg_pids $rec"
wait_for "record traces the chain target" traced_by "$rec"
sleep 1
kill -STOP "$TARGET_PID"
all_stopped() {
	local t
	for t in /proc/"$TARGET_PID"/task/*; do
		case $(sed 's/.*) //' "$t/stat" | cut -d' ' -f1) in
		t|T) ;;
		*) return 1 ;;
		esac
	done
}
wait_for "every thread of the target is stopped" all_stopped
sleep 0.3
c1=$(switches "$TARGET_PID")
w1=$(progress_of "$TARGET_PID")
sleep 2
c2=$(switches "$TARGET_PID")
w2=$(progress_of "$TARGET_PID")
echo "context switches of the stopped target in 2 s: $((c2 - c1))"
# Without care, every thread is woken at every tick: about 1200 in 2 s.
[ $((c2 - c1)) -le 12 ] || fail "the stopped target was woken $((c2 - c1)) times in 2 s"
[ "$w1" = "$w2" ] || fail "the stopped target's worker ran ($w1 -> $w2 ticks of CPU)"
all_stopped || fail "the target did not stay stopped"
kill -CONT "$TARGET_PID"
sleep 1
[ "$(progress_of "$TARGET_PID")" -gt "$w2" ] || fail "the target does not run after SIGCONT"
kill -INT "$rec"
wait "$rec" || fail "record of a stopped target failed: $(cat "$tmpdir/stop.err")"
assert_running "$TARGET_PID"
"$SIPROF" report --json "$tmpdir/stop.siprof" > "$tmpdir/stop.json" || fail "report of the stopped target failed"
json_check "$tmpdir/stop.json" '
c = doc["classes"]
assert c.get("stopped", 0) > 0 and c.get("cpu", 0) > 0, c
'
stop_chain > /dev/null

# --- the process exits while siprof is suspended ---
start_chain
# A process group of its own with its parent (this shell) in another group
# of the same session: not orphaned, so the kernel does not discard the
# SIGTSTP (it would where this test runs in a session of its own, as in CI).
set -m
"$SIPROF" record -o "$tmpdir/gone.siprof" -p "$TARGET_PID" 2> "$tmpdir/gone.err" &
rec=$!
set +m
bg_pids="$bg_pids $rec"
wait_for "record traces the chain target" traced_by "$rec"
kill -TSTP "$rec"
wait_for "record is stopped" eval '[ "$(state_of "$rec")" = T ]'
wait_for "the target is not traced while record is stopped" untraced
stop_chain > /dev/null
kill -CONT "$rec"
wait "$rec" || fail "record of a process that exited while it was suspended failed: $(cat "$tmpdir/gone.err")"
grep -q "siprof: process $TARGET_PID exited while siprof was suspended" "$tmpdir/gone.err" ||
	fail "record did not say the process exited meanwhile: $(cat "$tmpdir/gone.err")"
"$SIPROF" report "$tmpdir/gone.siprof" > "$tmpdir/gone.txt" || fail "that session cannot be read"
grep -qE '^gaps +suspended from' "$tmpdir/gone.txt" || fail "no gap in that session: $(cat "$tmpdir/gone.txt")"

# --- SIGKILL of record -- CMD during its start-up, 50 times ---
for i in $(seq 1 50); do
	marker="$tmpdir/launch-$i"
	mkdir -p "$marker"
	"$SIPROF" record -q -o "$tmpdir/launch-$i.siprof" -- "$TARGETS/target-chain" "$marker" 2> /dev/null &
	rec=$!
	sleep "$(printf '0.%03d' $((RANDOM % 100)))"
	kill -KILL "$rec"
	wait "$rec" 2> /dev/null
	# Before exec the child has siprof's command line, which holds the
	# marker too: whatever holds it must be gone or running, untraced.
	for p in $(pgrep -f -- "target-chain $marker\$"); do
		[ "$p" = "$rec" ] && continue
		j=0
		while [ -d "/proc/$p" ]; do
			s=$(state_of "$p" 2> /dev/null)
			tr=$(tracer_of "$p" 2> /dev/null)
			case $s in
			t|T) ;;
			*) [ "${tr:-0}" = 0 ] && break ;;
			esac
			[ $j -lt 20 ] || fail "trial $i: process $p ($(tr '\0' ' ' < "/proc/$p/cmdline" 2> /dev/null)) is left in state $s, traced by ${tr:-?}, after record was killed"
			sleep 0.05
			j=$((j + 1))
		done
		kill -KILL "$p" 2> /dev/null
	done
done
exit 0
