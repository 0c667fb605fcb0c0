#!/bin/bash
# The live view's keys as a person with readline and htop habits types
# them, at 80x24: the file prompt edits with Ctrl-U, Ctrl-W, Ctrl-A/E and
# cancels with Esc (nothing written); j/k move the cursor, F1 is help,
# F3 search, F5 the list, F10 quits; the wheel moves the cursor, a click
# puts it on a row, a click on a class tab shows the class. NO_COLOR gives a screen without a colour (the
# cursor row in reverse video); TERM=dumb, which cannot move the cursor,
# gets text frames without a single escape sequence.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_classes
cd "$tmpdir" || fail "no tmpdir"
tmux_init live

# view W H [ENV...]: the live view in a new W x H terminal.
view() {
	local w=$1 h=$2
	shift 2
	tm kill-session -t live 2> /dev/null
	tm new-session -d -s live -x "$w" -y "$h" -c "$tmpdir" \
		"env TERM=xterm-256color $* '$SIPROF' attach $TARGET_PID; echo EXITED \$?; sleep 60"
	wait_screen "^ siprof pid $TARGET_PID " "the live view" 300
}
# The prompt's text, and where the terminal's cursor is in it (tmux's
# cursor column less the label's length).
prompt() { screen | sed -n '$p' | sed 's/^write the session to: \{0,1\}//'; }
cursor_at() { echo $(($(tm display -p -t live '#{cursor_x}') - ${#1})); }
# The screen's attributes, as tmux keeps them.
attrs() { tm capture-pane -p -e -t live; }
# The row (1-based, of the screen) in reverse video below the column
# header: the cursor's.
cursor_row() {
	attrs | python3 -c '
import re, sys
body = False
for n, line in enumerate(sys.stdin, 1):
    if not body:
        body = "total%" in line or "self%" in line
        continue
    for m in re.finditer(r"\x1b\[([0-9;]*)m", line):
        if "7" in m.group(1).split(";"):
            print(n)
            sys.exit(0)
sys.exit(1)' || fail "no row in reverse video: $(attrs | cat -v)"
}

view 80 24 NO_COLOR=1
wait_screen 'burn_three' "the hot function"

# NO_COLOR: no colour anywhere (the terminal's default colours only).
attrs | python3 -c '
import re, sys
bad = set()
for line in sys.stdin:
    for m in re.finditer(r"\x1b\[([0-9;]*)m", line):
        for p in m.group(1).split(";"):
            if p and p not in ("39", "49") and (p in ("38", "48") or 30 <= int(p) <= 37 or 40 <= int(p) <= 47 or 90 <= int(p) <= 107):
                bad.add(p)
sys.exit(1 if bad else 0)' || fail "NO_COLOR, but colours on the screen: $(attrs | cat -v)"

# The write prompt: Ctrl-U clears the name offered, Ctrl-W takes back a
# word, Ctrl-A and Ctrl-E go to the start and the end, and the cursor is
# where the typing goes.
label='write the session to: '
keys w
wait_screen "^${label}siprof-$TARGET_PID-" "the write prompt"
keys C-u
[ -z "$(prompt)" ] || fail "Ctrl-U did not clear the prompt: '$(prompt)'"
[ "$(cursor_at "$label")" = 0 ] || fail "after Ctrl-U the cursor is not at the start: $(cursor_at "$label")"
keys -l 'out/first second'
[ "$(prompt)" = 'out/first second' ] || fail "typed 'out/first second', the prompt shows '$(prompt)'"
keys C-w
# (The screen shows no trailing space; the cursor says it is there.)
[ "$(prompt)" = 'out/first' ] && [ "$(cursor_at "$label")" = 10 ] ||
	fail "Ctrl-W left '$(prompt)' with the cursor at $(cursor_at "$label"), not 'out/first ' and 10"
keys C-a
[ "$(cursor_at "$label")" = 0 ] || fail "Ctrl-A: the cursor is at $(cursor_at "$label"), not the start"
keys -l 'x'
keys C-e
keys -l 'y'
[ "$(prompt)" = 'xout/first y' ] || fail "Ctrl-A x Ctrl-E y gave '$(prompt)', not 'xout/first y'"
[ "$(cursor_at "$label")" = 12 ] || fail "the cursor is at $(cursor_at "$label"), not after the 12 characters"
# Esc cancels: nothing is written.
keys Escape
wait_screen_not "^$label" "Esc in the prompt"
ls "$tmpdir" | grep -q 'first' && fail "Esc wrote a file: $(ls "$tmpdir")"
# And a name typed whole is written, and is a session report can read.
keys w C-u
keys -l 'typed.siprof'
keys Enter
wait_screen 'wrote typed.siprof' "writing the session typed"
"$SIPROF" report --json "$tmpdir/typed.siprof" > "$tmpdir/typed.json" ||
	fail "the session written cannot be read"
json_check "$tmpdir/typed.json" 'assert doc["context"]["comm"] == "target-classes", doc["context"]'

# j and k move the cursor, as Down and Up do: from the leaf of the hottest
# path (e), up two rows and down one.
keys c
wait_screen_not 'burn_three' "collapsing the tree"
keys e
wait_screen 'burn_(three|one)' "expanding the hottest path"
sleep 0.5
r0=$(cursor_row)
keys k
r1=$(cursor_row)
keys k
r2=$(cursor_row)
keys j
r3=$(cursor_row)
[ "$r1" = $((r0 - 1)) ] && [ "$r2" = $((r0 - 2)) ] && [ "$r3" = "$r1" ] ||
	fail "k k j moved the cursor row $r0 -> $r1 -> $r2 -> $r3: $(screen)"

# The mouse (SGR reports, as xterm sends them): the wheel down moves the
# cursor 3 rows, a click puts it on the row clicked.
wheel() { tm send-keys -t live -l $'\e[<'"$1"';10;'"$2"'M'; sleep 0.4; }
click() { tm send-keys -t live -l $'\e[<0;10;'"$1"'M'$'\e[<0;10;'"$1"'m'; sleep 0.4; }
keys e
sleep 0.5
click 6
[ "$(cursor_row)" = 6 ] || fail "a click on row 6 put the cursor on row $(cursor_row): $(screen)"
wheel 65 6
[ "$(cursor_row)" = 9 ] || fail "the wheel down from row 6 put the cursor on row $(cursor_row): $(screen)"
wheel 64 6
[ "$(cursor_row)" = 6 ] || fail "the wheel up put the cursor on row $(cursor_row): $(screen)"

# A click on a class tab shows that class (the tabs are the 4th line at
# 80 columns).
clickat() { tm send-keys -t live -l $'\e[<0;'"$1"';'"$2"'M'$'\e[<0;'"$1"';'"$2"'m'; sleep 0.4; }
col=$(screen | sed -n 4p | python3 -c 'import sys; print(sys.stdin.read().index(" Wall ") + 2)')
clickat "$col" 4
wait_screen '\[Wall\]' "a click on the Wall tab"
col=$(screen | sed -n 4p | python3 -c 'import sys; print(sys.stdin.read().index("Cpu") + 1)')
clickat "$col" 4
wait_screen '\[Cpu [0-9]+%\]' "a click on the Cpu tab"

# F-keys as htop has them: F1 help, F3 search, F5 the list, F10 quit.
keys F1
wait_screen 'siprof attach: keys' "F1 (help)"
# At 24 lines it scrolls: PgDn to its end, where the movement keys are.
keys NPage NPage
screen | grep -q 'j, k  *down, up' || fail "the help, scrolled down, does not list j, k: $(screen)"
keys x
wait_screen_not 'siprof attach: keys' "closing the help"
keys F5
wait_screen 'view: Cpu list by self' "F5 (the list)"
keys F3
wait_screen '^search:' "F3 (search)"
keys Escape
keys F10
wait_screen 'EXITED 0' "F10 (quit)"
assert_running "$TARGET_PID"

# TERM=dumb: text frames, not a screen of escape sequences. What the
# terminal received is logged from its first byte (pipe-pane).
tm kill-session -t live
tm new-session -d -s live -x 80 -y 24 -c "$tmpdir" "sleep 1; TERM=dumb '$SIPROF' attach $TARGET_PID; echo EXITED \$?; sleep 60"
tm pipe-pane -t live -o "cat > '$tmpdir/dumb.raw'"
wait_screen 'burn_three \(classes.c' "the text frames on a dumb terminal" 300
sleep 1.5
keys q Enter
wait_screen 'EXITED 0' "q and Enter on a dumb terminal"
grep -q 'cannot show the live view; text frames follow' "$tmpdir/dumb.raw" ||
	fail "no word of the text frames: $(cat -v "$tmpdir/dumb.raw" | head -5)"
grep -c '^siprof pid ' "$tmpdir/dumb.raw" | grep -qv '^0$' || fail "no frame: $(cat -v "$tmpdir/dumb.raw" | head)"
if LC_ALL=C grep -q $'\e' "$tmpdir/dumb.raw"; then
	fail "TERM=dumb got escape sequences: $(LC_ALL=C grep -n $'\e' "$tmpdir/dumb.raw" | head -3 | cat -v)"
fi
assert_running "$TARGET_PID"
