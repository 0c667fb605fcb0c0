#!/bin/bash
# Names as people look for them, against gdb and binutils: glibc's internal
# aliases under their exported names (readelf's .dynsym), one function once
# per pc; PLT stubs as NAME@plt (objdump's labels), lazily bound and with
# -z now and IBT; C++ inlined template members and std::thread's code
# qualified as gdb qualifies them, a lambda with its scope; and the warning
# about missing symbols saying how many frames it cost (gdb's "??" frames).
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v readelf > /dev/null && command -v objdump > /dev/null || skip "binutils is not installed"
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"

# Never the same function twice in a row at one pc: an inlined frame
# named like the frame it was inlined into.
no_doubles() {
	awk '/^  #/ { name = $0; sub(/^  #[0-9]+ +/, "", name); sub(/ \(inlined\)$/, "", name)
			sub(/ \[[^]]*\]$/, "", name); sub(/ \([^ ()]+\)$/, "", name)
			if (prev_inlined && name == prev) { print "doubled: " $0; bad = 1 }
			prev = name; prev_inlined = / \(inlined\)$/ }
	     /^$/ { prev = ""; prev_inlined = 0 }
	     END { exit bad }' "$1" || fail "a function shows twice for one pc in $1: $(cat "$1")"
}

# The exported name of glibc's function NAME (its internal alias, as gdb
# shows it): the global or weak default-visibility function in libc's
# .dynsym at NAME's address (from the debug file's .symtab), fewest leading
# underscores first.
public_of() {
	local libc=$1 name=$2 id dbg addr
	id=$(readelf -n "$libc" | awk '/Build ID/ { print $3 }')
	dbg=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
	[ -f "$dbg" ] || skip "no debug symbols for $libc (libc6-dbg)"
	addr=$(readelf -Ws "$dbg" 2> /dev/null | awk -v n="$name" '$8 == n && $4 == "FUNC" { print $2; exit }')
	[ -n "$addr" ] || fail "$name is not in $dbg"
	readelf -W --dyn-syms "$libc" | awk -v a="$addr" '$2 == a && $4 == "FUNC" && ($5 == "GLOBAL" || $5 == "WEAK") && $6 == "DEFAULT" {
		n = $8; sub(/@.*/, "", n); u = n; sub(/^_*/, "", u); print length(n) - length(u), length(n), n }' |
		sort -n | head -1 | awk '{ print $3 }'
}

# 1. glibc: a read() on a pipe, pthread_mutex_lock on a contended mutex.
start_waits fds
waits_fds=$TARGET_PID
fds_state=$STATE
start_waits idle
waits_idle=$TARGET_PID
idle_state=$STATE
libc=$(awk '$6 ~ /\/libc\.so\.6$/ { print $6; exit }' "/proc/$waits_fds/maps")
[ -n "$libc" ] || fail "no libc.so.6 in the target's mappings"
check_alias() { # PID STATE THREAD
	local tid gdb_top want got
	tid=$(awk -v n="$3" '$1 == n { print $2 }' "$2/tids")
	gdb_bt "$1" "$tmpdir/gdb-$3"
	"$SIPROF" dump "$1" > "$tmpdir/dump-$3" 2> "$tmpdir/err-$3" || fail "dump exited with $?: $(cat "$tmpdir/err-$3")"
	no_doubles "$tmpdir/dump-$3"
	gdb_names "$tmpdir/gdb-$3" "$tid" > "$tmpdir/gdb-names-$3"
	dump_names "$tmpdir/dump-$3" "$tid" > "$tmpdir/names-$3"
	# gdb's outermost libc frame of the call: its internal name.
	gdb_top=$(grep -v -e '^futex' -e '^__futex' -e '^lll_' -e '^__lll' "$tmpdir/gdb-names-$3" | grep '^_' | tail -1)
	[ -n "$gdb_top" ] || fail "$3: gdb shows no internal glibc name: $(cat "$tmpdir/gdb-names-$3")"
	want=$(public_of "$libc" "$gdb_top")
	[ -n "$want" ] || fail "$3: $gdb_top has no exported name in $libc"
	grep -qx "$want" "$tmpdir/names-$3" ||
		fail "$3: gdb's $gdb_top (exported as $want) is not shown as $want: $(thread_block "$tmpdir/dump-$3" "$3")"
	grep -q -e '__GI_' -e "^$gdb_top\$" "$tmpdir/names-$3" &&
		fail "$3: an internal alias is shown: $(thread_block "$tmpdir/dump-$3" "$3")"
	echo "$3: gdb $gdb_top, siprof $want"
}
check_alias "$waits_fds" "$fds_state" pipereader
[ "$(grep -c '^read$' "$tmpdir/names-pipereader")" = 1 ] ||
	fail "pipereader: read is not shown once: $(thread_block "$tmpdir/dump-pipereader" pipereader)"
