# Shared helpers for tests/run-*.sh (sourced). Exit 77 skips a test, and
# only where the machine truly lacks a capability; the reason is printed.
set -u

: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
SIPROF="$top_builddir/src/siprof"
TARGETS="$top_builddir/tests/targets"
tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/siprof-test.XXXXXX")
bg_pids=""

cleanup() {
	for p in $bg_pids; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmpdir"
}
trap cleanup EXIT

# load_exit_codes: set EXIT_OK, EXIT_USAGE, ... from src/cmd.h, where they
# are defined, and EXIT_CODES to their names.
load_exit_codes() {
	local defs
	defs=$(sed -n 's/^[[:space:]]*\(EXIT_[A-Z]*\)[[:space:]]*=[[:space:]]*\([0-9][0-9]*\).*/\1=\2/p' \
		"$top_srcdir/src/cmd.h")
	[ "$(echo "$defs" | grep -c .)" -ge 3 ] || fail "no exit codes found in src/cmd.h"
	eval "$defs"
	EXIT_CODES=$(echo "$defs" | sed 's/=.*//')
}
# make -j runs tests side by side. A test that must not have another
# beside it says so with run_alone REASON: it takes the suite's lock
# exclusively, and every other test holds it shared while it runs. The
# lock is held by a helper process that ends with the test (so programs a
# test starts never hold it); flock(1) missing, tests run unlocked.
SUITE_LOCK="$top_builddir/tests/.suite-lock"
lock_pid=""
suite_lock() { # suite_lock -s|-x
	command -v flock > /dev/null || return 0
	[ -z "$lock_pid" ] || { kill "$lock_pid" 2> /dev/null; wait "$lock_pid" 2> /dev/null; }
	rm -f "$tmpdir/locked"
	(
		flock "$1" -w 3600 9 || exit 1
		: > "$tmpdir/locked"
		while kill -0 $$ 2> /dev/null; do sleep 1; done
	) 9>> "$SUITE_LOCK" &
	lock_pid=$!
	bg_pids="$bg_pids $lock_pid"
	while [ ! -e "$tmpdir/locked" ] && kill -0 "$lock_pid" 2> /dev/null; do
		sleep 0.1
	done
	[ -e "$tmpdir/locked" ] || echo "warning: the suite lock ($SUITE_LOCK) was not taken" >&2
}
run_alone() { # run_alone REASON
	echo "running alone: $*" >&2
	suite_lock -x
}
suite_lock -s

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# skip_check TOOL WHAT: the checks that need TOOL are left out (WHAT says
# which, and how to install it), said in the log; the test goes on with
# the others. A whole test skips (exit 77) only when nothing else is left.
skip_check() {
	echo "skipped: $1 not installed (${2:-its checks})" >&2
}

# debug_hooks WHAT: true when siprof was configured with --enable-debug-hooks
# (config.h says so), so that SIPROF_DEBUG_HOLD_US and SIPROF_DEBUG_UNWIND_US
# act; otherwise false, after saying in the log that WHAT is left out.
# need_debug_hooks WHAT: the same for a whole test, which then skips.
debug_hooks() {
	grep -qx '#define SIPROF_DEBUG_HOOKS 1' "$top_builddir/config.h" 2> /dev/null && return 0
	echo "skipped: $1 (siprof was built without ./configure --enable-debug-hooks, so the SIPROF_DEBUG_* variables do nothing; sh contrib/setup.sh --check builds with it)" >&2
	return 1
}
need_debug_hooks() {
	debug_hooks "$1" || skip "this test needs a build with --enable-debug-hooks"
}

# Skip unless this machine lets us ptrace a process that is not our child.
need_ptrace() {
	sleep 30 &
	local victim=$!
	bg_pids="$bg_pids $victim"
	"$TARGETS/hold-tracer" "$victim" > "$tmpdir/ptrace-probe" 2>&1 &
	local tracer=$!
	local i=0
	while [ $i -lt 50 ] && ! grep -qs . "$tmpdir/ptrace-probe"; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$tracer" "$victim" 2>/dev/null
	wait "$tracer" "$victim" 2>/dev/null
	grep -q '^tracing' "$tmpdir/ptrace-probe" ||
		skip "ptrace is not permitted here: $(cat "$tmpdir/ptrace-probe") (needs root or CAP_SYS_PTRACE, and kernel.yama.ptrace_scope below 3)"
}

