#!/bin/bash
# A long C++ name (std::thread's _M_run for a lambda, as gdb names it) is
# shortened in text reports, its template arguments collapsed so that its
# file:line stays in sight, and whole in the JSON. Its thread waits: the
# tree is of every class (-c wall).
. "$(dirname "$0")/test-subr.sh"
need_ptrace
mkdir -p "$tmpdir/cxx"
"$TARGETS/target-cxx" "$tmpdir/cxx" &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$tmpdir/cxx/ready"
sleep 0.3
gdb_bt "$TARGET_PID" "$tmpdir/gdb"
full=$(gdb_names "$tmpdir/gdb" "$(thread_tid "$TARGET_PID" waiter)" | grep '_M_run' | sed 's/(void)$//')
[ -n "$full" ] || fail "gdb shows no _M_run frame: $(cat "$tmpdir/gdb")"
line=$(grep '_M_run' "$tmpdir/gdb" | sed -n 's/.* at .*std_thread\.h:\([0-9]*\)$/\1/p' | head -1)
"$SIPROF" record -q -o "$tmpdir/s.siprof" -d 2 -p "$TARGET_PID" 2> "$tmpdir/err" || fail "record exited with $?: $(cat "$tmpdir/err")"
"$SIPROF" report --tree -c wall "$tmpdir/s.siprof" > "$tmpdir/tree" 2> "$tmpdir/err" || fail "report --tree exited with $?"
"$SIPROF" report --tree --json -c wall "$tmpdir/s.siprof" > "$tmpdir/tree.json" 2> "$tmpdir/err" || fail "report --tree --json exited with $?"
grep -qF "std::thread::_State_impl<…>::_M_run (std_thread.h:$line) [target-cxx]" "$tmpdir/tree" ||
	fail "the text tree does not show _M_run shortened with its line (gdb: $full at std_thread.h:$line): $(grep _M_run "$tmpdir/tree")"
json_check "$tmpdir/tree.json" "
names = []
def walk(n):
    names.append(n['function'])
    [walk(c) for c in n['children']]
[walk(r) for r in doc['roots']]
assert '''$full''' in names, [n for n in names if '_M_run' in n]"
# A short name is left alone.
grep -qF 'shop::Basket<long>::add(long)' "$tmpdir/tree" || fail "a short template name was shortened: $(grep add "$tmpdir/tree")"
assert_running "$TARGET_PID"
