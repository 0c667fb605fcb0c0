#!/bin/bash
# What a blocked call waits on, named by path or address, in dump (text and
# --json) and in the live view's detail line: a read() of a FIFO and a
# flock() of a regular file (their paths), select() and poll() on several
# descriptors, recv() on both ends of a unix stream connection (the
# server's end by its path, the client's, which has none, by its peer's),
# recvfrom() on a UDP socket (its local address). The references: the
# target's own fds, fstat and getsockname (tests/targets/waits.c writes them
# to its state directory), the links of /proc/PID/fd, the kernel's tables
# /proc/net/unix and /proc/net/udp, and ss where it is installed.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_waits paths

paths=$(cat "$STATE/paths")
f() { result_field "$1" "$paths"; }
link() { readlink "/proc/$TARGET_PID/fd/$1"; }
fifo=$STATE/fifo
usock=$STATE/sock
[ "$(link "$(f fifo_fd)")" = "$fifo" ] || fail "fd $(f fifo_fd) is not the FIFO: $(link "$(f fifo_fd)")"
[ "$(link "$(f lock_fd)")" = "$STATE/locked" ] || fail "fd $(f lock_fd) is not the locked file"
[ "$(link "$(f pipe_fd)")" = "pipe:[$(f pipe)]" ] || fail "fd $(f pipe_fd) is not pipe $(f pipe)"
udp_ino=$(stat -L -c %i "/proc/$TARGET_PID/fd/$(f udp_fd)")
[ "$(link "$(f udp_fd)")" = "socket:[$udp_ino]" ] || fail "fd $(f udp_fd) is not a socket: $(link "$(f udp_fd)")"
# The kernel's tables: the UDP socket's local address by its inode, the
# unix sockets' paths by theirs (the client's end has none).
python3 - "$TARGET_PID" "$udp_ino" "$(f udp)" "$(f unix_server)" "$(f unix_client)" "$usock" <<'EOF' ||
import socket, struct, sys
pid, udp_ino, udp, server, client, path = sys.argv[1:]
def hexaddr(h):
    a, p = h.split(":")
    return "%s:%d" % (socket.inet_ntoa(struct.pack("=I", int(a, 16))), int(p, 16))
udps = {l.split()[9]: hexaddr(l.split()[1]) for l in open("/proc/%s/net/udp" % pid).readlines()[1:]}
assert udps.get(udp_ino) == udp, ("/proc/net/udp", udp_ino, udp, udps)
unix = {}
for l in open("/proc/%s/net/unix" % pid).readlines()[1:]:
    w = l.split()
    unix[w[6]] = w[7] if len(w) > 7 else None
assert unix.get(server) == path, ("the server's end", server, unix.get(server))
assert client in unix and unix[client] is None, ("the client's end", client, unix.get(client))
EOF
	fail "the kernel's tables do not show the target's sockets as it says (above)"
# ss, when it is there: the client's peer is the server's end.
if command -v ss > /dev/null; then
	ss -xanH > "$tmpdir/ss" 2>&1
	grep -qE " $(f unix_client) +\* $(f unix_server)( |$)" "$tmpdir/ss" ||
		fail "ss does not show $(f unix_server) as the peer of $(f unix_client): $(grep -E "$(f unix_client)|$(f unix_server)" "$tmpdir/ss")"
	ss -uanH > "$tmpdir/ss-udp" 2>&1
	grep -qF " $(f udp) " "$tmpdir/ss-udp" || fail "ss does not list the UDP socket $(f udp)"
fi

"$SIPROF" dump "$TARGET_PID" > "$tmpdir/dump" 2> "$tmpdir/err" || fail "dump exited with $?: $(cat "$tmpdir/err")"
line() { thread_block "$tmpdir/dump" "$1" | sed -n 's/^  waits on //p'; }
expect() { # expect THREAD LINE
	[ "$(line "$1")" = "$2" ] ||
		fail "$1 does not wait on '$2': $(thread_block "$tmpdir/dump" "$1")"
	echo "$1 waits on $2"
}
expect fiforeader "fd $(f fifo_fd) pipe $fifo"
expect flocker "fd $(f lock_fd) file $STATE/locked"
# glibc's select() is pselect6; the descriptors in the order of their numbers.
lo=$(f fifo_fd) hi=$(f pipe_fd)
if [ "$lo" -lt "$hi" ]; then
	expect selector "fd $lo pipe $fifo; fd $hi pipe:[$(f pipe)]"
