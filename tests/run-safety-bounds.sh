#!/bin/bash
# Bounds as a careless operator or a busy machine tests them: numbers that
# are not numbers, a consumer that falls far behind with huge stack copies,
# and a thread that strace already holds.
. "$(dirname "$0")/test-subr.sh"

# usage_refused WHAT CMD...: CMD exits 2 with a one-line "siprof CMD:"
# message, and leaves no session file behind.
usage_refused() {
	local what=$1 rc
	shift
	rm -f "$tmpdir/n.siprof"
	timeout 20 "$@" > /dev/null 2> "$tmpdir/err"
	rc=$?
	[ $rc = 2 ] || fail "$what: exit $rc, not 2 (usage): $(cat "$tmpdir/err")"
	grep -q "^siprof [a-z]*: " "$tmpdir/err" || fail "$what: no message: $(cat "$tmpdir/err")"
	[ ! -e "$tmpdir/n.siprof" ] || fail "$what: a session file was created"
}

# Every number is decimal, finite, in range, with nothing after it. (With
# -- true, a number taken by mistake records and exits 0.)
for d in nan NaN inf -inf infinity 1e999 '' -1 0 0x10 ' 5' '5 ' +5 1e3 5s 1,5 '0x1p3'; do
	usage_refused "record -d '$d'" "$SIPROF" record -o "$tmpdir/n.siprof" -d "$d" -- true
done
for r in 0x10 ' 5' '5 ' +5 1e3 5.0 0 1001 -5 99999999999999999999 nan; do
	usage_refused "record -r '$r'" "$SIPROF" record -o "$tmpdir/n.siprof" -r "$r" -- true
done
for s in 8Mx 8M5 ' 64K' -64K 0x1000 64KK 1e5 16M 4095 nan 99999999999999999999K; do
	usage_refused "record -s '$s'" "$SIPROF" record -o "$tmpdir/n.siprof" -s "$s" -- true
done
for m in 1e9 256Mx 0 512K -1M nan 2048G; do
	usage_refused "record --max-memory '$m'" "$SIPROF" record -o "$tmpdir/n.siprof" --max-memory "$m" -- true
done
# 16 copies of the stack must fit.
usage_refused "record -s 8M --max-memory 64M" "$SIPROF" record -o "$tmpdir/n.siprof" -s 8M --max-memory 64M -- true
grep -q "at least 128M" "$tmpdir/err" || fail "--max-memory too small: the message does not say how much: $(cat "$tmpdir/err")"
usage_refused "attach --delay nan" "$SIPROF" attach -b --delay nan 1
usage_refused "attach --iterations 0x10" "$SIPROF" attach -b --iterations 0x10 1
usage_refused "attach --max-memory 1e9" "$SIPROF" attach -b --max-memory 1e9 1
usage_refused "dump" "$SIPROF" dump ' 1'
"$SIPROF" record -q -o "$tmpdir/ok.siprof" -d 0.5 -s 64KiB --max-memory 1M -- sleep 0.2 ||
	fail "record with valid numbers failed"
for opt in "--min-percent nan" "--min-percent inf" "--min-percent 0x10" "--top 1e3" "--since nan" \
	"--since inf" "--until 0x10s" "--since 1e3" "--until ' 5'" "--since -1"; do
	eval "usage_refused \"report $opt\" \"\$SIPROF\" report $opt \"\$tmpdir/ok.siprof\""
done
usage_refused "export --since nan" "$SIPROF" export -f folded --since nan "$tmpdir/ok.siprof"
usage_refused "upload --timeout nan" "$SIPROF" upload --url http://127.0.0.1:9/ --timeout nan "$tmpdir/ok.siprof"
usage_refused "upload --retry-wait inf" "$SIPROF" upload --url http://127.0.0.1:9/ --retry-wait inf "$tmpdir/ok.siprof"
usage_refused "upload --attempts 0x10" "$SIPROF" upload --url http://127.0.0.1:9/ --attempts 0x10 "$tmpdir/ok.siprof"
"$SIPROF" report --since 0.1 --until 1m --min-percent 0.5 "$tmpdir/ok.siprof" > /dev/null ||
	fail "report with valid numbers failed"

need_ptrace