check_alias "$waits_idle" "$idle_state" mutexwait
# The same name in the JSON.
"$SIPROF" dump --json "$waits_fds" > "$tmpdir/fds.json" 2> "$tmpdir/err" || fail "dump --json exited with $?"
json_check "$tmpdir/fds.json" "
t = [t for t in doc['threads'] if t['name'] == 'pipereader'][0]
names = [f['function'] for f in t['frames']]
assert names[0] == 'read' and 'read' not in names[1:], names"
kill -TERM "$waits_fds" "$waits_idle"

# 2. PLT stubs: sample the target until its leaf pc is in a stub (objdump's
# <NAME@plt> label over it), then the frame must carry that name.
for prog in target-plt target-plt-now; do
	bin=$TARGETS/$prog
	objdump -d "$bin" | awk '/^[0-9a-f]+ <.*@plt>:$/ { n = $2; gsub(/[<>:]/, "", n); print $1, n }' |
		while read -r a n; do echo "$((0x$a)) $n"; done > "$tmpdir/plt-$prog"
	[ -s "$tmpdir/plt-$prog" ] || fail "objdump shows no PLT stub in $prog"
	mkdir -p "$tmpdir/$prog"
	"$bin" "$tmpdir/$prog" &
	pid=$!
	bg_pids="$bg_pids $pid"
	wait_file "$tmpdir/$prog/ready"
	base=$(load_base "$pid" "$(readlink -f "$bin")")
	found=
	# The lazily bound stub is one jump: about 7% of the dumps land in it.
	for _ in $(seq 200); do
		"$SIPROF" dump -v "$pid" > "$tmpdir/plt-dump" 2> /dev/null || continue
		dump_pcs "$tmpdir/plt-dump" "$pid" > "$tmpdir/plt-pcs"
		read -r pc name module < "$tmpdir/plt-pcs"
		off=$((pc - base))
		label=$(awk -v o="$off" '$1 <= o + 0 && o + 0 < $1 + 16 { print $2 }' "$tmpdir/plt-$prog")
		if [ -n "$label" ]; then
			found=$label
			break
		fi
	done
	[ -n "$found" ] || fail "$prog: no sample landed in a PLT stub in 200 dumps"
	[ "$name" = "$found" ] || fail "$prog: the frame at $pc (offset $(printf %#x $off)) is '$name', objdump says $found"
	echo "$prog: $pc is $name"
	kill -TERM "$pid"
done
readelf -SW "$TARGETS/target-plt-now" | grep -q '\.plt\.sec' || fail "target-plt-now has no .plt.sec: the IBT layout was not tested"

