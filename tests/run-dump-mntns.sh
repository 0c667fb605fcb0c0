#!/bin/bash
# A process in another mount namespace (a container): its binary exists
# only there, and siprof reads it through /proc/PID/root.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v unshare > /dev/null || skip "unshare (util-linux) is not installed"
unshare -m --propagation private true 2> "$tmpdir/err" ||
	skip "cannot create a mount namespace here: $(cat "$tmpdir/err")"

mkdir -p "$tmpdir/ns" "$tmpdir/state"
unshare -m --propagation private sh -c '
	mount -t tmpfs none "$1" && cp "$2/target-chain" "$2/libplugin.so" "$1/" &&
	exec "$1/target-chain" "$3"' sh "$tmpdir/ns" "$TARGETS" "$tmpdir/state" &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
STATE=$tmpdir/state
wait_file "$STATE/ready"
[ ! -e "$tmpdir/ns/target-chain" ] || fail "the namespace's mount leaked into ours"

"$SIPROF" dump "$TARGET_PID" > "$tmpdir/out" 2> "$tmpdir/err" ||
	fail "siprof dump exited with $?: $(cat "$tmpdir/err")"
frames "$tmpdir/out" worker > "$tmpdir/got"
compare "spin_inline
compute
level2
level1
worker_main
start_thread
__clone3" "$tmpdir/got" "the worker's stack inside the namespace"
thread_block "$tmpdir/out" plugin | grep -q 'plugin_leaf (plugin.c:[0-9]*) \[libplugin.so\]' ||
	fail "the plugin inside the namespace is not named"
grep -q warning "$tmpdir/err" && fail "unexpected warning: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
kill -TERM "$TARGET_PID"
