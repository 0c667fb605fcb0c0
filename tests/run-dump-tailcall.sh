#!/bin/bash
# Tail calls, against gdb: where a glibc function ends in a jump to another
# (__futex_abstimed_wait_cancelable64 is `mov $1,%r9d; jmp
# __futex_abstimed_wait_common`), the machine stack has no frame for it and
# gdb puts it back from the DWARF call-site information, saying "tail call
# frame" in its `info frame`. For the threads of tests/targets/waits.c that
# wait on a condition variable, a semaphore, a rwlock, and their timed
# forms, siprof dump shows gdb's frames: the same functions in the same
# order at the same pcs (gdb's return addresses less one for callers), the
# frames gdb calls tail-call frames marked "(tail call)" in the text and
# tail_call in the JSON, the inlined ones inlined, and no others marked. A
# recorded session keeps the frame and its mark (report --tree --json) and
# export -f folded shows it as an ordinary frame.
# Also: a process stopped with SIGSTOP (its threads' state T in /proc) is
# shown as "stopped (SIGSTOP)", never as stopped by a tracer, and is left
# stopped.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v gdb > /dev/null || skip "gdb is not installed (contrib/setup.sh installs it)"
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"

# gdb's frames, one `info frame` each (its bt does not say which frames are
# tail calls).
gdb_frames() {
	gdb -q -batch -nx -p "$1" -ex 'set pagination off' -ex 'set print frame-arguments none' \
		-ex 'thread apply all frame apply all -q info frame' > "$2" 2> "$2.err" < /dev/null ||
		fail "gdb could not read process $1: $(tail -3 "$2.err")"
}

# compare.py GDB-OUTPUT DUMP-JSON DUMP-TEXT THREAD...: siprof's frames of
# each THREAD against gdb's. Names agree when they are the same once
# glibc's internal prefixes are taken off (__GI___x is x) or when the
# module's symbol table has both at one address (sem_wait is
# __new_sem_wait): the pcs say which function it is.
cat > "$tmpdir/compare.py" << 'EOF'
import itertools, json, os, re, subprocess, sys

def gdb_threads(path):
    threads, cur, fr = {}, None, None
    for line in open(path, errors='replace'):
        m = re.match(r'^Thread \d+ .*"([^"]*)"\):$', line)
        if m:
            cur, fr = threads.setdefault(m.group(1), []), None
            continue
        if re.match(r'^Stack level \d+, frame at', line) and cur is not None:
            fr = {'kind': 'machine', 'pc': None, 'function': None}
            cur.append(fr)
            continue
        if fr is None:
            continue
        m = re.match(r'^ rip = (0x[0-9a-f]+)(?: in (\S+))?', line)
        if m:
            fr['pc'] = int(m.group(1), 16)
            fr['function'] = m.group(2)
        elif line.startswith(' tail call frame'):
            fr['kind'] = 'tail call'
        elif line.startswith(' inlined into frame'):
            fr['kind'] = 'inlined'
    return threads

def plain(name):
    s = name.lstrip('_')
    if s.startswith('GI_'):
        s = s[3:].lstrip('_')
    return s

