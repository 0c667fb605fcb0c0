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

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
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
# (until the screen matches, every 0.1 s, 100 tries unless told) and keys
# KEYS... (typed into SESSION, then a moment to draw).
tmux_init() {
	command -v tmux > /dev/null || skip "tmux is not installed (contrib/setup.sh installs it)"
	sock="$tmpdir/tmux.sock"
	tmux_session=$1
	trap 'tm kill-server 2>/dev/null; cleanup' EXIT
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
