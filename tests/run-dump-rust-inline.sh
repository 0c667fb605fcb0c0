#!/bin/bash
# Rust: the frames inlined into the spinner (iterator adaptors, mix,
# rotate_left) and the main thread (JoinHandle::join into rsprog::main),
# and every other pc of the program, show the chain binutils' addr2line -i
# gives: rustc puts its functions inside namespace DIEs, where libdw's
# dwarf_getscopes never looks.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v addr2line > /dev/null || skip "addr2line (binutils) is not installed"
command -v c++filt > /dev/null || skip "c++filt (binutils) is not installed"
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"

check() { python3 "$top_srcdir/tests/check-addr2line.py" "$@"; }

start_rust
found=
for i in $(seq 1 40); do
	"$SIPROF" dump --json "$TARGET_PID" > "$tmpdir/out.json" 2> "$tmpdir/err" ||
		fail "siprof dump exited with $?: $(cat "$tmpdir/err")"
	check "$tmpdir/out.json" target-rust "$TARGETS/target-rust" --names rust > "$tmpdir/check" ||
		fail "$(cat "$tmpdir/check")"
	# The spinner's pc is in mix (inlined into the closure of spin_round)
	# most of the time, not always.
	if check "$tmpdir/out.json" target-rust "$TARGETS/target-rust" --names rust \
		--inlined join:main --inlined mix:spin_round > "$tmpdir/check" 2>&1; then
		found=1
		break
	fi
done
[ -n "$found" ] || fail "no dump in $i shows the expected inlined frames: $(cat "$tmpdir/check")"
echo "$(cat "$tmpdir/check")"
# At least the spinner's chain down from spin_round (rotate_left,
# rotate_left, mix, the closure, map_fold's closure, fold, fold).
n=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = [t for t in d["threads"] if t["name"] == "spinner"][0]
print(sum(1 for f in t["frames"] if f["inlined"]))' "$tmpdir/out.json")
[ "$n" -ge 5 ] || fail "the spinner shows $n inlined frames"
assert_running "$TARGET_PID"