symtabs = {}
def addresses(f, name):
    mod = f.get('module')
    if mod is None:
        return set()
    if mod not in symtabs:
        path, bid = mod, f.get('build_id')
        if bid and os.path.exists('/usr/lib/debug/.build-id/%s/%s.debug' % (bid[:2], bid[2:])):
            path = '/usr/lib/debug/.build-id/%s/%s.debug' % (bid[:2], bid[2:])
        table = {}
        out = subprocess.run(['nm', '--defined-only', path], capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3:
                table.setdefault(parts[2].split('@')[0], set()).add(parts[0])
        symtabs[mod] = table
    return symtabs[mod].get(name, set())

def same(f, gname):
    name = f['function'] or ''
    return plain(name) == plain(gname) or bool(addresses(f, name) & addresses(f, gname))

gdb = gdb_threads(sys.argv[1])
dump = {t['name']: t for t in json.load(open(sys.argv[2]))['threads']}
text, cur = {}, None
for line in open(sys.argv[3]):
    m = re.match(r'^thread \d+ "([^"]*)"', line)
    if m:
        cur = text.setdefault(m.group(1), [])
    elif cur is not None and re.match(r'^  #\d+ ', line):
        cur.append(line.rstrip('\n'))
tails = 0
for name in sys.argv[4:]:
    g, s = gdb.get(name), dump.get(name, {}).get('frames')
    assert g and s, (name, 'missing: gdb %s, siprof %s' % (bool(g), bool(s)))
    # A function inlined into itself (glibc's ___sem_timedwait64 is) is
    # one frame to gdb; to siprof, for now, two at one pc, the inner one
    # inlined (a matter of names, not of tail calls).
    s = [f for i, f in enumerate(s) if not (
        f['inlined'] and i + 1 < len(s) and s[i + 1]['pc'] == f['pc'] and
        plain(s[i + 1]['function'] or '') == plain(f['function'] or ''))]
    show = '\n'.join('  gdb %-10s %-45s siprof %s%s%s' % (
        x['kind'] if x else '-', x['function'] if x else '-',
        y['function'] if y else '-', ' (inlined)' if y and y['inlined'] else '',
        ' (tail call)' if y and y.get('tail_call', False) else '')
        for x, y in itertools.zip_longest(g, s))
    assert len(g) == len(s), (name, len(g), len(s), '\n' + show)
    # The innermost pc and what is inlined there are exact; every other
    # frame's pc is gdb's return address (or jump's end) less one.
    exact = True
    for i, (x, y) in enumerate(zip(g, s)):
        want = x['pc'] if exact else x['pc'] - 1
        if x['kind'] != 'inlined':
            exact = False
        assert int(y['pc'], 16) == want, (name, i, hex(want), y['pc'], '\n' + show)
        assert same(y, x['function']), (name, i, x['function'], y['function'], '\n' + show)
        assert y.get('tail_call', False) == (x['kind'] == 'tail call'), (name, i, '\n' + show)
        assert y['inlined'] == (x['kind'] == 'inlined'), (name, i, '\n' + show)
        line = text[name][y['index']]
        assert line.endswith('(tail call)') == y.get('tail_call', False), (name, i, line)
        tails += y.get('tail_call', False)
    print('%s: %d frames as gdb, %d tail calls' % (name, len(g),
          sum(y.get('tail_call', False) for y in s)))
    print(show)
print('tail-call frames:', tails)
assert tails > 0, 'gdb showed no tail-call frame: is libc6-dbg installed?'
EOF

start_waits idle
gdb_frames "$TARGET_PID" "$tmpdir/gdb.idle"
assert_running "$TARGET_PID"
grep -q 'tail call frame' "$tmpdir/gdb.idle" ||
	skip "gdb shows no tail-call frame in glibc's waits: glibc's debugging information (libc6-dbg) is needed"
"$SIPROF" dump --json "$TARGET_PID" > "$tmpdir/idle.json" 2> "$tmpdir/err" ||
	fail "dump --json failed: $(cat "$tmpdir/err")"
"$SIPROF" dump "$TARGET_PID" > "$tmpdir/idle.txt" 2> "$tmpdir/err" ||
	fail "dump failed: $(cat "$tmpdir/err")"
python3 "$tmpdir/compare.py" "$tmpdir/gdb.idle" "$tmpdir/idle.json" "$tmpdir/idle.txt" \
	condwait semwait rwwait || fail "siprof dump and gdb disagree (idle waiters)"

# The condition waiter as the issue puts it: the function that jumped
# between the one it jumped to and pthread_cond_wait's.
thread_block "$tmpdir/idle.txt" condwait > "$tmpdir/condwait.txt"
grep -A1 '__futex_abstimed_wait_common (' "$tmpdir/condwait.txt" |
	grep -q '__futex_abstimed_wait_cancelable64 .*(tail call)$' ||
	fail "no tail-call frame over __futex_abstimed_wait_common: $(cat "$tmpdir/condwait.txt")"

# A session keeps the frame: in the call tree, marked, and in the folded
# stacks, between the same two functions.
"$SIPROF" record -q -o "$tmpdir/w.siprof" -d 2 -p "$TARGET_PID" 2> "$tmpdir/err" ||
	fail "record exited with $?: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
"$SIPROF" report --tree --json -c wall -T condwait --min-percent 0 "$tmpdir/w.siprof" \
	> "$tmpdir/tree.json" 2> "$tmpdir/err" || fail "report --tree --json failed: $(cat "$tmpdir/err")"
"$SIPROF" export -f folded -c wall -T condwait "$tmpdir/w.siprof" > "$tmpdir/folded" 2> "$tmpdir/err" ||
	fail "export -f folded failed: $(cat "$tmpdir/err")"
json_check "$tmpdir/idle.json" "
import re
want = [(f['function'], f['tail_call']) for f in
        next(t for t in doc['threads'] if t['name'] == 'condwait')['frames']][::-1]
tree = json.load(open('$tmpdir/tree.json'))
paths = []
def walk(n, path):
    path = path + [(n['function'], n['tail_call'])]
    if not n['children']:
        paths.append(path)
    for c in n['children']:
        walk(c, path)
for r in tree['roots']:
    walk(r, [])
assert want in paths, ('the session does not have the dump\'s stack', want, paths)
folded = [l.rsplit(' ', 1)[0].split(';') for l in open('$tmpdir/folded')]
assert [f for f, _ in want] in folded, ('export -f folded does not have it', want, folded)
print('session: the condition waiter\'s stack as dumped,',
      sum(t for _, t in want), 'tail call(s) marked, in report --tree --json and export -f folded')
"

# The timed waits (one hour each): their own paths through the futex code.
kill -TERM "$TARGET_PID"
wait "$TARGET_PID" 2> /dev/null
start_waits timed
gdb_frames "$TARGET_PID" "$tmpdir/gdb.timed"
assert_running "$TARGET_PID"
"$SIPROF" dump --json "$TARGET_PID" > "$tmpdir/timed.json" 2> "$tmpdir/err" ||
	fail "dump --json failed: $(cat "$tmpdir/err")"
"$SIPROF" dump "$TARGET_PID" > "$tmpdir/timed.txt" 2> "$tmpdir/err" ||
	fail "dump failed: $(cat "$tmpdir/err")"
python3 "$tmpdir/compare.py" "$tmpdir/gdb.timed" "$tmpdir/timed.json" "$tmpdir/timed.txt" \
	timedcond timedsem timedlock || fail "siprof dump and gdb disagree (timed waiters)"

# SIGSTOP: every thread in a group-stop (T in /proc), shown so, and still
# stopped after the dump.
kill -STOP "$TARGET_PID"
i=0
until [ "$(sed 's/.*) //' /proc/"$TARGET_PID"/task/*/stat | cut -d' ' -f1 | sort -u)" = T ]; do
	[ $i -lt 100 ] || fail "the target did not stop: $(cat /proc/"$TARGET_PID"/task/*/stat)"
	sleep 0.05
	i=$((i + 1))
done
"$SIPROF" dump "$TARGET_PID" > "$tmpdir/stopped.txt" 2> "$tmpdir/err" ||
	fail "dump of a stopped process failed: $(cat "$tmpdir/err")"
"$SIPROF" dump --json "$TARGET_PID" > "$tmpdir/stopped.json" 2> "$tmpdir/err" ||
	fail "dump --json of a stopped process failed: $(cat "$tmpdir/err")"
states=$(sed 's/.*) //' /proc/"$TARGET_PID"/task/*/stat | cut -d' ' -f1 | sort -u)
[ "$states" = T ] || fail "the process is not left stopped: states $states"
n=$(ls /proc/"$TARGET_PID"/task | wc -l)
[ "$(grep -c '^thread .* stopped (SIGSTOP)' "$tmpdir/stopped.txt")" = "$n" ] ||
	fail "not every one of the $n threads shows as stopped (SIGSTOP): $(grep '^thread' "$tmpdir/stopped.txt")"
! grep -q tracer "$tmpdir/stopped.txt" || fail "a stopped process is shown as traced: $(grep '^thread' "$tmpdir/stopped.txt")"
json_check "$tmpdir/stopped.json" "
states = set(t['state'] for t in doc['threads'])
assert states == {'stopped (SIGSTOP)'}, states
"
kill -CONT "$TARGET_PID"
sleep 0.2
assert_running "$TARGET_PID"
"$SIPROF" dump "$TARGET_PID" > "$tmpdir/resumed.txt" 2> "$tmpdir/err" ||
	fail "dump failed: $(cat "$tmpdir/err")"
! grep -q '^thread .*stopped' "$tmpdir/resumed.txt" ||
	fail "a running process is shown as stopped: $(grep '^thread' "$tmpdir/resumed.txt")"
exit 0
