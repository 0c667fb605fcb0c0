#!/bin/bash
# --help, help COMMAND, --version, usage errors, and every option in every
# help text documented in the man page.
. "$(dirname "$0")/test-subr.sh"
MAN="$top_srcdir/man/siprof.1"

"$SIPROF" --help > "$tmpdir/help" || fail "siprof --help failed"
grep -q '^usage: siprof' "$tmpdir/help" || fail "no usage line in --help"
commands=$(awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}' "$tmpdir/help")
[ -n "$commands" ] || fail "--help lists no commands"
"$SIPROF" --version | grep -q '^siprof [0-9]' || fail "--version prints no version"

for c in $commands; do
	"$SIPROF" help "$c" > "$tmpdir/h1" || fail "siprof help $c failed"
	"$SIPROF" "$c" --help > "$tmpdir/h2" || fail "siprof $c --help failed"
	cmp -s "$tmpdir/h1" "$tmpdir/h2" || fail "'siprof help $c' and 'siprof $c --help' differ"
	grep -q "^usage: siprof $c" "$tmpdir/h1" || fail "siprof $c --help has no usage line"
	grep -q "^\.Cm $c\$\|^\.It Cm $c" "$MAN" || fail "command $c is not in the man page"
	cat "$tmpdir/h1" >> "$tmpdir/all-help"
done
cat "$tmpdir/help" >> "$tmpdir/all-help"

# Every long and short option named in any help text is in siprof.1.
for opt in $(grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' "$tmpdir/all-help" | tr -d ' ,' | sort -u); do
	name=${opt#-}
	name=${name#-}
	grep -q "^\.Fl $name\b\|Fl $name\b\|Fl -$name\b\|\.It Fl -$name\b" "$MAN" ||
		fail "option $opt from --help is not documented in man/siprof.1"
done

# The exit codes in the man page match the ones siprof uses.
for code in 0 1 2 3 4 5 6 130; do
	grep -q "^\.It $code\$" "$MAN" || fail "exit code $code is not documented"
done

"$SIPROF" > /dev/null 2>&1; [ $? = 2 ] || fail "no command: exit code is not 2"
"$SIPROF" frobnicate > /dev/null 2> "$tmpdir/err"; [ $? = 2 ] || fail "unknown command: exit code is not 2"
grep -q "'frobnicate' is not a command" "$tmpdir/err" || fail "unknown command: no message"
"$SIPROF" dump --frobnicate 1 > /dev/null 2>&1; [ $? = 2 ] || fail "unknown option: exit code is not 2"
exit 0