# 3. C++: the waiter's frames inlined from libstdc++'s headers and its
# own, named as gdb names them (gdb adds "(void)" to a function without
# parameters or a linkage name; gdb shows a lambda's operator() bare, which
# siprof qualifies with the function around it, as gcc names its type).
mkdir -p "$tmpdir/cxx"
"$TARGETS/target-cxx" "$tmpdir/cxx" &
cxx=$!
bg_pids="$bg_pids $cxx"
wait_file "$tmpdir/cxx/ready"
sleep 0.3
tid=$(thread_tid "$cxx" waiter)
[ -n "$tid" ] || fail "target-cxx has no thread named waiter"
gdb_bt "$cxx" "$tmpdir/gdb-cxx"
"$SIPROF" dump "$cxx" > "$tmpdir/dump-cxx" 2> "$tmpdir/err-cxx" || fail "dump exited with $?: $(cat "$tmpdir/err-cxx")"
no_doubles "$tmpdir/dump-cxx"
grep -E ' at (/usr/include/c\+\+/|tests/targets/cxx\.cc)' "$tmpdir/gdb-cxx" > /dev/null || fail "gdb shows no C++ frame: $(cat "$tmpdir/gdb-cxx")"
gdb_names "$tmpdir/gdb-cxx" "$tid" | sed 's/(void)$//' > "$tmpdir/gdb-names-cxx"
dump_names "$tmpdir/dump-cxx" "$tid" > "$tmpdir/names-cxx"
checked=0
while read -r want; do
	case $want in
	operator\(\) | \?\? | *pthread* | *futex* | start_thread | clone3) continue ;;
	esac
	grep -qxF "$want" "$tmpdir/names-cxx" ||
		fail "C++: gdb's '$want' is not among siprof's frames: $(cat "$tmpdir/names-cxx")"
	checked=$((checked + 1))
done < "$tmpdir/gdb-names-cxx"
[ $checked -ge 4 ] || fail "C++: only $checked of gdb's frames compared: $(cat "$tmpdir/gdb-names-cxx")"
grep -qx 'std::condition_variable::wait<main(int, char\*\*)::<lambda()>::<lambda()> >' "$tmpdir/names-cxx" ||
	fail "C++: the inlined template member lost its class: $(cat "$tmpdir/names-cxx")"
# gcc's own name for the thread's lambda type, in gdb's template arguments.
grep -q 'main(int, char\*\*)::<lambda()>' "$tmpdir/gdb-names-cxx" || fail "gdb does not name the lambda type"
grep -qx 'main::<lambda()>::operator()' "$tmpdir/names-cxx" ||
	fail "C++: the inlined lambda is not qualified: $(cat "$tmpdir/names-cxx")"
echo "C++: $checked frames agree with gdb"

# 4. The warning: libstdc++ has exported symbols only; the frames of the
# threads' start routine (execute_native_thread_routine, a static
# function) stay unnamed, as gdb's "??" frames: the warning says how many.
unnamed=$(grep -c '^#.* in ?? () from .*libstdc++' "$tmpdir/gdb-cxx")
lib=$(awk '$6 ~ /libstdc\+\+\.so/ { print $6; exit }' "/proc/$cxx/maps")
all=$(grep -c "^  #.* \[${lib##*/}\]\$" "$tmpdir/dump-cxx")
grep -q "warning: no symbols for $lib build-id [0-9a-f]*: $unnamed of its $all frames in this dump show as module+offset" "$tmpdir/err-cxx" ||
	fail "the warning does not say that $unnamed of $all frames in $lib went unnamed (gdb: $unnamed '??'): $(cat "$tmpdir/err-cxx")"
[ "$(grep -c 'no symbols' "$tmpdir/err-cxx")" = 1 ] || fail "more than one missing-symbols warning: $(cat "$tmpdir/err-cxx")"
# A process whose frames all have names: no warning.
start_chain
"$SIPROF" dump "$TARGET_PID" > "$tmpdir/dump-chain" 2> "$tmpdir/err-chain" || fail "dump of target-chain exited with $?"
if ! grep -q '+0x[0-9a-f]* \[' "$tmpdir/dump-chain"; then
	grep -q 'module+offset' "$tmpdir/err-chain" && fail "a warning although every frame is named: $(cat "$tmpdir/err-chain")"
fi
assert_running "$cxx"
