#!/bin/bash
# Go: every frame of a Go program carries the function and file:line that
# binutils' addr2line -i gives for its pc (libdw alone finds no unit for
# it: Go writes no .debug_aranges), main.mix shows inlined into main.spin,
# and the same program built with -ldflags='-s -w' (no symbols, no DWARF)
# shows the same names, lines and inlined frames, read from .gopclntab.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v addr2line > /dev/null || skip "addr2line (binutils) is not installed"
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"

check() { python3 "$top_srcdir/tests/check-addr2line.py" "$@"; }

# run_go VARIANT: dumps of the Go target (VARIANT "" or -stripped), each
# checked against addr2line on the unstripped binary at the same offsets,
# until one shows the spinner inside main.mix (its hot loop is partly
# outside the inlined body).
run_go() {
	local module=target-go$1 i found=
	start_go $1
	for i in $(seq 1 40); do
		"$SIPROF" dump --json "$TARGET_PID" > "$tmpdir/out.json" 2> "$tmpdir/err" ||
			fail "$module: siprof dump exited with $?: $(cat "$tmpdir/err")"
		check "$tmpdir/out.json" "$module" "$TARGETS/target-go" --names go > "$tmpdir/check" ||
			fail "$module: $(cat "$tmpdir/check")"
		if check "$tmpdir/out.json" "$module" "$TARGETS/target-go" --names go \
			--inlined main.mix:main.spin > "$tmpdir/check" 2>&1; then
			found=1
			break
		fi
	done
	[ -n "$found" ] || fail "$module: main.mix never shown inlined into main.spin in $i dumps: $(cat "$tmpdir/check")"
	echo "$module: $(cat "$tmpdir/check")"
	grep -q 'no symbols' "$tmpdir/err" && fail "$module: warned of no symbols: $(cat "$tmpdir/err")"
	"$SIPROF" dump "$TARGET_PID" > "$tmpdir/out" 2> "$tmpdir/err" ||
		fail "$module: siprof dump exited with $?: $(cat "$tmpdir/err")"
	grep -q "main.bigFrame (goprog.go:$(grep -n 'syscall.Syscall(syscall.SYS_READ' \
		"$top_srcdir/tests/targets/goprog.go" | cut -d: -f1)) \[$module\]" "$tmpdir/out" ||
		fail "$module: main.bigFrame is not shown at its read: $(cat "$tmpdir/out")"
	assert_running "$TARGET_PID"
	kill -TERM "$TARGET_PID"
}

run_go ""

# The stripped twin is built from the same source by the same compiler:
# its text is laid out alike (same address and size), so addr2line on the
# unstripped binary is the reference for its offsets.
[ -x "$TARGETS/target-go-stripped" ] || skip "no stripped Go target"
text_of() { readelf -SW "$1" | awk '$2 == ".text" {print $4, $5, $6}'; }
[ "$(text_of "$TARGETS/target-go")" = "$(text_of "$TARGETS/target-go-stripped")" ] ||
	fail "the Go targets' text differs ($(text_of "$TARGETS/target-go") / $(text_of "$TARGETS/target-go-stripped")): addr2line cannot be the reference"
readelf -SW "$TARGETS/target-go-stripped" | grep -q '\.debug_info' && fail "target-go-stripped has DWARF"
run_go -stripped
