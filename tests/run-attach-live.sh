#!/bin/bash
# The live view, driven as a person would in a terminal (tmux): the hot
# function shows, the tree folds, the Lock tab, a thread filter, search,
# pause, resize, help, writing a session, quitting; the help lists every
# key the footer shows, in every panel, and each panel's key shows the
# panel the help names; and --batch frames.
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
screen | grep -qE "^ siprof pid $TARGET_PID target-classes( |\$)" || fail "no header: $(screen)"
screen | grep -qE '(^|  )CPU +[0-9.]+% .* RSS [0-9.]+ MiB .* threads [0-9]+' || fail "no health line: $(screen)"
screen | grep -q '\[Cpu [0-9]*%\]' || fail "the CPU tab is not the active one: $(screen)"

# The tree: collapse all, then expand the hottest path again.
keys c
wait_screen_not 'burn_three' "c (collapse the tree)"
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
wait_screen 'view: threads' "the threads panel"
screen | sed -n '/all threads/{n;p;q}' | grep -qE '^ +[0-9]+ +spinner ' ||
	fail "the threads panel does not list the spinner first: $(screen)"
keys Down Enter
wait_screen 'thread: spinner' "the thread filter"

# Flat list and search.
keys v
wait_screen 'view: Cpu list by self' "the flat list"
keys / b u r n _ o n e Enter
wait_screen 'burn_one \(classes.c' "search"
wait_screen_not 'burn_three' "the search (filtering the list)"
keys Escape v

# Pause: the sample count stands still.
keys Space
wait_screen 'PAUSED' "pause"
n1=$(screen | sed -n 's/.*samples \([0-9]*\).*/\1/p' | head -1)
sleep 1.5
n2=$(screen | sed -n 's/.*samples \([0-9]*\).*/\1/p' | head -1)
[ -n "$n1" ] && [ "$n1" = "$n2" ] || fail "paused, but samples went from $n1 to $n2"
keys Space
wait_screen_not "samples $n2 " "resuming (the sample count moving on)"

# Resize: smaller and back; the screen is redrawn to fit.
tm resize-window -t live -x 90 -y 24
wait_screen_not '^.{91,}' "the redraw at 90 columns"
# The footer, drawn again for 24 lines, on the last.
i=0
until screen | sed -n 24p | grep -q '^q quit  ? help '; do
	[ $i -lt 100 ] || fail "no footer on line 24 after resizing: $(screen)"
	sleep 0.1
	i=$((i + 1))
done
screen | grep -q "^ siprof pid $TARGET_PID" || fail "no header after resizing: $(screen)"
widest=$(screen | python3 -c 'import sys; print(max(len(l.rstrip("\n")) for l in sys.stdin))')
[ "$widest" -le 90 ] || fail "a line of $widest characters on a 90-column terminal: $(screen)"
[ "$(screen | wc -l)" -le 24 ] || fail "more lines than the terminal has"
tm resize-window -t live -x 150 -y 40
sleep 0.5

# The keys, in every panel: the help lists every key the footer shows,
# and the help's key for each panel shows that panel ("view:" in the
# header, and the panel's own columns).
footer_keys() { # the keys of the footer (the last line): "q" for "q quit"
	screen | sed -n '$p' | sed 's/  \[search:.*//' | tr -s ' ' '\n' | awk 'NR % 2 == 1'
}
help_text() { # the help box, without what shows through at its left,
	# once the screen stands still (a capture can catch tmux mid-update)
	local a b i=0
	a=$(screen)
	while :; do
		sleep 0.2
		b=$(screen)
		[ "$a" = "$b" ] || [ $i -ge 25 ] && break
		a=$b
		i=$((i + 1))
	done
	# (By characters: the tree's rows at the left of the box have
	# multibyte ones.)
	printf '%s\n' "$b" | python3 -c '
import sys
x = None
for line in sys.stdin:
    line = line.rstrip("\n")
    if x is None and "siprof attach: keys" in line:
        x = line.index("siprof attach: keys")
    if x is not None:
        print(line[x:])'
}
wait_footer() { # until the last line is the keys (not a message)
	local i=0
	until screen | sed -n '$p' | grep -q '^q quit  ? help  '; do
		[ $i -lt 100 ] || fail "$1: no keys in the footer: $(screen)"
		sleep 0.1
		i=$((i + 1))
	done
}
columns_of() { # the column line each panel is known by
	case $1 in
	tree) echo 'total% +self% +samples +function' ;;
	list) echo 'self% +total% +samples +function' ;;
	classes) echo 'class +share +samples +threads' ;;
	threads) echo 'tid +thread +cpu share +samples' ;;
	memory) echo 'allocations are not profiled: attach with --alloc' ;; # no --alloc here
	*) fail "the help names a panel '$1' this test does not know" ;;
	esac
}
keys '?'
wait_screen 'siprof attach: keys' "help"
help_text > "$tmpdir/help"
keys x
wait_screen_not 'siprof attach: keys' "closing the help"
# "* 1  tree: ...": the panel keys the help gives, and the panels' names.
sed -n '/^panels:/,/^[a-z]/p' "$tmpdir/help" |
	sed -n 's/^[* ] \([^ ,]\{1,\}\)[^:]* \([a-z]\{1,\}\): .*/\1 \2/p' > "$tmpdir/panels"
