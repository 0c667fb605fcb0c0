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

# The exit codes in the man page are the ones src/cmd.h defines, each
# documented, none more.
load_exit_codes
awk '/^\.Sh EXIT STATUS/ {on = 1; next} on && /^\.Sh/ {on = 0} on && /^\.It [0-9]+$/ {print $2}' \
	"$MAN" | sort -n > "$tmpdir/man-codes"
for name in $EXIT_CODES; do
	eval "echo \$$name"
done | sort -n > "$tmpdir/codes"
[ -s "$tmpdir/man-codes" ] || fail "the man page has no EXIT STATUS list"
diff "$tmpdir/codes" "$tmpdir/man-codes" > "$tmpdir/codes.diff" ||
	fail "exit codes of src/cmd.h (<) and of EXIT STATUS in man/siprof.1 (>) differ: $(cat "$tmpdir/codes.diff")"

# The sampler defaults of src/cmd.h, as --help and the man page give them.
default_of() { sed -n "s/^#define $1 \([0-9][0-9]*\).*/\1/p" "$top_srcdir/src/cmd.h"; }
rate=$(default_of CMD_RATE_DEFAULT)
stack=$(default_of CMD_STACK_SIZE_DEFAULT_K)K
mem=$(default_of CMD_MAX_MEMORY_DEFAULT_M)M
[ "$rate" ] && [ "$stack" != K ] && [ "$mem" != M ] || fail "no sampler defaults found in src/cmd.h"
for c in attach record; do
	"$SIPROF" $c --help | grep -q -- "--rate=HZ .*(default $rate[,)]" || fail "$c --help: the default rate is not $rate"
	"$SIPROF" $c --help | grep -q -- "--stack-size=SIZE .*(default $stack)" || fail "$c --help: the default stack size is not $stack"
	"$SIPROF" $c --help | grep -A1 -- "--max-memory=SIZE" | grep -q "$mem)" || fail "$c --help: the default max memory is not $mem"
done
"$SIPROF" dump --help | grep -q -- "--stack-size=SIZE .*(default $stack," || fail "dump --help: the default stack size is not $stack"
grep -q "^Samples per second per thread (default $rate)\.\$" "$MAN" || fail "man: attach's default rate is not $rate"
grep -q "^Samples per second per thread, 1 to 1000 (default $rate," "$MAN" || fail "man: record's default rate is not $rate"
grep -q "^(default $stack; 4K to 8M" "$MAN" || fail "man: the default stack size is not $stack"
grep -q "(default $mem; 1M to 1024G" "$MAN" || fail "man: the default max memory is not $mem"
# The class every command shows unless -c says another, as src/cmd.h,
# --help and the man page give it.
cls=$(sed -n 's/^#define CMD_CLASS_DEFAULT_NAME "\([a-z]*\)".*/\1/p' "$top_srcdir/src/cmd.h")
[ "$cls" ] || fail "no default class found in src/cmd.h"
for c in attach report export diff; do
	"$SIPROF" $c --help | grep -A1 -- "--class=CLASS" | grep -q "$cls (default)\|(default $cls[;,)]" ||
		fail "$c --help: the default class is not $cls"
done
grep -A1 "^\.Cm $cls\$" "$MAN" | grep -q "^(the default)" || fail "man: report's default class is not $cls"

"$SIPROF" > /dev/null 2>&1; [ $? = "$EXIT_USAGE" ] || fail "no command: exit code is not $EXIT_USAGE"
"$SIPROF" frobnicate > /dev/null 2> "$tmpdir/err"; [ $? = "$EXIT_USAGE" ] || fail "unknown command: exit code is not $EXIT_USAGE"
grep -q "'frobnicate' is not a command" "$tmpdir/err" || fail "unknown command: no message"
"$SIPROF" dump --frobnicate 1 > /dev/null 2>&1; [ $? = "$EXIT_USAGE" ] || fail "unknown option: exit code is not $EXIT_USAGE"
"$SIPROF" --help > /dev/null; [ $? = "$EXIT_OK" ] || fail "--help: exit code is not $EXIT_OK"
exit 0