# start_chain [-fp] [DIR]: start the chain target, wait until every thread is
# in place, set TARGET_PID and STATE (its state directory).
start_chain() {
	local prog="$TARGETS/target-chain"
	if [ "${1:-}" = -fp ]; then
		prog="$TARGETS/target-chain-fp"
		shift
	fi
	STATE="${1:-$tmpdir/state}"
	mkdir -p "$STATE"
	rm -f "$STATE/ready" "$STATE/result"
	"$prog" "$STATE" &
	TARGET_PID=$!
	bg_pids="$bg_pids $TARGET_PID"
	wait_file "$STATE/ready"
}

wait_file() {
	local i=0
	while [ ! -s "$1" ]; do
		[ $i -lt 200 ] || fail "timed out waiting for $1"
		sleep 0.05
		i=$((i + 1))
	done
}

# stop_chain: SIGTERM the chain target and print its result line.
stop_chain() {
	kill -TERM "$TARGET_PID"
	wait_file "$STATE/result"
	wait "$TARGET_PID" 2>/dev/null
	cat "$STATE/result"
}

result_field() { # result_field NAME "usr1=1 rt=2 ..."
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# Every thread of PID runs (not stopped by a tracer) and nobody traces it.
assert_running() {
	local pid=$1 t s tracer
	[ -d "/proc/$pid" ] || fail "process $pid is gone"
	tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status")
	[ "$tracer" = 0 ] || fail "process $pid is still traced by $tracer"
	for t in /proc/"$pid"/task/*; do
		# A thread may exit between the glob and the read.
		s=$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f1)
		case $s in
		t|T|Z|X) fail "thread ${t##*/} of $pid is in state $s" ;;
		esac
	done
}

# The chain target makes progress (its worker thread runs).
progress_of() {
	awk '{print $14 + $15}' "/proc/$1/task/$(thread_tid "$1" worker)/stat"
}

thread_tid() { # thread_tid PID NAME
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm")" = "$2" ]; then
			echo "${t##*/}"
			return
		fi
	done
}

# frames FILE NAME: function names of thread NAME in a text dump, one a line.
frames() {
	awk -v name="\"$2\"" '
		/^thread / { inside = ($3 == name); next }
		inside && /^  #[0-9]/ { print $2 }
		inside && /^$/ { inside = 0 }' "$1"
}

# thread_block FILE NAME: the whole text block of thread NAME.
thread_block() {
	awk -v name="\"$2\"" '
		/^thread / { inside = ($3 == name) }
		inside { print }
		inside && /^$/ { inside = 0 }' "$1"
}

# compare EXPECTED-TEXT ACTUAL-FILE WHAT
compare() {
	printf '%s\n' "$1" > "$tmpdir/expected"
	diff -u "$tmpdir/expected" "$2" > "$tmpdir/diff" ||
		fail "$3 differs from what was expected:
$(cat "$tmpdir/diff")"
}

line_of() { # line_of MARKER FILE: the line number of a marker comment
	grep -n "$1" "$2" | head -1 | cut -d: -f1
}

# need_uprobes: what the tests of --alloc need (python3 for their checks,
# the kernel's uprobe PMU), or skip saying which is missing.
need_uprobes() {
	command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
	[ -e /sys/bus/event_source/devices/uprobe/type ] ||
		skip "the kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe; CONFIG_UPROBE_EVENTS)"
}
SITES_SRC=$top_srcdir/tests/targets/alloc-sites.c
LEAK_SRC=$top_srcdir/tests/targets/alloc-leak.c

