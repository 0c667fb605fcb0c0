#!/bin/bash
# Rust names, legacy and v0 manglings: every frame of the Rust binary is
# named as gdb names it for the same thread, or, where siprof names it from
# its ELF symbol, as binutils' c++filt demangles that symbol with the hash
# hidden; never mangled, never with $LT$ escapes, a hash or .llvm.N. Go:
# the .abi0 suffix of ABI wrappers hidden (nm's symbol at the pc, less it).
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v nm > /dev/null && command -v c++filt > /dev/null || skip "binutils is not installed"
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"

# The ELF symbol over offset OFF of FILE, demangled by c++filt, its hash
# (legacy "::h0123...", v0 crate "[0123...]") hidden.
symbol_at() {
	nm -S --defined-only "$1" 2> /dev/null | python3 -c '
import sys
o = int(sys.argv[1])
for line in sys.stdin:
    f = line.split()
    if len(f) == 4 and f[2] in "tT" and int(f[0], 16) <= o < int(f[0], 16) + int(f[1], 16):
        print(f[3])
        break' "$2" | c++filt | sed -e 's/::h[0-9a-f]\{16\}$//' -e 's/\[[0-9a-f]*\]//g'
}

check_rust() {
	local variant=$1 bin base checked=0
	start_rust $variant
	bin=$(readlink -f "$TARGETS/target-rust$variant")
	base=$(load_base "$TARGET_PID" "$bin")
	gdb_bt "$TARGET_PID" "$tmpdir/gdb$variant"
	"$SIPROF" dump -v "$TARGET_PID" > "$tmpdir/dump$variant" 2> "$tmpdir/err" ||
		fail "dump exited with $?: $(cat "$tmpdir/err")"
	for task in /proc/"$TARGET_PID"/task/*; do
		tid=${task##*/}
		# The spinner runs: gdb and the dump see it at different pcs (its
		# inlined frames are checked against addr2line by run-dump-rust-inline).
		[ "$(cat "$task/comm" 2> /dev/null)" = spinner ] && continue
		gdb_names "$tmpdir/gdb$variant" "$tid" > "$tmpdir/gdb-names"
		dump_pcs "$tmpdir/dump$variant" "$tid" > "$tmpdir/pcs"
		while read -r pc name module; do
			[ "$module" = "target-rust$variant" ] || continue
			case $name in
			_R* | _ZN* | *'$LT$'* | *'$u7b$'* | *.llvm.* | *::h[0-9a-f]*[0-9a-f])
				fail "$variant: a raw or half-demangled Rust name: $name" ;;
			esac
			grep -qxF "$name" "$tmpdir/gdb-names" && { checked=$((checked + 1)); continue; }
			want=$(symbol_at "$bin" $((pc - base)))
			[ "$name" = "$want" ] ||
				fail "target-rust$variant: thread $tid frame at $pc is '$name': gdb has no such frame ($(tr '\n' '|' < "$tmpdir/gdb-names")) and c++filt says '$want'"
			checked=$((checked + 1))
		done < "$tmpdir/pcs"
	done
	[ $checked -ge 10 ] || fail "$variant: only $checked Rust frames compared"
	grep -qF 'std::thread::lifecycle::JoinInner<()>::join<()>' "$tmpdir/dump$variant" ||
		fail "$variant: JoinInner::join is not named as gdb names it"
	echo "target-rust$variant: $checked frames agree"
	kill -TERM "$TARGET_PID"
}
check_rust ""
check_rust -v0

start_go
"$SIPROF" dump "$TARGET_PID" > "$tmpdir/go.txt" 2> "$tmpdir/err" || fail "dump of the Go target exited with $?"
grep -q '\.abi0' "$tmpdir/go.txt" && fail "Go: an .abi0 suffix is shown: $(grep abi0 "$tmpdir/go.txt")"
nm "$TARGETS/target-go" | grep -q ' runtime\.futex\.abi0$' || skip "this Go has no runtime.futex.abi0 wrapper"
grep -qE '#[0-9]+ +runtime\.futex( \([^)]*\))? \[' "$tmpdir/go.txt" || fail "Go: runtime.futex (runtime.futex.abi0) is not shown: $(cat "$tmpdir/go.txt")"
assert_running "$TARGET_PID"
