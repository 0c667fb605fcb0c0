#!/bin/bash
# The heap series is glibc malloc's own accounting, read from outside the
# process: a target that allocates a known pattern in four arenas (fastbins
# past the tcache, small and large bins, the unsorted bin, mmapped chunks)
# asks mallinfo2() and malloc_info() itself, then holds still while siprof
# records it. Every second of the session must say exactly what the target
# measured: heap_system = arena + hblkhd, heap_inuse = uordblks + hblkhd,
# heap_arenas = the arenas malloc_info lists. Exactly, because the target
# allocates nothing after mallinfo2 (it writes with snprintf and write, then
# pauses) and siprof neither runs code in it nor allocates for it.
# A statically linked target, and one whose malloc is jemalloc's
# (LD_PRELOAD), get no heap series and no error: the session says why once.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
command -v sqlite3 > /dev/null || skip "sqlite3 is not installed (contrib/setup.sh installs it)"

# record NAME PID: a 3-second session of PID, quiet: nothing may be said.
record() {
	"$SIPROF" record -q -d 3 -o "$tmpdir/$1.siprof" -p "$2" 2> "$tmpdir/$1.err" ||
		fail "record of $1 exited with $?: $(cat "$tmpdir/$1.err")"
	[ ! -s "$tmpdir/$1.err" ] || fail "record of $1 said: $(cat "$tmpdir/$1.err")"
	assert_running "$2"
}

