#!/bin/bash
# The bash completion (contrib/siprof.bash-completion) offers what siprof
# itself takes: for every command the options its --help lists (and only
# those), the running processes where a PID goes, session files where a
# session goes, the classes and formats siprof accepts. The completion
# function is called the way bash calls it, with COMP_WORDS and COMP_CWORD
# set; then once in an interactive bash through tmux, where bash itself
# splits the line.
. "$(dirname "$0")/test-subr.sh"
COMPLETION=$top_srcdir/contrib/siprof.bash-completion
[ -f "$COMPLETION" ] || fail "no $COMPLETION"

# complete WORD...: what the completion offers for the command line WORD...
# (the last word is the one being completed), one a line, sorted.
complete_words() {
	bash -c '
		. "$0" || exit 1
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_siprof
		printf "%s\n" "${COMPREPLY[@]}"' "$COMPLETION" "$SIPROF" "$@" 2> "$tmpdir/complete.err" |
		grep . | sort -u
	[ ! -s "$tmpdir/complete.err" ] || fail "completing '$*' printed errors: $(cat "$tmpdir/complete.err")"
}
# offers WHAT EXPECTED WORD...: the completion of WORD... includes EXPECTED.
offers() {
	local what=$1 expected=$2
	shift 2
	complete_words "$@" > "$tmpdir/got"
	grep -qxF -- "$expected" "$tmpdir/got" ||
		fail "$what: completing '$*' does not offer '$expected' but: $(tr '\n' ' ' < "$tmpdir/got")"
}

# The commands: those of siprof --help's list.
"$SIPROF" --help | awk '/^Commands:/ {on = 1; next} on && /^$/ {exit} on {print $1}' | sort > "$tmpdir/commands"
[ "$(wc -l < "$tmpdir/commands")" -ge 5 ] || fail "siprof --help lists no commands: $("$SIPROF" --help)"
complete_words "" | grep -vx help > "$tmpdir/got"
diff -u "$tmpdir/commands" "$tmpdir/got" || fail "the commands offered differ from siprof --help's (above)"
complete_words help "" > "$tmpdir/got"
diff -u "$tmpdir/commands" "$tmpdir/got" || fail "'siprof help' offers other than the commands (above)"
offers "the command record" record rec

# Every command's options: the long and short options its --help lists,
# read here with grep from the option lines (two spaces, then -x, or
# --long), against what '--' and '-' complete to.
while read -r cmd; do
	"$SIPROF" "$cmd" --help > "$tmpdir/help" || fail "siprof $cmd --help failed"
	grep -E '^  +-' "$tmpdir/help" | grep -oE -- '(^|[ ,])--[a-z][a-z0-9-]*' | tr -d ' ,' | sort -u > "$tmpdir/long"
	grep -E '^  +-[a-zA-Z0-9],' "$tmpdir/help" | sed -E 's/^ +(-[a-zA-Z0-9]),.*/\1/' | sort -u > "$tmpdir/short"
	[ -s "$tmpdir/long" ] || fail "siprof $cmd --help lists no options"
	complete_words "$cmd" -- | sed 's/=$//' > "$tmpdir/got"
	diff -u "$tmpdir/long" "$tmpdir/got" || fail "'siprof $cmd --<TAB>' differs from its --help (above)"
	complete_words "$cmd" - | grep -E '^-[^-]' > "$tmpdir/got"
	diff -u "$tmpdir/short" "$tmpdir/got" || fail "'siprof $cmd -<TAB>' differs from its --help's short options (above)"
	# An option that takes a value is offered with its '='.
	opt=$(grep -oE -- '--[a-z][a-z0-9-]*=' "$tmpdir/help" | head -n 1)
	[ -z "$opt" ] || offers "$cmd: an option with a value" "$opt" "$cmd" "${opt%?}"
	echo "siprof $cmd: $(wc -l < "$tmpdir/long") long and $(wc -l < "$tmpdir/short") short options, as --help lists them"
done < "$tmpdir/commands"
offers "record's duration" --duration= record --d

