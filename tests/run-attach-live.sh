#!/bin/bash
# The live view, driven as a person would in a terminal (tmux): the hot
# function shows, the tree folds, the Lock tab, a thread filter, search,
# pause, resize, help, writing a session, quitting; and --batch frames.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_classes
cd "$tmpdir" || fail "no tmpdir"

tmux_init live

start=$(date +%s.%N)
tm new-session -d -s live -x 150 -y 40 -c "$tmpdir" \
	"TERM=xterm-256color '$SIPROF' attach $TARGET_PID; echo EXITED \$?; sleep 60"
wait_screen 'burn_three \(classes.c:[0-9]+\) \[target-classes\]' "the hot function"
echo "the hot function showed after $(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo '?') s"
screen | grep -qE "^ siprof pid $TARGET_PID target-classes +up " || fail "no header: $(screen)"
screen | grep -qE '^CPU +[0-9.]+% .* RSS [0-9.]+ MiB .* threads [0-9]+ ' || fail "no health line: $(screen)"
screen | grep -q '\[Cpu [0-9]*%\]' || fail "the CPU tab is not the active one: $(screen)"

# The tree: collapse all, then expand the hottest path again.
keys c
screen | grep -q 'burn_three' && fail "c did not collapse the tree: $(screen)"
screen | grep -q '__clone3' || fail "the collapsed tree lost its root: $(screen)"
keys e
# Down to a leaf of the hottest path, whichever busy thread it is now.
wait_screen '^ *[0-9.]+% +[0-9.]+% +[0-9]+ +      .*(burn_three|burn_one|fsync)' "e (expand the hottest path)"

# Lock tab: the thread waiting for the mutex.
for i in 1 2 3 4 5 6 7; do
	screen | grep -q '\[Lock [0-9]*%\]' && break
	keys Tab
done
screen | grep -q '\[Lock [0-9]*%\]' || fail "Tab never reached the Lock tab: $(screen)"
keys e
wait_screen 'wait_for_lock' "the Lock tab"

# Back to CPU; pick the busiest thread from the list.
keys BTab
for i in 1 2 3 4 5 6 7; do
	screen | grep -q '\[Cpu [0-9]*%\]' && break
	keys BTab
done
keys t
wait_screen 'pick a thread' "the thread picker"
screen | grep -qE '^ +[0-9]+ +spinner ' || fail "the picker does not list the spinner first: $(screen)"
keys Down Enter
wait_screen 'thread: spinner' "the thread filter"

# Flat list and search.
keys v
wait_screen 'view: functions by self' "the flat list"
keys / b u r n _ o n e Enter
wait_screen 'burn_one \(classes.c' "search"
screen | grep -q 'burn_three' && fail "the search did not filter the list: $(screen)"
keys Escape v

# Pause: the sample count stands still.
keys Space
wait_screen 'PAUSED' "pause"
n1=$(screen | sed -n 's/.*samples \([0-9]*\).*/\1/p' | head -1)
sleep 1.5
n2=$(screen | sed -n 's/.*samples \([0-9]*\).*/\1/p' | head -1)
[ -n "$n1" ] && [ "$n1" = "$n2" ] || fail "paused, but samples went from $n1 to $n2"
keys Space
sleep 1.5
n3=$(screen | sed -n 's/.*samples \([0-9]*\).*/\1/p' | head -1)
[ "$n3" -gt "$n2" ] || fail "resumed, but samples stayed at $n3"

# Resize: smaller and back; the screen is redrawn to fit.
tm resize-window -t live -x 90 -y 24
sleep 1.2
screen | grep -q "^ siprof pid $TARGET_PID" || fail "no header after resizing: $(screen)"
widest=$(screen | python3 -c 'import sys; print(max(len(l.rstrip("\n")) for l in sys.stdin))')
[ "$widest" -le 90 ] || fail "a line of $widest characters on a 90-column terminal: $(screen)"
[ "$(screen | wc -l)" -le 24 ] || fail "more lines than the terminal has"
tm resize-window -t live -x 150 -y 40
sleep 0.5

