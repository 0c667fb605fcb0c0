#!/bin/bash
# Every way a dump can be refused: one clear line, a documented exit code,
# and the target (if any) left running.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
load_exit_codes

expect() { # expect EXIT_NAME PATTERN -- COMMAND... (a name from src/cmd.h)
	local code pattern=$2 rc
	code=${!1:?"$1 is not an exit code of src/cmd.h"}
	shift 3
	"$@" > "$tmpdir/out" 2> "$tmpdir/err"
	rc=$?
	[ $rc = "$code" ] || fail "'$*' exited with $rc, expected $code: $(cat "$tmpdir/err")"
	grep -q -- "$pattern" "$tmpdir/err" ||
		fail "'$*' said '$(cat "$tmpdir/err")', expected /$pattern/"
	[ "$(wc -l < "$tmpdir/err")" -le 2 ] || fail "'$*' said too much: $(cat "$tmpdir/err")"
}

# Usage errors.
expect EXIT_USAGE "a PID is needed" -- "$SIPROF" dump
expect EXIT_USAGE "'abc' is not a process id" -- "$SIPROF" dump abc
expect EXIT_USAGE "unknown unwinder 'gdb'" -- "$SIPROF" dump -u gdb 1
expect EXIT_USAGE "stack-size takes a size" -- "$SIPROF" dump --stack-size=1 1

# No such process: a PID that was just reaped.
sleep 0 & gone=$!
wait $gone
expect EXIT_NOPROC "no process with id $gone" -- "$SIPROF" dump "$gone"

# siprof itself.
expect EXIT_NOTARGET "is siprof itself" -- sh -c 'exec "$0" dump $$' "$SIPROF"

# A kernel thread, where this machine shows one.
kthread=
for s in /proc/[0-9]*/stat; do
	flags=$(sed 's/.*) //' "$s" 2>/dev/null | cut -d' ' -f7)
	if [ -n "$flags" ] && [ $((flags & 0x200000)) != 0 ]; then
		kthread=$(basename "$(dirname "$s")")
		break
	fi
done
if [ -n "$kthread" ]; then
	expect EXIT_NOTARGET "is a kernel thread" -- "$SIPROF" dump "$kthread"
else
	echo "note: no kernel thread is visible in this PID namespace; that case is not run"
fi

start_chain
# A thread id, not a process id.
tid=$(thread_tid "$TARGET_PID" worker)
expect EXIT_NOTARGET "$tid is a thread of process $TARGET_PID" -- "$SIPROF" dump "$tid"

# Already traced: the message names the tracer.
"$TARGETS/hold-tracer" "$TARGET_PID" > "$tmpdir/tracer" &
tracer=$!
bg_pids="$bg_pids $tracer"
wait_file "$tmpdir/tracer"
expect EXIT_BUSY "already traced by $tracer (hold-tracer)" -- "$SIPROF" dump "$TARGET_PID"
kill -KILL $tracer
wait $tracer 2>/dev/null
sleep 0.1
assert_running "$TARGET_PID"

# Permission denied: another user, without CAP_SYS_PTRACE.
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	expect EXIT_PERM "cannot attach to $TARGET_PID (target-chain): operation not permitted (it runs as uid 0 and siprof as uid 65534" -- \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$SIPROF" dump "$TARGET_PID"
	assert_running "$TARGET_PID"
else
	echo "note: not root or no setpriv; the permission case is not run"
fi
stop_chain > /dev/null

# The process exits during the dump (no such process): it exits after 1 s, and siprof
# holds each thread 2 s (ample even for a slow, sanitized siprof to attach).
if debug_hooks "a process that exits during the dump (SIPROF_DEBUG_HOLD_US)"; then
	"$TARGETS/target-exit" 1000 &
	victim=$!
	bg_pids="$bg_pids $victim"
	sleep 0.05
	expect EXIT_NOPROC "process $victim (target-exit) exited during the dump" -- \
		env SIPROF_DEBUG_HOLD_US=2000000 "$SIPROF" dump "$victim"
	wait $victim
	[ $? = 0 ] || fail "the exiting target did not exit normally"
fi