[ "$(wc -l < "$tmpdir/panels")" = 5 ] || fail "the help does not list the five panels: $(cat "$tmpdir/help")"
while read -r key name <&3; do
	cols=$(columns_of "$name")
	keys "$key"
	wait_screen "view: ([A-Z][a-z]* )?$name" "key $key (the $name panel, as the help says)"
	wait_screen "^ *$cols" "the $name panel's columns"
	keys '?'
	wait_screen "siprof attach: keys \\($name panel\\)" "help in the $name panel"
	help_text > "$tmpdir/help.$name"
	keys x
	wait_screen_not 'siprof attach: keys' "closing the help"
	wait_footer "the $name panel"
	n=0
	for k in $(footer_keys); do
		n=$((n + 1))
		# A help line "  KEY[, KEY...]  what it does".
		re=$(printf '%s' "$k" | sed 's/[][\\.*+?^$/|(){}]/\\&/g')
		grep -qE "^[* ] ([^ ,]+, )*$re(, [^ ,]+)*  " "$tmpdir/help.$name" ||
			fail "the $name panel's footer shows '$k', which its help does not list: $(cat "$tmpdir/help.$name")"
	done
	[ $n -ge 6 ] || fail "the $name panel's footer shows only $n keys: $(screen | sed -n '$p')"
done 3< "$tmpdir/panels"
keys 1
wait_screen 'view: Cpu tree' "back to the tree"

# The classes panel picks a class: Enter on its lock row shows the tree
# of the Lock tab, with the thread waiting for the mutex (of all threads
# again, picked first in the threads panel).
keys t PPage Enter
wait_screen 'view: Cpu tree  thread: all' "all threads, picked in the threads panel"
keys 3 PPage
wait_screen 'view: classes' "the classes panel"
row=$(screen | sed -n '/^ *class  *share/,$p' | awk '$1 == "lock" { print NR - 2; exit }')
[ -n "$row" ] || fail "the classes panel has no lock row: $(screen)"
for _ in $(seq "$row"); do keys Down; done
keys Enter
wait_screen 'view: Lock tree' "Enter in the classes panel (back to the tree)"
wait_screen '\[Lock [0-9]*%\]' "the class picked in the classes panel"
wait_screen 'wait_for_lock' "the Lock tab's tree"

# Help, then writing a session file.
keys '?'
wait_screen 'siprof attach: keys' "help"
keys x
wait_screen_not 'siprof attach: keys' "closing the help"
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
wait_screen 'ENDED: exit status 0' "the process's exit (its SIGTERM handler exits 0)"
keys q
wait_screen 'EXITED 0' "quitting after the exit"
screen | grep -q "process $TARGET_PID (target-classes) exited" || fail "no word of the exit: $(screen)"

# The view keeps up with many threads at a high rate: 300 idle threads at
# 1000 Hz queue some 35,000 items a second for it (it took about 8,000
# when it read one batch per wait for a key). What it counted (the Wall
# tab since the start) is what the sampler took (the header's samples),
# but for the second at most that the figures are apart.
tm kill-session -t live
coproc WL { "$top_builddir/tests/bench/bench-workload" idle 300; }
bg_pids="$bg_pids $WL_PID"
read -r -u "${WL[0]}" ready wl_pid _ || fail "the workload did not start"
[ "$ready" = ready ] || fail "the workload did not start: $ready"
bg_pids="$bg_pids $wl_pid"
tm new-session -d -s live -x 150 -y 40 -c "$tmpdir" \
	"TERM=xterm-256color '$SIPROF' attach -r 1000 -c wall --window=all $wl_pid; echo EXITED \$?; sleep 60"
wait_screen 'idle_main' "the view of 300 idle threads" 300
sleep 5
taken=$(screen | sed -n 's/.* samples \([0-9]*\) .*/\1/p' | head -1)
counted=$(screen | sed -n 's/.*(of \([0-9]*\) thread-samples).*/\1/p' | head -1)
rate=$(screen | sed -n 's/.* rate 1000\/\([0-9]*\)\.[0-9] Hz .*/\1/p' | head -1)
echo "intake: $counted of $taken samples counted, at $rate ticks a second"
[ -n "$taken" ] && [ -n "$counted" ] && [ -n "$rate" ] || fail "no figures: $(screen)"
[ "$counted" -ge $((taken - 300 * rate * 3 / 2)) ] ||
	fail "the view counted $counted of $taken samples: it does not keep up: $(screen)"
screen | grep -q 'unwinding [0-9.]* s behind' && fail "the view fell behind: $(screen)"
keys q
wait_screen 'EXITED 0' "quitting the view of 300 threads"
echo quit >&"${WL[1]}"
tm kill-session -t live

# --batch: text frames; no terminal: a clear refusal.
start_classes
"$SIPROF" attach --batch --iterations=2 --delay=1 "$TARGET_PID" > "$tmpdir/batch" 2> "$tmpdir/err" ||
	fail "attach --batch failed: $(cat "$tmpdir/err")"
[ "$(grep -c "^siprof pid $TARGET_PID target-classes" "$tmpdir/batch")" = 2 ] || fail "not 2 frames: $(cat "$tmpdir/batch")"
grep -qE '^ +[0-9.]+% +[0-9.]+%  burn_three \(classes.c:[0-9]+\) \[target-classes\]$' "$tmpdir/batch" ||
	fail "no burn_three in the frames: $(cat "$tmpdir/batch")"
grep -q '^classes: cpu ' "$tmpdir/batch" || fail "no class shares in the frames"
"$SIPROF" attach "$TARGET_PID" < /dev/null > "$tmpdir/out" 2> "$tmpdir/err"
[ $? = 2 ] || fail "attach without a terminal did not exit 2"
grep -q "the live view needs a terminal; for text use 'siprof attach --batch --iterations=N $TARGET_PID'" "$tmpdir/err" ||
	fail "no clear message without a terminal: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
stop_chain > /dev/null
