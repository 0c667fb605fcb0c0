#!/bin/bash
# C++: demangled, qualified function names with their source lines.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
mkdir -p "$tmpdir/cxx"
"$TARGETS/target-cxx" "$tmpdir/cxx" &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$tmpdir/cxx/ready"
sleep 0.2
"$SIPROF" dump "$TARGET_PID" > "$tmpdir/out" 2> "$tmpdir/err" || fail "dump exited with $?: $(cat "$tmpdir/err")"
leaf=$(line_of 'CXX-LEAF' "$top_srcdir/tests/targets/cxx.cc")
# The first frame not inlined is the leaf function (the pc may be in the
# std::atomic code inlined into it, shown above it as inlined frames).
first=$(awk '/running$/ {on = 1; next} on && /^  #/ && !/\(inlined\)$/ {print; exit}' "$tmpdir/out")
echo "$first" | grep -q "shop::Basket<long>::add(long) (cxx.cc:$leaf) \[target-cxx\]$" ||
	fail "the C++ leaf is not demangled at cxx.cc:$leaf: $(cat "$tmpdir/out")"
grep -q "#[0-9] *shop::checkout(shop::Basket<long>&, long) (cxx.cc:[0-9]*) \[target-cxx\]" "$tmpdir/out" ||
	fail "the caller is not demangled: $(cat "$tmpdir/out")"
grep -q "std::thread::join()" "$tmpdir/out" || fail "libstdc++ frames are not demangled"
assert_running "$TARGET_PID"