else
	expect selector "fd $hi pipe:[$(f pipe)]; fd $lo pipe $fifo"
fi
expect poller "fd $(f pipe_fd) pipe:[$(f pipe)]; fd $(f udp_fd) udp $(f udp)"
expect unixserver "fd $(f unix_server_fd) unix $usock"
expect unixclient "fd $(f unix_client_fd) unix socket:[$(f unix_client)] -> $usock"
expect udpreader "fd $(f udp_fd) udp $(f udp)"
thread_block "$tmpdir/dump" selector | grep -qE '^thread [0-9]+ "selector" sleeping in (pselect6|select)' ||
	fail "the selector is not in select: $(thread_block "$tmpdir/dump" selector)"

"$SIPROF" dump --json "$TARGET_PID" > "$tmpdir/dump.json" 2> "$tmpdir/err" ||
	fail "dump --json exited with $?: $(cat "$tmpdir/err")"
json_check "$tmpdir/dump.json" "
t = {x['name']: x for x in doc['threads']}
def fds(name):
    w = t[name]['waits_on']
    assert w['epoll_fd'] is None and w['total'] == len(w['fds']), w
    return [(x['fd'], x['type'], x['address'], x['peer']) for x in w['fds']]
assert fds('fiforeader') == [($(f fifo_fd), 'pipe', '$fifo', None)], fds('fiforeader')
assert fds('flocker') == [($(f lock_fd), 'file', '$STATE/locked', None)], fds('flocker')
assert sorted(fds('selector')) == sorted([($(f fifo_fd), 'pipe', '$fifo', None),
                                          ($(f pipe_fd), 'pipe', None, None)]), fds('selector')
assert fds('poller') == [($(f pipe_fd), 'pipe', None, None), ($(f udp_fd), 'udp', '$(f udp)', None)], fds('poller')
assert fds('unixserver') == [($(f unix_server_fd), 'unix', '$usock', None)], fds('unixserver')
assert fds('unixclient') == [($(f unix_client_fd), 'unix', None, '$usock')], fds('unixclient')
c = t['unixclient']['waits_on']['fds'][0]
assert c['inode'] == $(f unix_client) and c['state'] == 'connected', c
assert fds('udpreader') == [($(f udp_fd), 'udp', '$(f udp)', None)], fds('udpreader')
"

# The live view: the detail line of a picked thread says the same.
tmux_init paths
tm new-session -d -s paths -x 220 -y 30 -c "$tmpdir" \
	"TERM=xterm-256color '$SIPROF' attach -c wall $TARGET_PID; echo EXITED \$?; sleep 60"
wait_screen 'Wall' "the live view"
esc() { printf '%s' "$1" | sed 's/[][\.*^$()+?{}|]/\\&/g'; }
pick_thread fiforeader
wait_screen "fiforeader: in read, waits on fd $(f fifo_fd) pipe $(esc "$fifo")" "the FIFO reader's detail line"
pick_thread unixclient
wait_screen "unixclient: in recvfrom, waits on fd $(f unix_client_fd) unix socket:\[$(f unix_client)\] -> $(esc "$usock")" \
	"the unix client's detail line"
pick_thread udpreader
wait_screen "udpreader: in recvfrom, waits on fd $(f udp_fd) udp $(esc "$(f udp)")" "the UDP reader's detail line"
keys q
wait_screen 'EXITED 0' "quitting"
assert_running "$TARGET_PID"
kill -TERM "$TARGET_PID"
wait "$TARGET_PID" 2> /dev/null
exit 0