# Help, then writing a session file.
keys '?'
wait_screen 'siprof attach: keys' "help"
keys x
screen | grep -q 'siprof attach: keys' && fail "help did not close"
keys w
wait_screen 'write the session to: siprof-' "the write prompt"
keys Enter
wait_screen 'wrote siprof-[0-9]+-[0-9-]+\.siprof' "writing the session"
written=$(ls "$tmpdir"/siprof-*.siprof | head -1)
"$SIPROF" report --json "$written" > "$tmpdir/w.json" || fail "the written session cannot be read"
json_check "$tmpdir/w.json" 'assert doc["context"]["comm"] == "target-classes" and doc["functions"], doc'

# Quit: the terminal is restored, siprof detaches, the target runs on.
keys q
wait_screen 'EXITED 0' "quitting"
screen | grep -q "detached from process $TARGET_PID (target-classes), which keeps running" ||
	fail "no word of detaching: $(screen)"
screen | grep -q 'burn_three' && fail "the live view's screen was not cleared on exit"
sleep 0.2
assert_running "$TARGET_PID"

# Ctrl-C ends it the same way.
tm kill-session -t live
tm new-session -d -s live -x 150 -y 40 -c "$tmpdir" \
	"TERM=xterm-256color '$SIPROF' attach $TARGET_PID; echo EXITED \$?; sleep 60"
wait_screen 'burn_three' "the second view"
keys C-c
wait_screen 'EXITED 0' "Ctrl-C"
assert_running "$TARGET_PID"

# The terminal goes away (SIGHUP): siprof detaches, the target runs on,
# and --record kept everything seen in a session file.
tm kill-session -t live
tm new-session -d -s live -x 150 -y 40 -c "$tmpdir" \
	"TERM=xterm-256color '$SIPROF' attach --record '$tmpdir/live.siprof' $TARGET_PID; sleep 60"
wait_screen 'burn_three' "the view with --record"
sleep 1.5
tm kill-session -t live
i=0
while pgrep -f "attach --record $tmpdir/live.siprof" > /dev/null; do
	[ $i -lt 50 ] || fail "siprof did not end when its terminal closed"
	sleep 0.1
	i=$((i + 1))
done
assert_running "$TARGET_PID"
"$SIPROF" report --json "$tmpdir/live.siprof" > "$tmpdir/live.json" ||
	fail "the --record file of a view whose terminal closed cannot be read"
json_check "$tmpdir/live.json" '
assert doc["context"]["comm"] == "target-classes", doc["context"]
assert any(f["function"] == "burn_three" for f in doc["functions"]), doc["functions"]
'

# The process exits while watched: the view says so, q leaves.
tm kill-session -t live
tm new-session -d -s live -x 150 -y 40 -c "$tmpdir" \
	"TERM=xterm-256color '$SIPROF' attach $TARGET_PID; echo EXITED \$?; sleep 60"
wait_screen 'burn_three' "the third view"
kill -TERM "$TARGET_PID"
wait_screen 'the process exited' "the process's exit"
keys q
wait_screen 'EXITED 0' "quitting after the exit"
screen | grep -q "process $TARGET_PID (target-classes) exited" || fail "no word of the exit: $(screen)"

# --batch: text frames; no terminal: a clear refusal.
start_classes
"$SIPROF" attach --batch -n 2 -d 1 "$TARGET_PID" > "$tmpdir/batch" 2> "$tmpdir/err" ||
	fail "attach --batch failed: $(cat "$tmpdir/err")"
[ "$(grep -c "^siprof pid $TARGET_PID target-classes" "$tmpdir/batch")" = 2 ] || fail "not 2 frames: $(cat "$tmpdir/batch")"
grep -qE '^ +[0-9.]+% +[0-9.]+%  burn_three \(classes.c:[0-9]+\) \[target-classes\]$' "$tmpdir/batch" ||
	fail "no burn_three in the frames: $(cat "$tmpdir/batch")"
grep -q '^classes: cpu ' "$tmpdir/batch" || fail "no class shares in the frames"
"$SIPROF" attach "$TARGET_PID" < /dev/null > "$tmpdir/out" 2> "$tmpdir/err"
[ $? = 2 ] || fail "attach without a terminal did not exit 2"
grep -q "the live view needs a terminal; for text use 'siprof attach --batch -n N $TARGET_PID'" "$tmpdir/err" ||
	fail "no clear message without a terminal: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
stop_chain > /dev/null