# start_alloc NAME ARGS...: start tests/targets/target-alloc-NAME (the
# targets of --alloc, with their own counters) with a state directory of
# its own; sets TARGET_PID and STATE.
start_alloc() {
	STATE=$tmpdir/$1.$RANDOM
	mkdir -p "$STATE"
	"$TARGETS/target-alloc-$1" "$STATE" "${@:2}" &
	TARGET_PID=$!
	bg_pids="$bg_pids $TARGET_PID"
	wait_file "$STATE/ready"
}

# counts OUT: the target's own counters now (SIGUSR1), into OUT.
counts() {
	rm -f "$STATE/counts.json"
	kill -USR1 "$TARGET_PID"
	wait_file "$STATE/counts.json"
	cp "$STATE/counts.json" "$1"
}

CHAIN_SRC="$top_srcdir/tests/targets/chain.c"
PLUGIN_SRC="$top_srcdir/tests/targets/plugin.c"

# start_classes [--churn]: start the classes target (one known activity per
# thread), set TARGET_PID and STATE.
start_classes() {
	STATE="$tmpdir/classes"
	mkdir -p "$STATE"
	rm -f "$STATE/ready" "$STATE/result"
	"$TARGETS/target-classes" "$STATE" "$@" &
	TARGET_PID=$!
	bg_pids="$bg_pids $TARGET_PID"
	wait_file "$STATE/ready"
}

# start_waits MODE: start the waits target (threads that wait in known
# ways, named by role; MODE idle, timed or fds: tests/targets/waits.c), set
# TARGET_PID and STATE.
start_waits() {
	STATE="$tmpdir/waits-$1"
	mkdir -p "$STATE"
	rm -f "$STATE/ready"
	"$TARGETS/target-waits" "$STATE" "$1" &
	TARGET_PID=$!
	bg_pids="$bg_pids $TARGET_PID"
	wait_file "$STATE/ready"
}

# pick_thread NAME: in the live view (tmux_init), choose thread NAME from
# the threads panel (t).
pick_thread() {
	local row
	keys t PPage
	wait_screen 'view: threads' "the threads panel"
	# Its rows after "all threads", in the panel's order.
	row=$(screen | sed -n '/all threads/,$p' |
		awk -v n="$1" '{ for (i = 1; i < NF; i++) if ($i ~ /^[0-9]+$/ && $(i + 1) == n) { print NR - 1; exit } }')
	[ -n "$row" ] || fail "the picker does not list $1: $(screen)"
	for _ in $(seq "$row"); do keys Down; done
	keys Enter
}

# json_check FILE PYTHON-CODE: run assertions on a JSON document (as `doc`).
json_check() {
	command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
	python3 -c "
import json, sys
doc = json.load(open(sys.argv[1]))
$2
" "$1" || fail "JSON check failed on $1: $2"
}

# need_attacker: set ATTACKER to an unprivileged user (created when missing)
# for tests that play a hostile local user against root's siprof, and
# SHARED to a world-writable sticky directory (like /tmp) inside tmpdir.
# Skips where there is no root to attack or no user can be made.
ATTACKER=siprof-attacker
need_attacker() {
	[ "$(id -u)" = 0 ] || skip "this test plays an unprivileged user against root's siprof: it needs root"
	command -v setpriv > /dev/null || skip "setpriv (util-linux) is not installed"
	if ! id -u "$ATTACKER" > /dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$ATTACKER" 2> /dev/null ||
			id -u "$ATTACKER" > /dev/null 2>&1 ||
			skip "cannot create the unprivileged user $ATTACKER (useradd failed)"
	fi
	chmod 711 "$tmpdir"
	SHARED="$tmpdir/shared"
	mkdir -p "$SHARED"
	chmod 1777 "$SHARED"
}

# as_attacker CMD [ARGS...]: run CMD as ATTACKER (see need_attacker).
as_attacker() {
	setpriv --reuid="$ATTACKER" --regid="$ATTACKER" --clear-groups -- "$@"
}

