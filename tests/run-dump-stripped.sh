#!/bin/bash
# A binary without symbols, then one without CFI either: the dump works,
# unnamed frames show as module+offset, a warning names the file, and the
# other modules (libc) are still named.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v strip > /dev/null || skip "strip (binutils) is not installed"

mkdir -p "$tmpdir/bin"
cp "$TARGETS/libplugin.so" "$tmpdir/bin/"
strip --strip-all -o "$tmpdir/bin/target-chain" "$TARGETS/target-chain"

run_stripped() {
	STATE=$tmpdir/state-$1
	mkdir -p "$STATE"
	"$tmpdir/bin/target-chain" "$STATE" &
	TARGET_PID=$!
	bg_pids="$bg_pids $TARGET_PID"
	wait_file "$STATE/ready"
	"$SIPROF" dump "$TARGET_PID" > "$tmpdir/out" 2> "$tmpdir/err" ||
		fail "$1: siprof dump exited with $?: $(cat "$tmpdir/err")"
	assert_running "$TARGET_PID"
	grep -q "warning: no symbols for $tmpdir/bin/target-chain build-id [0-9a-f]*: [0-9]* of its [0-9]* frames in this dump show as module+offset" "$tmpdir/err" ||
		fail "$1: no warning naming the binary: $(cat "$tmpdir/err")"
	thread_block "$tmpdir/out" worker | grep -q '#0 *target-chain+0x[0-9a-f]* \[target-chain\]$' ||
		fail "$1: the leaf is not module+offset: $(thread_block "$tmpdir/out" worker)"
	thread_block "$tmpdir/out" plugin | grep -q 'plugin_leaf (plugin.c:' ||
		fail "$1: the plugin library lost its names"
}

# Stripped, CFI kept: the stack still unwinds to the thread's start.
run_stripped symbols
frames "$tmpdir/out" worker | tail -2 > "$tmpdir/got"
compare "start_thread
__clone3" "$tmpdir/got" "the root of the stripped worker's stack"
thread_block "$tmpdir/out" worker | grep -q 'stack truncated' && fail "stripped: stack marked truncated"
kill -TERM "$TARGET_PID"

# No CFI either: never a crash, never an invented frame.
objcopy --remove-section=.eh_frame --remove-section=.eh_frame_hdr \
	"$tmpdir/bin/target-chain" "$tmpdir/bin/nocfi" || skip "objcopy cannot remove .eh_frame here"
mv "$tmpdir/bin/nocfi" "$tmpdir/bin/target-chain"
run_stripped cfi
[ "$(grep -c 'no symbols' "$tmpdir/err")" = 1 ] ||
	fail "no CFI: frames were attributed to other modules: $(cat "$tmpdir/err")"
grep -q '0xffff' "$tmpdir/out" && fail "no CFI: a garbage frame was shown: $(grep 0xffff "$tmpdir/out")"
for u in libunwind fp; do
	"$SIPROF" dump -u $u "$TARGET_PID" > "$tmpdir/out-$u" 2> "$tmpdir/err-$u" ||
		fail "no CFI, $u: exited with $?: $(cat "$tmpdir/err-$u")"
	grep -q '0xffff' "$tmpdir/out-$u" && fail "no CFI, $u: a garbage frame: $(grep 0xffff "$tmpdir/out-$u")"
done
assert_running "$TARGET_PID"
kill -TERM "$TARGET_PID"
