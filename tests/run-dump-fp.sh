#!/bin/bash
# Frame-pointer unwinding on the target built with frame pointers: exact as
# far as the chain goes (a frameless leaf hides its caller, and Debian's
# libc keeps no frame pointers), and never a frame that libdw does not see.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_chain -fp

"$SIPROF" dump -u fp "$TARGET_PID" > "$tmpdir/fp" 2> "$tmpdir/err" ||
	fail "siprof dump -u fp exited with $?: $(cat "$tmpdir/err")"
"$SIPROF" dump -u dw "$TARGET_PID" > "$tmpdir/dw" 2> "$tmpdir/err" ||
	fail "siprof dump -u dw exited with $?: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"

frames "$tmpdir/fp" worker > "$tmpdir/got"
compare "spin_inline
compute
level1
worker_main
start_thread" "$tmpdir/got" "the fp stack of the worker"
frames "$tmpdir/fp" plugin > "$tmpdir/got"
compare "plugin_leaf
plugin_main
start_thread" "$tmpdir/got" "the fp stack of the plugin thread"
leaf=$(line_of '/\* LEAF \*/' "$CHAIN_SRC")
thread_block "$tmpdir/fp" worker | grep -q "#0 *spin_inline (chain.c:$leaf) \[target-chain-fp\] (inlined)" ||
	fail "fp leaf is wrong: $(thread_block "$tmpdir/fp" worker)"

# Every fp stack is a subsequence of the libdw stack of the same thread.
for name in target-chain worker reader locker plugin; do
	frames "$tmpdir/fp" "$name" > "$tmpdir/f"
	frames "$tmpdir/dw" "$name" > "$tmpdir/d"
	awk 'NR == FNR { want[++n] = $0; next } i < n && $0 == want[i + 1] { i++ }
	     END { exit !(i == n) }' "$tmpdir/f" "$tmpdir/d" ||
		fail "fp invented frames for $name: $(tr '\n' ' ' < "$tmpdir/f") vs dw $(tr '\n' ' ' < "$tmpdir/d")"
done
# Not stopped means no frame pointer register: the stack ends at the pc.
thread_block "$tmpdir/fp" poller | grep -q 'stack truncated' ||
	fail "the poller's fp stack (not stopped) should be marked truncated"
stop_chain > /dev/null
