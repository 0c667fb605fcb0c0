#!/bin/bash
# siprof's stacks against gdb's, frame by frame, in real programs: PostgreSQL
# backends (idle, idle in a transaction, in pg_sleep, waiting for a LOCK
# TABLE another session holds), the postmaster and its auxiliary processes,
# the Rust targets (legacy and v0 symbols), the Go target, redis-server,
# and the Go target without symbols or CFI (frame pointers; gdb reads it
# with the unstripped build's symbols, the same code at the same
# addresses). siprof dumps each, then gdb backtraces it, then siprof dumps
# it again; tests/gdb-agree.py compares the threads that stayed blocked
# through the three and prints a table (its thresholds and required frames
# are at its top). A program whose tool is missing is left out, and the
# test then skips, saying which, once the others agree. SIPROF_AGREE_ARGS
# adds options to every dump (SIPROF_AGREE_ARGS='-u fp' must fail: frame
# pointers alone lose glibc's callers).
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "no python3"
command -v gdb > /dev/null || skip "gdb is not installed"
command -v readelf > /dev/null || skip "no readelf (binutils)"

agree=$tmpdir/agree
missing=""
programs=""
# add_program NAME PID...: compare the stacks of these processes as NAME.
add_program() {
	local name=$1
	shift
	mkdir -p "$agree/$name/a" "$agree/$name/b"
	echo "$*" > "$agree/$name/pids"
	programs="$programs $name"
}
role() { echo "$2 $3" >> "$agree/$1/roles"; } # role PROGRAM TID ROLE

# ---- PostgreSQL ----
if [ ! -x "$PG_BIN/postgres" ] || ! id postgres > /dev/null 2>&1 || ! command -v psql > /dev/null; then
	missing="$missing; postgres (PostgreSQL 15 with its postgres user and psql: sh contrib/setup.sh --check installs it)"
else
	start_postgres
	start_pg_backends
	sleeping=$PG_SLEEPING in_xact=$PG_IN_XACT idle=$PG_IDLE locked=$PG_LOCKED
	add_program postgres-backends "$idle" "$in_xact" "$sleeping" "$locked"
	role postgres-backends "$idle" idle
	role postgres-backends "$in_xact" idle-in-transaction
	role postgres-backends "$sleeping" pg_sleep
	role postgres-backends "$locked" lock-waiter
	# The postmaster and its long-lived children, named by their titles
	# ("postgres: checkpointer "); not the client backends, nor what comes
	# and goes (an autovacuum worker, a backend of pg_sql's).
	aux=$PG_PID
	role_of() { tr '\0' ' ' < "/proc/$1/cmdline" 2> /dev/null | sed 's/^postgres: //; s/ *$//; s/ /-/g'; }
	add_program postgres-aux
	role postgres-aux "$PG_PID" postmaster
	for p in $(pgrep -P "$PG_PID"); do
		r=$(role_of "$p")
		case $r in
		'' | postgres* | autovacuum-worker*) continue ;;
		esac
		aux="$aux $p"
		role postgres-aux "$p" "$r"
	done
	echo "$aux" > "$agree/postgres-aux/pids"
fi

# ---- Rust ----
for v in "" -v0; do
	if [ ! -x "$TARGETS/target-rust$v" ]; then
		missing="$missing; target-rust$v (rustc was not found when siprof was configured)"
		continue
	fi
	start_rust $v
	add_program "target-rust$v" "$TARGET_PID"
	role "target-rust$v" "$TARGET_PID" main
	# The acceptor in accept4, the waiter in its futex wait.
	for t in /proc/"$TARGET_PID"/task/*; do
		i=0
		until grep -qs '^\(288\|202\) ' "$t/syscall" || [ "$(cat "$t/comm")" = spinner ]; do
			[ $i -lt 100 ] || fail "thread ${t##*/} of target-rust$v is not blocked: $(cat "$t/syscall")"
			sleep 0.1; i=$((i + 1))
		done
	done
done

