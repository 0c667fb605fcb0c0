#!/bin/bash
# The live view at 80x24 and 160x45, as a person meets it: once the
# sparklines have filled, the header still says which class, view, thread
# and window are shown, with the class shares, and no line is wider than
# the terminal; following the hot spot of a deep tree (v, Tab, Shift-Tab,
# v) keeps its roots on the screen; pause adds no missed ticks; z freezes
# what is shown while the sample count goes on; g writes an SVG flame graph
# of what is shown; p shows the callers of a function; when the process
# exits, its last profile stays on screen with the exit status the shell
# saw.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
cd "$tmpdir" || fail "no tmpdir"
tmux_init live

# view W H PID [ENV...]: the live view of PID in a W x H terminal.
view() {
	local w=$1 h=$2 pid=$3
	shift 3
	tm kill-session -t live 2> /dev/null
	tm new-session -d -s live -x "$w" -y "$h" -c "$tmpdir" \
		"env TERM=xterm-256color $* '$SIPROF' attach $pid; echo EXITED \$?; sleep 60"
	wait_screen "^ siprof pid $pid " "the live view at ${w}x$h" 300
}
# The header's lines (the tabs are the last of them).
header() { screen | sed -n '1,/^ *\(total%\|self%\|tid\|class\) /p' | sed '$d'; }
# The functions of the tree's rows, in order.
tree_names() {
	screen | python3 -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"^ *[0-9.]+% +[0-9.]+% +[0-9]+  +[\u25be\u25b8 ] (\S+) ", line)
    if m:
        print(m.group(1))'
}
widest() { screen | python3 -c 'import sys; print(max(len(l.rstrip("\n")) for l in sys.stdin))'; }
# The CPU sparkline's length (block characters after "CPU n%[ of n CPUs]").
spark_len() { screen | sed -n 's/.*CPU *[0-9.]*%\( of [0-9.]* CPUs\)\{0,1\} \([▁▂▃▄▅▆▇█]*\).*/\2/p' | head -1 | tr -d '\n' | wc -m; }
# until_spark_full: until the sparkline stops growing (it has as many
# seconds as the line has room for).
until_spark_full() {
	local a b i=0
	a=$(spark_len)
	while :; do
		sleep 2
		b=$(spark_len)
		[ "$b" -ge 3 ] && [ "$a" = "$b" ] && break
		[ $i -lt 40 ] || fail "the sparkline never stopped growing ($a, $b): $(screen)"
		a=$b
		i=$((i + 1))
	done
}
# The threads' names, as the kernel has them.
thread_names() { cat /proc/"$1"/task/*/comm; }

start_classes
grep -qx spinner <(thread_names "$TARGET_PID") || fail "the target has no spinner thread"
for size in 80x24 160x45; do
	w=${size%x*}
	h=${size#*x}
	view "$w" "$h" "$TARGET_PID"
	wait_screen 'burn_three' "the hot function at $size"
	until_spark_full
	pick_thread spinner
	keys v
	wait_screen 'view: Cpu list by self' "the flat list at $size"
	header > "$tmpdir/header"
	grep -q 'view: Cpu list by self  thread: spinner  window: 5 s' "$tmpdir/header" ||
		fail "at $size the header does not say the class, the view, the thread and the window: $(screen)"
	grep -qE 'CPU +[0-9.]+%' "$tmpdir/header" || fail "at $size no CPU figure: $(screen)"
	grep -qE 'RSS [0-9.]+ MiB' "$tmpdir/header" || fail "at $size no RSS figure: $(screen)"
	# The class shares: the spinner spends its time on a CPU.
	grep -qE '\[Cpu [0-9]+%\]' "$tmpdir/header" || fail "at $size no active Cpu tab with its share: $(screen)"
	[ "$(widest)" -le "$w" ] || fail "a line wider than $w columns: $(screen)"
	[ "$(screen | wc -l)" -le "$h" ] || fail "more lines than the terminal has at $size"
	# Wall for all threads: every blocking class the target has is a tab
	# with its share (of the thread-samples).
	keys t PPage Enter
	wait_screen 'thread: all' "all threads at $size"
	for c in Lock Net Disk Sleep; do
		screen | grep -qE "(^| )$c [0-9]+%( |\$)" || fail "at $size the $c tab with its share is not in sight: $(screen)"
	done
	keys q
	wait_screen 'EXITED 0' "quitting at $size"
done

# Pause: the ticks not taken are not missed ones. The count of missed
# ticks (0 when the header shows none) stays as it was.
missed() { screen | sed -n 's/.*behind: \([0-9]*\) missed ticks.*/\1/p' | head -1 | grep . || echo 0; }
view 80 24 "$TARGET_PID"
wait_screen 'burn_three' "the view to pause"
keys Space
wait_screen 'PAUSED' "pause"
sleep 0.5
m1=$(missed)
sleep 4
m2=$(missed)
[ "$m1" = "$m2" ] || fail "paused, the missed ticks went from $m1 to $m2: $(screen)"

# Freeze: the rows stand still while sampling goes on (the header's
# sample count moves).
keys Space
wait_screen_not 'PAUSED' "resuming"
sleep 2
keys z
wait_screen 'FROZEN' "freezing the view"
# (The last of the seconds shown may still be unwinding a moment.)
sleep 2
rows1=$(screen | sed -n '/total%  *self%/,$p' | grep '%' | head -6)
s1=$(screen | sed -n 's/.* samples \([0-9]*\).*/\1/p' | head -1)
sleep 2.5
rows2=$(screen | sed -n '/total%  *self%/,$p' | grep '%' | head -6)
s2=$(screen | sed -n 's/.* samples \([0-9]*\).*/\1/p' | head -1)
[ "$rows1" = "$rows2" ] || fail "frozen, the rows changed: $rows1 / $rows2"
if [ -n "$s1" ] && [ -n "$s2" ]; then
	[ "$s2" -gt "$s1" ] || fail "frozen, sampling stopped: samples $s1 then $s2"
fi

# g: the SVG flame graph of what is shown, frozen: its frames have the
# samples the tree shows, in the class the screen shows.
keys g
wait_screen 'write an SVG flame graph to: siprof-' "the SVG prompt"
keys C-u
keys f l a m e . s v g Enter
wait_screen 'wrote flame.svg' "writing the SVG"
python3 - "$tmpdir/flame.svg" "$(screen)" <<'PY' || fail "the SVG is not what the screen shows: $(screen)"
import re, sys, xml.etree.ElementTree as ET
svg = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
frames, seen = {}, {}
for t in svg.iter(ns + "title"):
    m = re.match(r"(.*) \(([0-9]+) samples", t.text or "")
    if m:
        frames[m.group(1)] = int(m.group(2))
        seen[m.group(1)] = seen.get(m.group(1), 0) + 1
title = "".join(e.text or "" for e in svg.iter(ns + "text") if e.get("id") == "title")
assert title.startswith("Cpu:"), title
shown = {}
for line in sys.argv[2].splitlines():
    m = re.match(r"^ *[0-9.]+% +[0-9.]+% +([0-9]+)  +[▾▸ ] (\S+) ", line)
    if m:
        shown.setdefault(m.group(2), int(m.group(1)))
assert "burn_three" in shown, shown
# The frames the graph has once (a stack cut short may add another).
compared = [n for n in ("__clone3", "spinner_main", "burn_three") if n in shown and seen.get(n) == 1]
assert compared, (shown, seen)
for name in compared:
    assert frames[name] == shown[name], (name, frames[name], shown[name])
PY
keys z
wait_screen_not 'FROZEN' "following again"

# p: the callers of burn_three, from it out to the thread's start, as the
# target's source has them (spinner_main calls it, in a thread).
keys 2 / b u r n _ t h r e e Enter
wait_screen 'burn_three \(classes.c' "the search in the list"
keys p
wait_screen 'view: Cpu callers of burn_three' "the callers"
tree_names | head -4 > "$tmpdir/callers"
printf '%s\n' burn_three spinner_main start_thread __clone3 | cmp -s - "$tmpdir/callers" ||
	fail "the callers of burn_three are not spinner_main, start_thread, __clone3: $(screen)"
keys Escape
wait_screen 'view: Cpu list by self' "back from the callers"
keys q
wait_screen 'EXITED 0' "quitting"
assert_running "$TARGET_PID"

# A deep tree, 30 to 60 calls: v, Tab, Shift-Tab, v follows the hot spot
# again, and its roots stay on the screen (the first row is a root).
coproc WL { "$top_builddir/tests/bench/bench-workload" deep 1; }
bg_pids="$bg_pids $WL_PID"
read -r -u "${WL[0]}" ready wl_pid _ || fail "the workload did not start"
[ "$ready" = ready ] || fail "the workload did not start: $ready"
bg_pids="$bg_pids $wl_pid"
view 80 24 "$wl_pid"
wait_screen 'deep_a' "the deep tree"
keys v
wait_screen 'view: Cpu list' "the list"
keys Tab
keys BTab
keys v
wait_screen 'view: Cpu tree' "the tree again"
sleep 1.5
first=$(screen | sed -n '/total%  *self%/{n;p;q}')
printf '%s\n' "$first" | grep -qE '^ *[0-9.]+% +[0-9.]+% +[0-9]+  [▾▸ ] (__clone3|start_thread|_start) ' ||
	fail "the tree's first row is not a root: $(screen)"
keys q
wait_screen 'EXITED 0' "quitting the deep tree"
echo quit >&"${WL[1]}"

# The process exits (on its own, then killed): the view keeps its last
# profile past the 5 s window, marked ENDED with the status the shell's
# wait reports.
"$TARGETS/target-exit" 8000 &
ex=$!
view 80 24 "$ex"
wait_screen 'spin \(exit.c' "the exiting target's spinner"
wait "$ex"
rc=$?
[ "$rc" = 0 ] || fail "target-exit exited $rc"
wait_screen "ENDED: exit status $rc" "the exit status in the header"
sleep 6
screen | grep -q 'spin (exit.c' || fail "6 s after the exit, the profile is gone: $(screen)"
screen | grep -q "ENDED: exit status $rc" || fail "the ENDED mark went away: $(screen)"
keys q
wait_screen 'EXITED 0' "quitting after the exit"

start_classes
view 160 45 "$TARGET_PID"
wait_screen 'burn_three' "the view of a target to kill"
kill -KILL "$TARGET_PID"
wait "$TARGET_PID" 2> /dev/null
rc=$?
sig=$(kill -l "$rc")
[ "$sig" = KILL ] || fail "the shell says the target ended with $rc ($sig)"
wait_screen "ENDED: killed by SIG$sig" "the signal in the header"
sleep 6
screen | grep -q 'burn_three (classes.c' || fail "6 s after the kill, the profile is gone: $(screen)"
keys q
wait_screen 'EXITED 0' "quitting after the kill"
