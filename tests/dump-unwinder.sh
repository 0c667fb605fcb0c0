# Body shared by run-dump-dw.sh and run-dump-libunwind.sh: UNWINDER is set.
# The exact function sequence of every thread, leaf to root, on the target
# built without frame pointers, with libc frames named from libc6-dbg.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_chain

"$SIPROF" dump --unwinder="$UNWINDER" "$TARGET_PID" > "$tmpdir/out" 2> "$tmpdir/err" ||
	fail "siprof dump exited with $?: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
grep -q "^process $TARGET_PID (target-chain): 6 threads, unwinder $UNWINDER" "$tmpdir/out" ||
	fail "no header line: $(head -3 "$tmpdir/out")"

check() { # check THREAD EXPECTED...
	local name=$1
	shift
	frames "$tmpdir/out" "$name" > "$tmpdir/got.$name"
	compare "$(printf '%s\n' "$@")" "$tmpdir/got.$name" "the $UNWINDER stack of thread $name"
	if thread_block "$tmpdir/out" "$name" | grep -q 'stack truncated'; then
		fail "the $name stack is marked truncated"
	fi
}

check worker spin_inline compute level2 level1 worker_main start_thread __clone3
check reader read do_read reader_main start_thread __clone3
check poller epoll_wait do_poll poller_main start_thread __clone3
check locker futex_wait __lll_lock_wait lll_mutex_lock_optimized \
	pthread_mutex_lock do_lock locker_main start_thread __clone3
check plugin plugin_leaf plugin_spin plugin_main start_thread __clone3
check target-chain pause main __libc_start_call_main __libc_start_main _start

# The leaf's file:line, the inlined frame marked, its call site, modules.
leaf=$(line_of '/\* LEAF \*/' "$CHAIN_SRC")
call=$(line_of 'CALL-SPIN' "$CHAIN_SRC")
thread_block "$tmpdir/out" worker | grep -q "#0 *spin_inline (chain.c:$leaf) \[target-chain\] (inlined)\$" ||
	fail "worker leaf is not spin_inline at chain.c:$leaf, inlined: $(thread_block "$tmpdir/out" worker)"
thread_block "$tmpdir/out" worker | grep -q "#1 *compute (chain.c:$call) \[target-chain\]\$" ||
	fail "compute is not shown at its call of spin_inline (chain.c:$call)"
pleaf=$(line_of 'PLUGIN-LEAF' "$PLUGIN_SRC")
thread_block "$tmpdir/out" plugin | grep -q "#0 *plugin_leaf (plugin.c:$pleaf) \[libplugin.so\]" ||
	fail "the dlopen'ed plugin's leaf is not named: $(thread_block "$tmpdir/out" plugin)"
thread_block "$tmpdir/out" reader | grep -q "\[libc.so.6\]" ||
	fail "libc frames carry no module"
grep -q 'poller" sleeping in epoll_wait (not stopped)' "$tmpdir/out" ||
	fail "the thread in epoll_wait was stopped, or its state is wrong"
grep -q 'reader" sleeping in read$' "$tmpdir/out" || fail "reader state line is wrong"

result=$(stop_chain)
[ "$(result_field eintr "$result")" = 0 ] || fail "epoll_wait saw EINTR: $result"
