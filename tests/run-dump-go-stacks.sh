#!/bin/bash
# The Go target's goroutine in main.bigFrame (a 65,664-byte frame under
# main.deep x4, blocked in read) does not fit in the default 64 KiB stack
# copy: dump copies that thread again with more room, and its stack must be
# gdb's, frame by frame, down to runtime.goexit; record grows that
# thread's copies from one tick to the next, so its samples hold gdb's
# stack too.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "no python3"
start_go

# The thread blocked in read(2) of the pipe (fd 3).
tid=
i=0
while [ -z "$tid" ]; do
	for t in /proc/$TARGET_PID/task/*; do
		grep -q '^0 0x3 ' "$t/syscall" 2> /dev/null && tid=${t##*/}
	done
	[ -n "$tid" ] || [ $i -lt 100 ] || fail "no thread of $TARGET_PID is in read(3, ...)"
	sleep 0.1; i=$((i + 1))
done

gdb_bt "$TARGET_PID" "$tmpdir/gdb"
grep -q 'main.bigFrame' "$tmpdir/gdb" || fail "gdb does not show main.bigFrame: $(cat "$tmpdir/gdb")"
"$SIPROF" dump --json "$TARGET_PID" > "$tmpdir/dump.json" 2> "$tmpdir/err" ||
	fail "dump exited with $?: $(cat "$tmpdir/err")"
python3 "$top_srcdir/tests/gdb-stack-compare.py" "$tmpdir/gdb" "$tmpdir/dump.json" "$tid" > "$tmpdir/cmp" ||
	fail "the bigFrame thread's stack is not gdb's: $(cat "$tmpdir/cmp")"
cat "$tmpdir/cmp"
[ "$(grep -c 'ok gdb.*main.deep' "$tmpdir/cmp")" = 4 ] ||
	fail "the bigFrame thread's stack lacks the four main.deep frames: $(cat "$tmpdir/cmp")"
grep -q 'ok gdb.*runtime.goexit' "$tmpdir/cmp" ||
	fail "the bigFrame thread's stack does not reach runtime.goexit: $(cat "$tmpdir/cmp")"

# record does the same from one tick to the next: after the first cut
# stack, the thread's copies are larger, and its samples hold gdb's stack.
"$SIPROF" record -d 2 -o "$tmpdir/s.siprof" -p "$TARGET_PID" > "$tmpdir/rec.out" 2>&1 ||
	fail "record exited with $?: $(cat "$tmpdir/rec.out")"
"$SIPROF" export -f folded -c wall -o "$tmpdir/folded" "$tmpdir/s.siprof" ||
	fail "export exited with $?"
grep 'main.bigFrame' "$tmpdir/folded" > "$tmpdir/big" || fail "no sample in main.bigFrame: $(cat "$tmpdir/folded")"
# gdb's frames under main.bigFrame, outermost first, as folded stacks read.
whole=$(awk '/^#/ && / in / { sub(/ \(.*/, ""); print $NF }' "$tmpdir/gdb" |
	sed -n '/^main.bigFrame$/,$p' | head -6 | tac | paste -sd';')
all=$(awk '{ n += $NF } END { print n + 0 }' "$tmpdir/big")
good=$(grep -F "$whole" "$tmpdir/big" | grep 'runtime.goexit' | awk '{ n += $NF } END { print n + 0 }')
echo "record: $good of $all samples in main.bigFrame have gdb's stack ($whole) down to runtime.goexit"
[ "$all" -gt 0 ] && [ $((good * 10)) -ge $((all * 8)) ] ||
	fail "record: only $good of $all samples in main.bigFrame have gdb's stack: $(cat "$tmpdir/big")"