# tmux_init SESSION: drive a terminal program as a person would, in tmux on
# a private server that goes with the test: tm (tmux on that server),
# screen (the text of SESSION's pane now), wait_screen PATTERN WHAT [TRIES]
# (until the screen matches, every 0.1 s, 100 tries unless told),
# wait_screen_not PATTERN WHAT [TRIES] (until it no longer matches: what
# should go away did) and keys KEYS... (typed into SESSION, then a moment
# to draw).
tmux_init() {
	command -v tmux > /dev/null || skip "tmux is not installed (contrib/setup.sh installs it)"
	sock="$tmpdir/tmux.sock"
	tmux_session=$1
	trap 'tm kill-server 2>/dev/null; cleanup' EXIT
	# A session of its own keeps the server up between a test's views: a
	# server whose last session is killed exits, and a new-session that
	# reaches it while it does is lost with it ("no server running").
	tm new-session -d -s keep-server 'sleep 86400' ||
		fail "tmux cannot start a server on $sock"
}
tm() { tmux -S "$sock" "$@"; }
screen() { tm capture-pane -p -t "$tmux_session"; }
wait_screen() {
	local i=0
	until screen | grep -qE -- "$1"; do
		[ $i -lt "${3:-100}" ] || fail "$2: the screen never showed /$1/:
$(screen)"
		sleep 0.1
		i=$((i + 1))
	done
}
wait_screen_not() {
	local i=0
	while screen | grep -qE -- "$1"; do
		[ $i -lt "${3:-100}" ] || fail "$2: the screen still shows /$1/:
$(screen)"
		sleep 0.1
		i=$((i + 1))
	done
}
keys() { tm send-keys -t "$tmux_session" "$@"; sleep 0.4; }

# start_receiver: the loopback ingest receiver (tests/ingest-server.py) with
# its state in srv (plan, log, bodies), URL its address, and requests the
# number of requests it has logged.
start_receiver() {
	srv=$tmpdir/srv
	mkdir -p "$srv"
	python3 "$top_srcdir/tests/ingest-server.py" "$srv" 2> "$srv/stderr" &
	bg_pids="$bg_pids $!"
	wait_file "$srv/port"
	URL=http://127.0.0.1:$(cat "$srv/port")
}
requests() { [ -f "$srv/log" ] && wc -l < "$srv/log" || echo 0; }

# sanitized: true when siprof was built with --enable-sanitizers (ASan
# links its runtime in, which valgrind cannot run, and which adds shadow
# memory and a quarantine of freed blocks to siprof's RSS).
sanitized() { ldd "$SIPROF" 2> /dev/null | grep -q 'libasan'; }

# start_rust [-v0 [ARG...]] / start_go [-stripped [ARG...]]: start the Rust
# or Go target (tests/targets/rsprog.rs, goprog.go; "" for the plain one,
# ARGs after its state directory), set TARGET_PID and STATE. Skips
# when the toolchain was not found at configure time (setup --check
# installs it).
start_rust() {
	local prog="$TARGETS/target-rust${1:-}"
	[ -x "$prog" ] || skip "no Rust target ($prog): rustc was not found when siprof was configured (sh contrib/setup.sh --check installs it)"
	STATE="$tmpdir/rust${1:-}"
	mkdir -p "$STATE"
	rm -f "$STATE/ready"
	"$prog" "$STATE" "${@:2}" &
	TARGET_PID=$!
	bg_pids="$bg_pids $TARGET_PID"
	wait_file "$STATE/ready"
}
start_go() {
	local prog="$TARGETS/target-go${1:-}"
	[ -x "$prog" ] || skip "no Go target ($prog): go was not found when siprof was configured (sh contrib/setup.sh --check installs golang-go)"
	STATE="$tmpdir/go${1:-}"
	mkdir -p "$STATE"
	rm -f "$STATE/ready"
	"$prog" "$STATE" "${@:2}" &
	TARGET_PID=$!
	bg_pids="$bg_pids $TARGET_PID"
	wait_file "$STATE/ready"
}