# no_heap NAME PATTERN: no second has heap figures, in the table and in
# report's JSON, and the session's reason matches PATTERN.
no_heap() {
	local n why
	n=$(sqlite3 "$tmpdir/$1.siprof" "SELECT count(*) FROM metrics WHERE heap_system IS NOT NULL
		OR heap_inuse IS NOT NULL OR heap_arenas IS NOT NULL")
	[ "$n" = 0 ] || fail "$1: $n seconds with heap figures"
	why=$(sqlite3 "$tmpdir/$1.siprof" "SELECT value FROM meta WHERE key = 'heap_unavailable'")
	echo "$1: $why"
	echo "$why" | grep -Eq "$2" || fail "$1: the reason is '$why', not /$2/"
	"$SIPROF" report --metrics --json "$tmpdir/$1.siprof" > "$tmpdir/$1.json" 2> "$tmpdir/err" ||
		fail "report --metrics --json of $1 failed: $(cat "$tmpdir/err")"
	python3 -c 'import json, sys
rows = json.load(open(sys.argv[1]))
assert rows and all(r["heap_system"] is None and r["heap_inuse"] is None and r["heap_arenas"] is None for r in rows), rows' \
		"$tmpdir/$1.json" || fail "$1: report --json has heap figures"
	"$SIPROF" report "$tmpdir/$1.siprof" > "$tmpdir/$1.txt" 2> "$tmpdir/err" ||
		fail "report of $1 failed: $(cat "$tmpdir/err")"
	grep -q "heap not read: $why" "$tmpdir/$1.txt" || fail "$1: report does not say why: $(cat "$tmpdir/$1.txt")"
}

# ---- glibc's malloc, with libc's debug info ----
"$TARGETS/target-heap" "$tmpdir/mallinfo" &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$tmpdir/mallinfo"
read -r arena hblkhd uordblks arenas < "$tmpdir/mallinfo"
echo "target's mallinfo2: arena $arena, hblkhd $hblkhd, uordblks $uordblks; $arenas arenas"
[ "$arenas" = 4 ] || fail "the target made $arenas arenas, not 4"
libc=$(awk '$6 ~ /\/libc\.so\.6$/ {print $6; exit}' "/proc/$TARGET_PID/maps")
bid=$(readelf -n "$libc" 2> /dev/null | awk '/Build ID:/ {print $3}')
record glibc "$TARGET_PID"
if [ -n "$bid" ] && [ ! -e "/usr/lib/debug/.build-id/${bid:0:2}/${bid:2}.debug" ]; then
	# Without the debug info there is nothing to compare with: the
	# series must be absent and say what to install.
	skip_check libc6-dbg "the heap figures against mallinfo2 (no debug info for $libc, build-id $bid)"
	no_heap glibc "no debug info for .*libc"
else
	sqlite3 "$tmpdir/glibc.siprof" "SELECT t, heap_system, heap_inuse, heap_arenas FROM metrics"
	sqlite3 -separator ' ' "$tmpdir/glibc.siprof" \
		"SELECT t, heap_system, heap_inuse, heap_arenas FROM metrics" > "$tmpdir/rows"
	[ "$(wc -l < "$tmpdir/rows")" -ge 3 ] || fail "fewer than 3 seconds of metrics"
	while read -r t sys inuse n; do
		[ "$sys" = $((arena + hblkhd)) ] ||
			fail "second $t: heap_system '$sys', the target's arena + hblkhd is $((arena + hblkhd))"
		[ "$inuse" = $((uordblks + hblkhd)) ] ||
			fail "second $t: heap_inuse '$inuse', the target's uordblks + hblkhd is $((uordblks + hblkhd))"
		[ "$n" = "$arenas" ] || fail "second $t: $n arenas, malloc_info lists $arenas"
	done < "$tmpdir/rows"
	n=$(sqlite3 "$tmpdir/glibc.siprof" "SELECT count(*) FROM meta WHERE key = 'heap_unavailable'")
	[ "$n" = 0 ] || fail "the heap was read, yet the session says why not"
	# report shows them: the summary, the table and the JSON.
	"$SIPROF" report "$tmpdir/glibc.siprof" > "$tmpdir/glibc.txt" 2> "$tmpdir/err" ||
		fail "report failed: $(cat "$tmpdir/err")"
	grep 'heap (glibc malloc)' "$tmpdir/glibc.txt" || fail "report has no heap line"
	grep -q "heap (glibc malloc) .* in use of .* from the system, 4 arenas" "$tmpdir/glibc.txt" ||
		fail "report's heap line is not the session's"
	"$SIPROF" report --metrics "$tmpdir/glibc.siprof" > "$tmpdir/glibc.metrics" 2> "$tmpdir/err" ||
		fail "report --metrics failed: $(cat "$tmpdir/err")"
	grep -q '^heap  |' "$tmpdir/glibc.metrics" || fail "report --metrics has no heap chart"
	"$SIPROF" report --metrics --json "$tmpdir/glibc.siprof" > "$tmpdir/glibc.json" 2> "$tmpdir/err" ||
		fail "report --metrics --json failed: $(cat "$tmpdir/err")"
	python3 -c 'import json, sys
rows = json.load(open(sys.argv[1]))
want = (int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
got = {(r["heap_system"], r["heap_inuse"], r["heap_arenas"]) for r in rows}
assert got == {want}, (got, want)' "$tmpdir/glibc.json" $((arena + hblkhd)) $((uordblks + hblkhd)) "$arenas" ||
		fail "report --metrics --json gives other heap figures"
fi
kill "$TARGET_PID"
wait "$TARGET_PID" 2> /dev/null

# ---- statically linked: no libc.so to read ----
"$TARGETS/target-heap-static" "$tmpdir/mallinfo-static" &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$tmpdir/mallinfo-static"
record static "$TARGET_PID"
no_heap static "statically linked"
kill "$TARGET_PID"
wait "$TARGET_PID" 2> /dev/null

# ---- jemalloc's malloc: glibc's arenas hold nothing ----
jemalloc=$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 2> /dev/null | head -1)
if [ -z "$jemalloc" ]; then
	skip_check libjemalloc2 "a target using jemalloc"
else
	LD_PRELOAD=$jemalloc "$TARGETS/target-heap" "$tmpdir/mallinfo-je" &
	TARGET_PID=$!
	bg_pids="$bg_pids $TARGET_PID"
	wait_file "$tmpdir/mallinfo-je"
	# glibc's own count agrees that its malloc holds nothing.
	read -r arena hblkhd uordblks arenas < "$tmpdir/mallinfo-je"
	[ "$arena" = 0 ] && [ "$hblkhd" = 0 ] || fail "glibc's malloc was used under jemalloc: $arena $hblkhd"
	record jemalloc "$TARGET_PID"
	no_heap jemalloc "uses .*jemalloc"
	kill "$TARGET_PID"
	wait "$TARGET_PID" 2> /dev/null
fi
echo PASS
