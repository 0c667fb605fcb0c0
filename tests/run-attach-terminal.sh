#!/bin/bash
# The live view gives the terminal back however it ends, in a terminal
# (tmux) as a person would end it: Ctrl-\ (SIGQUIT, which kills siprof),
# SIGTERM, SIGHUP and SIGUSR1 from another terminal; afterwards `stty -a` in
# the same terminal shows echo, icanon and ixon as they were, and tmux says
# the alternate screen was left. Ctrl-S is only a key (no flow control): q
# after it still quits. A target whose names carry escape sequences never
# retitles the terminal.
. "$(dirname "$0")/test-subr.sh"
need_ptrace

STATE=$tmpdir/names
mkdir -p "$STATE"
"$TARGETS/target-names" "$STATE" &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$STATE/ready"
cd "$tmpdir" || fail "no tmpdir"

tmux_init live

# start_view NAME: the live view in a new terminal; when siprof ends, the
# shell says how and writes the terminal's modes to $tmpdir/stty.NAME. The
# shell catches SIGQUIT (as an interactive one ignores it) so that it
# outlives a Ctrl-\; siprof starts with the default action.
start_view() {
	tm kill-session -t live 2> /dev/null
	tm new-session -d -s live -x 150 -y 40 -c "$tmpdir" \
		"trap : QUIT; ulimit -c 0; TERM=xterm-256color '$SIPROF' attach $TARGET_PID; echo EXITED \$?; stty -a > '$tmpdir/stty.$1'; sleep 60"
	# Starting takes longer on a loaded machine than anything after it.
	wait_screen "^ siprof pid $TARGET_PID " "the live view ($1)" 300
	[ "$(tm display -p -t live '#{alternate_on}')" = 1 ] || fail "the live view is not on the alternate screen"
	VIEW_PID=$(pgrep -P "$(tm display -p -t live '#{pane_pid}')" -x siprof)
	[ -n "$VIEW_PID" ] || fail "no siprof process in the terminal"
}

# terminal_back NAME: the terminal is as it was before the live view.
terminal_back() {
	local m
	wait_file "$tmpdir/stty.$1"
	for m in echo icanon ixon isig; do
		grep -qE "(^| )$m( |\$)" "$tmpdir/stty.$1" ||
			fail "$1: the terminal was left without $m: $(cat "$tmpdir/stty.$1")"
	done
	[ "$(tm display -p -t live '#{alternate_on}')" = 0 ] || fail "$1: the terminal was left on the alternate screen"
	screen | grep -q 'burn\|spinner_main\|pause' && fail "$1: the live view's screen was not cleared: $(screen)"
	case "$(tm display -p -t live '#{pane_title}')" in
	*pwned* | *sym*) fail "$1: a name retitled the terminal" ;;
	esac
	assert_running "$TARGET_PID"
}

# The names show escaped in the header and the threads panel.
start_view ctrl-s
screen | grep -qF "siprof pid $TARGET_PID \\x1b]0;pwned\\x07 " || fail "the header does not show the name escaped: $(screen)"
keys t
wait_screen 'view: threads' "the threads panel"
screen | grep -qF '\x1b[2J\x1b[H' || fail "the threads panel does not show the name escaped: $(screen)"
keys Escape
# Ctrl-S is a key: no flow control while the view runs, so drawing goes on
# and q quits.
tty=$(tm display -p -t live '#{pane_tty}')
stty -a -F "$tty" | grep -qE '(^| )-ixon( |$)' || fail "flow control is on in the live view: $(stty -a -F "$tty")"
keys C-s
sleep 1.5
keys q
wait_screen 'EXITED 0' "q after Ctrl-S"
terminal_back ctrl-s

# Ctrl-\ kills siprof (SIGQUIT); the terminal comes back, the target was
# detached and runs on.
start_view quit
keys 'C-\'
wait_screen 'EXITED 131' "Ctrl-\\"
screen | grep -q 'siprof: killed by a signal; any process it traced was detached and keeps running' ||
	fail "no word of the kill: $(screen)"
terminal_back quit

# Stop requests and another fatal signal, from another terminal.
for sig in TERM HUP USR1; do
	start_view "$sig"
	kill -"$sig" "$VIEW_PID"
	wait_screen 'EXITED [0-9]+' "SIG$sig"
	case $sig in
	TERM | HUP) screen | grep -q 'EXITED 0' || fail "SIG$sig is a stop request, not an error: $(screen)" ;;
	USR1) screen | grep -q 'EXITED 138' || fail "SIGUSR1 did not kill siprof as it would by default: $(screen)" ;;
	esac
	terminal_back "$sig"
done