# start_postgres: a PostgreSQL 15 server of its own in $tmpdir/pg (Debian's
# postgresql-15, run as the postgres user), listening on a unix socket
# only; sets PG_PID (the postmaster) and PGHOST/PGPORT for psql. pg_sql
# SQL... runs psql as postgres; pg_backend_pids prints every backend's pid.
PG_BIN=/usr/lib/postgresql/15/bin
start_postgres() {
	[ -x "$PG_BIN/postgres" ] || skip "PostgreSQL 15 is not installed (sh contrib/setup.sh --check installs postgresql)"
	id postgres > /dev/null 2>&1 || skip "no postgres user (Debian's postgresql package makes it)"
	command -v psql > /dev/null || skip "no psql"
	chmod 755 "$tmpdir"
	mkdir -p "$tmpdir/pg"
	chown postgres "$tmpdir/pg"
	setpriv --reuid=postgres --regid=postgres --init-groups \
		"$PG_BIN/initdb" -A trust -D "$tmpdir/pg/data" > "$tmpdir/pg/initdb.log" 2>&1 ||
		fail "initdb failed: $(tail -5 "$tmpdir/pg/initdb.log")"
	PGHOST=$tmpdir/pg
	PGPORT=$((20000 + $$ % 20000))
	export PGHOST PGPORT
	setpriv --reuid=postgres --regid=postgres --init-groups \
		"$PG_BIN/postgres" -D "$tmpdir/pg/data" -k "$PGHOST" -p "$PGPORT" \
		-c listen_addresses= -c shared_buffers=16MB > "$tmpdir/pg/server.log" 2>&1 &
	PG_PID=$!
	bg_pids="$bg_pids $PG_PID"
	local i=0
	until psql -U postgres -d postgres -Atqc 'select 1' > /dev/null 2>&1; do
		[ $i -lt 200 ] || fail "postgres did not start: $(tail -5 "$tmpdir/pg/server.log")"
		sleep 0.1
		i=$((i + 1))
	done
}
pg_sql() { psql -U postgres -d postgres -Atqc "$*"; }
pg_backend_pids() { pg_sql "select pid from pg_stat_activity where backend_type = 'client backend'"; }

# start_redis: a redis-server of its own on a unix socket in $tmpdir; sets
# REDIS_PID and REDIS_SOCK.
# start_pg_backends: after start_postgres, client backends in four states,
# their pids in PG_IDLE (idle), PG_IN_XACT (idle in a transaction),
# PG_SLEEPING (in pg_sleep) and PG_LOCKED (waiting on LOCK TABLE held by
# another). Each session reads its SQL from a fifo the test holds open on
# fds 3 to 7.
pg_session() { # N SQL
	mkfifo "$tmpdir/in$1"
	psql -U postgres -d postgres -Atq < "$tmpdir/in$1" > /dev/null 2>&1 &
	bg_pids="$bg_pids $!"
	eval "exec $1> \"\$tmpdir/in$1\""
	printf '%s\n' "$2" >&"$1"
}
pg_backend_in() { # STATE-PATTERN: the pid of the backend in that state, waited for
	local i=0 p
	while :; do
		p=$(pg_sql "select pid from pg_stat_activity where backend_type = 'client backend' and $1 limit 1")
		[ -n "$p" ] && { echo "$p"; return; }
		[ $i -lt 100 ] || return 1
		sleep 0.1; i=$((i + 1))
	done
}
start_pg_backends() {
	local i=0
	pg_sql 'create table t (x int)'
	pg_session 3 'select pg_sleep(300);'
	pg_session 4 'begin; select 1;'
	pg_session 5 'select 2;'
	pg_session 6 'begin; lock table t;'
	# The second locker waits once the first holds the lock.
	until [ "$(pg_sql "select count(*) from pg_locks where relation = 't'::regclass and granted")" -ge 1 ]; do
		[ $i -lt 100 ] || fail "the first LOCK TABLE was not granted"
		sleep 0.1; i=$((i + 1))
	done
	pg_session 7 'begin; lock table t;'
	PG_SLEEPING=$(pg_backend_in "wait_event = 'PgSleep'") || fail "no backend in pg_sleep"
	PG_IN_XACT=$(pg_backend_in "state = 'idle in transaction' and query = 'select 1;'") ||
		fail "no backend idle in a transaction"
	PG_IDLE=$(pg_backend_in "state = 'idle' and query = 'select 2;'") || fail "no idle backend"
	PG_LOCKED=$(pg_backend_in "wait_event_type = 'Lock'") || fail "no backend waiting for a lock"
}

