#!/bin/bash
# What a blocked call waits on, in dump (text and --json) and in the live
# view's detail line: an epoll set of a listening TCP socket and an accepted
# connection, a read() on a pipe, a poll() on a connected TCP socket. The
# reference is the target's own getsockname, getpeername and fstat
# (tests/targets/waits.c writes them to its state directory), and ss where
# it is installed.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
start_waits fds

addrs=$(cat "$STATE/addrs")
f() { result_field "$1" "$addrs"; }
listen=$(f listen)
acc=$(f accepted)        # local:port:peer:port
acc_local=${acc%:*:*}
acc_peer=${acc#*:*:}
pol=$(f pollsock)
pol_local=${pol%:*:*}
pol_peer=${pol#*:*:}
[ "$pol_peer" = "$listen" ] || fail "the target's own addresses do not add up: $addrs"

# Another view of the same sockets: ss, when it is there.
if command -v ss > /dev/null; then
	ss -tanH > "$tmpdir/ss" 2>&1
	grep -qE "^LISTEN .* $listen " "$tmpdir/ss" || fail "ss does not list $listen listening: $(cat "$tmpdir/ss")"
	grep -qE "^ESTAB .* $acc_local +$acc_peer" "$tmpdir/ss" || fail "ss does not list $acc_local $acc_peer"
fi

"$SIPROF" dump "$TARGET_PID" > "$tmpdir/dump" 2> "$tmpdir/err" || fail "dump exited with $?: $(cat "$tmpdir/err")"
line() { thread_block "$tmpdir/dump" "$1" | sed -n 's/^  waits on //p'; }
ep=$(line epoller)
echo "epoller waits on $ep"
case $ep in
"epoll fd $(f epfd) (2 fds): "*) ;;
*) fail "the epoll set is not named: $(thread_block "$tmpdir/dump" epoller)" ;;
esac
echo "$ep" | grep -qF "fd $(f listen_fd) tcp $listen (listening)" ||
	fail "the listening socket $listen is not in the epoll set's line: $ep"
echo "$ep" | grep -qF "fd $(f accepted_fd) tcp $acc_local -> $acc_peer" ||
	fail "the accepted connection $acc_local -> $acc_peer is not in the epoll set's line: $ep"
[ "$(line pipereader)" = "fd $(f pipe_fd) pipe:[$(f pipe)]" ] ||
	fail "the pipe is not named: $(thread_block "$tmpdir/dump" pipereader)"
[ "$(line pollsock)" = "fd $(f poll_fd) tcp $pol_local -> $pol_peer" ] ||
	fail "the polled socket is not named: $(thread_block "$tmpdir/dump" pollsock)"
[ -z "$(line target-waits)" ] || fail "the main thread (in nanosleep) waits on something: $(line target-waits)"

"$SIPROF" dump --json "$TARGET_PID" > "$tmpdir/dump.json" 2> "$tmpdir/err" ||
	fail "dump --json exited with $?: $(cat "$tmpdir/err")"
json_check "$tmpdir/dump.json" "
t = {x['name']: x for x in doc['threads']}
ep = t['epoller']['waits_on']
assert ep['epoll_fd'] == $(f epfd) and ep['total'] == 2, ep
fds = {x['fd']: x for x in ep['fds']}
l = fds[$(f listen_fd)]
assert (l['type'], l['state'], l['address'], l['peer']) == ('tcp', 'listening', '$listen', None), l
a = fds[$(f accepted_fd)]
assert (a['type'], a['state'], a['address'], a['peer']) == ('tcp', 'established', '$acc_local', '$acc_peer'), a
p = t['pipereader']['waits_on']
assert p['epoll_fd'] is None and [(x['fd'], x['type'], x['inode']) for x in p['fds']] == [($(f pipe_fd), 'pipe', $(f pipe))], p
s = t['pollsock']['waits_on']['fds']
assert [(x['fd'], x['address'], x['peer']) for x in s] == [($(f poll_fd), '$pol_local', '$pol_peer')], s
assert t['target-waits']['waits_on'] is None, t['target-waits']
"

# The live view: pick a thread, its detail line says what it waits on.
tmux_init fds
tm new-session -d -s fds -x 200 -y 30 -c "$tmpdir" \
	"TERM=xterm-256color '$SIPROF' attach -c wall $TARGET_PID; echo EXITED \$?; sleep 60"
wait_screen 'Wall' "the live view"
pick_thread epoller
wait_screen "thread [0-9]+ epoller: in epoll_wait, waits on epoll fd $(f epfd) \(2 fds\)" "the epoller's detail line"
screen | grep -qF "fd $(f listen_fd) tcp $listen (listening)" || fail "the detail line lacks the listening socket: $(screen)"
pick_thread pipereader
wait_screen "pipereader: in read, waits on fd $(f pipe_fd) pipe:\[$(f pipe)\]" "the pipe reader's detail line"
pick_thread pollsock
# A poll that siprof's stops interrupted goes on as restart_syscall.
wait_screen "pollsock: in poll( \(restarted\))?, waits on fd $(f poll_fd) tcp $pol_local -> $pol_peer" "the poller's detail line"
keys q
wait_screen 'EXITED 0' "quitting"
assert_running "$TARGET_PID"
kill -TERM "$TARGET_PID"
wait "$TARGET_PID" 2> /dev/null