# vm_hwm PID: the kernel's peak resident size of PID, in KiB.
vm_hwm() {
	awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

# bounded_record LIMIT-KIB NAME ARGS...: record ARGS with a consumer that
# falls behind (each copy takes 1 ms more to unwind), watching siprof's
# peak RSS; it never passes LIMIT-KIB (siprof is killed if it does).
bounded_record() {
	local limit=$1 name=$2 sp hwm=0 h
	shift 2
	debug_hooks "$name: the memory bound with unwinding slowed down (SIPROF_DEBUG_UNWIND_US)" || return 0
	SIPROF_DEBUG_UNWIND_US=${UNWIND_US:-1000} "$SIPROF" record -q -o "$tmpdir/$name.siprof" "$@" \
		2> "$tmpdir/$name.err" &
	sp=$!
	while kill -0 "$sp" 2>/dev/null; do
		h=$(vm_hwm "$sp")
		[ -n "$h" ] && hwm=$h
		if [ "$hwm" -gt "$limit" ]; then
			kill -KILL "$sp"
			wait "$sp"
			fail "$name: siprof's peak RSS reached $hwm KiB, over $limit KiB"
		fi
		sleep 0.05
	done
	wait "$sp" || fail "$name: record failed: $(cat "$tmpdir/$name.err")"
	echo "$name: peak RSS $hwm KiB (limit $limit KiB)"
	"$SIPROF" report --json "$tmpdir/$name.siprof" > "$tmpdir/$name.json" || fail "$name: report failed"
	json_check "$tmpdir/$name.json" '
s = doc["context"]["stats"]
assert s["dropped_samples"] > 0, s
assert s["samples"] > 0, s
'
	grep -q "samples dropped: .*--max-memory" "$tmpdir/$name.err" ||
		fail "$name: record does not say that samples were dropped: $(cat "$tmpdir/$name.err")"
	"$SIPROF" report "$tmpdir/$name.siprof" | grep -q ' [1-9][0-9]* dropped;' ||
		fail "$name: report's statistics do not show the dropped samples"
}

# 48 threads waking every 2 ms, 8 MiB stack copies at 1000 Hz: without a
# bound the snapshot pool grows to gigabytes. The margin is siprof itself
# (libraries, symbols, the profile): a few tens of MiB.
MARGIN=$((48 * 1024))
# An ASan build holds more: shadow memory and freed blocks in quarantine.
sanitized && MARGIN=$((160 * 1024))
coproc WL { "$top_builddir/tests/bench/bench-workload" heartbeat 48; }
bg_pids="$bg_pids $WL_PID"
read -r -u "${WL[0]}" ready pid _ || fail "the workload did not start"
[ "$ready" = ready ] || fail "the workload did not start: $ready"
bg_pids="$bg_pids $pid"
bounded_record $((128 * 1024 + MARGIN)) big -s 8M -r 1000 --max-memory 128M -d 3 -p "$pid"
bounded_record $((256 * 1024 + MARGIN)) default -s 8M -r 1000 -d 3 -p "$pid"
# The status line on a terminal counts them as they go.
if ! debug_hooks "the status line's dropped samples (SIPROF_DEBUG_UNWIND_US)"; then
	:
elif command -v script > /dev/null; then
	SIPROF_DEBUG_UNWIND_US=1000 script -qec "'$SIPROF' record -o '$tmpdir/tty.siprof' -s 8M -r 1000 --max-memory 128M -d 2.5 -p $pid" \
		/dev/null > "$tmpdir/tty" 2>&1 || fail "record on a terminal failed: $(cat -v "$tmpdir/tty")"
	grep -aqE 'held p50 [0-9]+ us.*[^0-9][1-9][0-9]* dropped' "$tmpdir/tty" ||
		fail "the status line does not show the dropped samples: $(cat -v "$tmpdir/tty")"
else
	echo "note: script(1) is missing; the status line is not checked"
fi
assert_running "$pid"
echo quit >&"${WL[1]}"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done

# Idle threads cost no copy, but each tick still queues a count for each:
# the queue is bounded too (1M in all: 64K of queue).
coproc WL { "$top_builddir/tests/bench/bench-workload" idle 200; }
bg_pids="$bg_pids $WL_PID"
read -r -u "${WL[0]}" ready pid _ || fail "the workload did not start"
[ "$ready" = ready ] || fail "the workload did not start: $ready"
bg_pids="$bg_pids $pid"
UNWIND_US=20000 bounded_record $((1024 + MARGIN)) queue -s 4K -r 1000 --max-memory 1M -d 3 -p "$pid"
assert_running "$pid"
echo quit >&"${WL[1]}"

# A thread that strace holds: siprof cannot trace it, and says who does.
if command -v strace > /dev/null; then
	start_chain
	tid=$(thread_tid "$TARGET_PID" worker)
	strace -q -p "$tid" -o /dev/null &
	tracer=$!
	bg_pids="$bg_pids $tracer"
	i=0
	until [ "$(awk '/^TracerPid:/ {print $2}' "/proc/$TARGET_PID/task/$tid/status")" = "$tracer" ]; do
		[ $i -lt 100 ] || fail "strace did not attach to thread $tid"
		sleep 0.05
		i=$((i + 1))
	done
	"$SIPROF" record -o "$tmpdir/busy.siprof" -d 1 -p "$TARGET_PID" 2> "$tmpdir/err"
	rc=$?
	[ $rc = 5 ] || fail "a thread traced by strace: exit $rc, not 5: $(cat "$tmpdir/err")"
	grep -q "thread $tid of process $TARGET_PID (target-chain) is already traced by $tracer (strace)" "$tmpdir/err" ||
		fail "the message does not name the thread and strace: $(cat "$tmpdir/err")"
	[ ! -e "$tmpdir/busy.siprof" ] || fail "a session file was left behind"
	kill -TERM "$tracer"
	wait "$tracer" 2>/dev/null
	sleep 0.1
	assert_running "$TARGET_PID"
	stop_chain > /dev/null
else
	echo "note: strace is not installed (contrib/setup.sh --check installs it); the traced-thread case is not checked"
fi