# ---- Go ----
for v in "" -stripped; do
	if [ ! -x "$TARGETS/target-go$v" ]; then
		missing="$missing; target-go$v (go was not found when siprof was configured)"
		continue
	fi
	start_go $v
	add_program "target-go$v" "$TARGET_PID"
	# The thread in main.bigFrame blocked in read(2) of its pipe.
	i=0
	until grep -qs '^0 ' /proc/"$TARGET_PID"/task/*/syscall; do
		[ $i -lt 100 ] || fail "no thread of target-go$v is in read(2)"
		sleep 0.1; i=$((i + 1))
	done
done
# gdb reads the stripped build with the unstripped one's symbols: -s -w
# drops only the symbol table and DWARF, after the code, which keeps its
# functions at the same addresses (its .text starts at the same address,
# with the same size).
if [ -x "$TARGETS/target-go-stripped" ]; then
	text() { readelf -SW "$1" | awk '{ for (i = 1; i < NF; i++) if ($i == ".text") print $(i + 2), $(i + 4) }'; }
	with=$(text "$TARGETS/target-go")
	without=$(text "$TARGETS/target-go-stripped")
	[ -n "$with" ] && [ "$with" = "$without" ] ||
		fail "target-go's .text ($with) is not target-go-stripped's ($without): gdb cannot read one with the other's symbols"
fi

# ---- redis ----
if command -v redis-server > /dev/null && command -v redis-cli > /dev/null; then
	start_redis
	add_program redis-server "$REDIS_PID"
else
	missing="$missing; redis-server (sh contrib/setup.sh --check installs redis-server)"
fi

[ -n "$programs" ] || skip "no program to compare: ${missing#; }"

# siprof, gdb, siprof. Four dumps at a time (the machine is shared).
dumps() { # a|b NAME...
	local name p which=$1
	local -a running=()
	shift
	for name in "$@"; do
		rm -f "$agree/$name/$which"/*
		for p in $(cat "$agree/$name/pids"); do
			# shellcheck disable=SC2086
			{ "$SIPROF" dump --json ${SIPROF_AGREE_ARGS:-} "$p" > "$agree/$name/$which/$p.json" 2> "$agree/$name/$which/$p.err" ||
				echo "$?" > "$agree/$name/$which/$p.rc"; } &
			running+=("$!")
			if [ ${#running[@]} -ge 4 ]; then
				wait "${running[0]}"
				running=("${running[@]:1}")
			fi
		done
	done
	for p in "${running[@]}"; do wait "$p"; done
	for name in "$@"; do
		for p in $(cat "$agree/$name/pids"); do
			[ ! -e "$agree/$name/$which/$p.rc" ] ||
				fail "dump of $name ($p) exited with $(cat "$agree/$name/$which/$p.rc"): $(cat "$agree/$name/$which/$p.err")"
		done
	done
}
# One gdb for all, the processes attached side by side, one inferior each:
# gdb reads each file's symbols once (glibc's debug file is the largest).
backtraces() { # NAME...
	local name p n=1
	local -a args=(-q -batch -nx -ex 'set pagination off' -ex 'set print frame-arguments none'
		-ex 'set backtrace past-main on' -ex 'set backtrace past-entry on'
		-ex 'set auto-load python-scripts off')
	for name in "$@"; do
		for p in $(cat "$agree/$name/pids"); do
			[ $n = 1 ] || args+=(-ex add-inferior -ex "inferior $n")
			args+=(-ex "attach $p")
			[ "$name" = target-go-stripped ] && args+=(-ex "symbol-file $TARGETS/target-go")
			n=$((n + 1))
		done
	done
	gdb "${args[@]}" -ex 'thread apply all bt' > "$tmpdir/gdb.txt" 2> "$tmpdir/gdb.err" < /dev/null ||
		fail "gdb could not read $*: $(tail -3 "$tmpdir/gdb.err")"
	for name in "$@"; do
		for p in $(cat "$agree/$name/pids"); do
			grep -qE "LWP $p\\b" "$tmpdir/gdb.txt" ||
				fail "gdb shows no thread of $name's process $p: $(tail -3 "$tmpdir/gdb.err")"
		done
		cp "$tmpdir/gdb.txt" "$agree/$name/gdb.txt"
	done
}
reads() { # NAME...: siprof, gdb, siprof
	dumps a "$@"
	backtraces "$@"
	dumps b "$@"
}

# A program whose threads moved (one that must be counted was not, or gdb
# saw a thread elsewhere than siprof did before and after) is read again,
# twice at most; what the last reads show stands.
# shellcheck disable=SC2086
todo=$programs
for attempt in 1 2 3; do
	reads $todo
	rm -f "$tmpdir/retry"
	(cd "$agree" && python3 "$top_srcdir/tests/gdb-agree.py" --retry "$tmpdir/retry" $programs) > "$tmpdir/table" && break
	[ $attempt -lt 3 ] && [ -s "$tmpdir/retry" ] ||
		fail "siprof's stacks do not agree with gdb's:
$(cat "$tmpdir/table")"
	todo=$(tr '\n' ' ' < "$tmpdir/retry")
	grep '^DISAGREE' "$tmpdir/table"
	echo "read again, the threads may have moved: $todo"
done
cat "$tmpdir/table"
[ -z "$missing" ] || skip "the others agree; left out: ${missing#; }"
