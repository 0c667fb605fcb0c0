#!/bin/bash
# record -- COMMAND under valgrind: the launch, the exec that replaces
# every module, and unwinding afterwards read no freed or undefined memory
# (libdw once kept using the backend of a module the exec had dropped),
# and the program's own functions are named after the exec. And record
# --alloc: probes, the keeper's fork, unwinding hits, windows and their
# end, with no error and no memory lost for good.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v valgrind > /dev/null || skip "valgrind is not installed (contrib/setup.sh --check installs it)"
sanitized && skip "siprof is built with sanitizers (--enable-sanitizers): valgrind cannot run an ASan binary"

VG="valgrind -q --error-exitcode=99 --leak-check=no --track-fds=no"
$VG "$SIPROF" record -q -o "$tmpdir/s.siprof" -- "$TARGETS/target-exit" 3000 > "$tmpdir/vg" 2>&1
rc=$?
[ $rc = 0 ] || fail "record -- target-exit under valgrind: exit $rc
$(head -40 "$tmpdir/vg")"
grep -q '^==' "$tmpdir/vg" && fail "valgrind reported errors in record:
$(head -40 "$tmpdir/vg")"

$VG "$SIPROF" report --json -c cpu "$tmpdir/s.siprof" > "$tmpdir/cpu.json" 2> "$tmpdir/vg"
rc=$?
[ $rc = 0 ] || fail "report under valgrind: exit $rc
$(head -40 "$tmpdir/vg")"
# target-exit's second thread spins in spin() (tests/targets/exit.c).
json_check "$tmpdir/cpu.json" '
f = {x["function"]: x["self_percent"] for x in doc["functions"]}
assert f.get("spin", 0) >= 50, f'

if [ -d /sys/bus/event_source/devices/uprobe ]; then
	mkdir -p "$tmpdir/sites"
	"$TARGETS/target-alloc-sites" "$tmpdir/sites" 10000 32,256,1024 &
	tp=$!
	bg_pids="$bg_pids $tp"
	wait_file "$tmpdir/sites/ready"
	# The keeper is a fork: its exit would list siprof's memory as lost.
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--child-silent-after-fork=yes "$SIPROF" record -q --alloc --overhead=50 -d 4 \
		-o "$tmpdir/a.siprof" -p "$tp" > "$tmpdir/vg" 2>&1
	rc=$?
	[ $rc = 0 ] || fail "record --alloc under valgrind: exit $rc
$(head -60 "$tmpdir/vg")"
	assert_running "$tp"
	kill -TERM "$tp"
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$SIPROF" report --alloc "$tmpdir/a.siprof" > "$tmpdir/alloc.txt" 2> "$tmpdir/vg"
	rc=$?
	[ $rc = 0 ] || fail "report --alloc under valgrind: exit $rc
$(head -60 "$tmpdir/vg")"
	grep -q "site_small (alloc-sites.c:" "$tmpdir/alloc.txt" ||
		fail "report --alloc has no site_small: $(cat "$tmpdir/alloc.txt")"
fi
exit 0