# PIDs: a process of this test's own, wherever its help says PID.
sleep 600 &
sleeper=$!
bg_pids="$bg_pids $sleeper"
offers "attach's PID" "$sleeper" attach "${sleeper%??}"
offers "dump's PID" "$sleeper" dump "$sleeper"
pid_opt=$("$SIPROF" record --help | sed -nE 's/^ +(-[a-z]), --[a-z-]+=PID[^ ]* .*/\1/p')
[ -n "$pid_opt" ] || fail "record --help has no option for a PID"
offers "record $pid_opt" "$sleeper" record "$pid_opt" ""
offers "record --pid=" "--pid=$sleeper" record "--pid=$sleeper"
# bash splits --pid=N at '=' (COMP_WORDBREAKS): the value comes alone.
offers "record --pid = N" "$sleeper" record --pid = "$sleeper"
complete_words attach "" | grep -vE '^[0-9]+$' > "$tmpdir/got"
[ ! -s "$tmpdir/got" ] || fail "attach offers more than PIDs: $(cat "$tmpdir/got")"

# Session files: *.siprof and directories, not other files.
mkdir "$tmpdir/cwd" "$tmpdir/cwd/older"
: > "$tmpdir/cwd/monday.siprof"
: > "$tmpdir/cwd/notes.txt"
for cmd in report export diff upload; do
	(cd "$tmpdir/cwd" && complete_words "$cmd" "") > "$tmpdir/got"
	printf '%s\n' monday.siprof older > "$tmpdir/want"
	diff -u "$tmpdir/want" "$tmpdir/got" || fail "'siprof $cmd <TAB>' offers other than sessions (above)"
done
(cd "$tmpdir/cwd" && complete_words diff monday.siprof "") > "$tmpdir/got"
grep -qx monday.siprof "$tmpdir/got" || fail "diff's second session is not completed"

# Classes where --help says CLASS, and formats where it says FORMAT, as
# siprof accepts them: each offered value is taken by the command.
for cmd in report attach export diff; do
	copt=$("$SIPROF" "$cmd" --help | grep -oE -- '--[a-z-]+=CLASS' | head -n 1)
	[ -n "$copt" ] || continue
	complete_words "$cmd" "${copt%=CLASS}" "" > "$tmpdir/classes"
	for c in cpu wall lock; do
		grep -qx "$c" "$tmpdir/classes" || fail "$cmd ${copt%=CLASS}: '$c' is not offered: $(tr '\n' ' ' < "$tmpdir/classes")"
	done
done
while read -r c; do
	"$SIPROF" report --class="$c" /nonexistent.siprof > /dev/null 2> "$tmpdir/err"
	! grep -q "class" "$tmpdir/err" || fail "class '$c' is offered, and refused: $(cat "$tmpdir/err")"
done < "$tmpdir/classes"
fopt=$("$SIPROF" export --help | sed -nE 's/^ +(-[a-zA-Z]), --[a-z-]+=FORMAT .*/\1/p')
[ -n "$fopt" ] || fail "export --help has no option for a FORMAT"
complete_words export "$fopt" "" > "$tmpdir/formats"
for f in pprof folded speedscope svg; do
	grep -qx "$f" "$tmpdir/formats" || fail "export $fopt: '$f' is not offered: $(tr '\n' ' ' < "$tmpdir/formats")"
done
offers "export --format=sv" --format=svg export --format=sv
echo "classes: $(tr '\n' ' ' < "$tmpdir/classes"); formats: $(tr '\n' ' ' < "$tmpdir/formats")"

# record -- COMMAND: a command from PATH.
offers "record -- COMMAND" sleep record -o x.siprof -- slee

# In bash itself: the line typed, TAB pressed, what bash puts on the line.
if command -v tmux > /dev/null; then
	tmux_init completion
	mkdir -p "$tmpdir/bin"
	ln -s "$SIPROF" "$tmpdir/bin/siprof"
	cat > "$tmpdir/bashrc" <<EOF
PS1='prompt\$ '
PATH=$tmpdir/bin:\$PATH
. '$COMPLETION'
EOF
	tm new-session -d -s completion -x 150 -y 20 "bash --noprofile --rcfile '$tmpdir/bashrc' -i"
	wait_screen 'prompt\$' "bash"
	# The character typed after TAB shows whether a space came with it.
	keys 'siprof record --dur' Tab 3
	wait_screen 'siprof record --duration=3$' "record --dur<TAB> in bash"
	keys C-u 'siprof export --format=spe' Tab x
	wait_screen 'siprof export --format=speedscope x$' "export --format=spe<TAB> in bash"
	keys C-u
	echo "in bash: --dur<TAB> gave --duration=, --format=spe<TAB> gave speedscope"
else
	skip_check tmux "the completion in an interactive bash"
fi