start_redis() {
	command -v redis-server > /dev/null || skip "redis-server is not installed (sh contrib/setup.sh --check installs redis-server)"
	REDIS_SOCK=$tmpdir/redis.sock
	redis-server --port 0 --unixsocket "$REDIS_SOCK" --save '' --appendonly no \
		--dir "$tmpdir" > "$tmpdir/redis.log" 2>&1 &
	REDIS_PID=$!
	bg_pids="$bg_pids $REDIS_PID"
	local i=0
	until redis-cli -s "$REDIS_SOCK" ping 2> /dev/null | grep -q PONG; do
		[ $i -lt 100 ] || fail "redis did not start: $(tail -5 "$tmpdir/redis.log")"
		sleep 0.1
		i=$((i + 1))
	done
}

# gdb_bt PID FILE: gdb's `thread apply all bt` of PID into FILE (the
# process is stopped while gdb reads it and left running after).
gdb_bt() {
	command -v gdb > /dev/null || skip "gdb is not installed"
	gdb -q -batch -nx -p "$1" -ex 'set pagination off' -ex 'set print frame-arguments none' \
		-ex 'thread apply all bt' > "$2" 2> "$2.err" < /dev/null ||
		fail "gdb could not read process $1: $(tail -3 "$2.err")"
}

# ---- names (tests/run-dump-names*.sh, run-report-names.sh) ----
# gdb_names FILE TID: the function of each frame gdb printed for thread TID
# in a gdb_bt file, one a line ("??" where gdb had none).
gdb_names() {
	python3 - "$1" "$2" <<'PY'
import re, sys
inside = False
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("Thread "):
        inside = re.search(r"\(LWP %s\)" % sys.argv[2], line) is not None
        continue
    if not inside or not line.startswith("#"):
        continue
    s = re.sub(r"^#\d+\s+(0x[0-9a-f]+ in )?", "", line.rstrip("\n"))
    s = re.sub(r" (at \S+:\d+|from \S+)$", "", s)
    # The arguments, as "set print frame-arguments none" shows them.
    s = re.sub(r" \((\w+=\.\.\.(, \w+=\.\.\.)*)?\)$", "", s)
    print(s)
PY
}
# dump_names FILE TID: the function of each frame of thread TID in a text
# dump (-v or not), one a line; module+offset where it had none.
dump_names() {
	python3 - "$1" "$2" <<'PY'
import re, sys
inside = False
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("thread "):
        inside = line.split()[1] == sys.argv[2]
        continue
    if not inside or not re.match(r"^  #\d", line):
        continue
    s = re.sub(r"^  #\d+\s+(0x[0-9a-f]{16} )?", "", line.rstrip("\n"))
    s = re.sub(r" \(inlined\)$", "", s)
    s = re.sub(r" \[[^]]*\]$", "", s)
    s = re.sub(r" \([^ ()]+\)$", "", s)
    print(s)
PY
}
# dump_pcs FILE TID: "PC NAME [MODULE]" for each frame of thread TID in a
# dump -v.
dump_pcs() {
	python3 - "$1" "$2" <<'PY'
import re, sys
inside = False
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("thread "):
        inside = line.split()[1] == sys.argv[2]
        continue
    m = re.match(r"^  #\d+\s+(0x[0-9a-f]{16}) (.*?)( \([^ ()]+\))? \[([^]]*)\]( \(inlined\))?$", line.rstrip("\n"))
    if inside and m:
        print(m.group(1), m.group(2), m.group(4))
PY
}
# load_base PID FILE: the address FILE's first mapping starts at in PID.
load_base() {
	awk -v f="$2" '$6 == f && $3 ~ /^0+$/ { sub(/-.*/, "", $1); print "0x" $1; exit }' "/proc/$1/maps"
}
