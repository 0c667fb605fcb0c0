#!/bin/bash
# Root's siprof in a directory an unprivileged user shares (sticky, like
# /tmp), and unlucky moments: the attacker plants symlinks and files at the
# names of export's and diff's temporary files and at a session's -wal and
# -shm; record is killed at random moments of its start; sessions are read
# from a FIFO, a directory, a device. Checked against the kernel's view
# (stat, file contents), never against siprof itself.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
need_attacker
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
command -v perl > /dev/null || skip "perl is not installed (the attacker plants files with it)"

sleep 600 &
target=$!
bg_pids="$bg_pids $target"
"$SIPROF" record -q -o "$tmpdir/good.siprof" -d 1 -p "$target" || fail "record failed"

# A root-only file the attacker would like root to overwrite.
victim="$tmpdir/victim"
echo precious > "$victim"
chmod 600 "$victim"
victim_sum=$(sha256sum < "$victim")
victim_unchanged() {
	[ "$(sha256sum < "$victim")" = "$victim_sum" ] || fail "$1 overwrote the symlink's target: $(head -c 200 "$victim")"
}

# plant KIND OUT: the attacker puts a symlink to the victim (KIND link) or
# an empty file of mode 0666 (KIND file) at every name a temporary file of
# OUT is likely to get: OUT.tmpPID for the next 400 PIDs, and OUT.tmp. One
# process does it all, so that the PIDs planted for are still to come.
plant() {
	as_attacker perl -e '
		my ($kind, $out, $victim) = @ARGV;
		open(my $f, "<", "/proc/sys/kernel/ns_last_pid") or die;
		my $last = <$f>;
		umask 0;
		for my $name ("$out.tmp", map { "$out.tmp" . ($last + $_) } 1 .. 400) {
			if ($kind eq "link") {
				symlink($victim, $name) or die "$name: $!";
			} else {
				open(my $h, ">", $name) or die "$name: $!";
			}
		}' "$1" "$2" "$victim" || fail "the attacker could not plant $1s for $2"
}

# is_roots_file FILE: a regular file (not a link) of root's, mode 0600.
is_roots_file() {
	[ -L "$1" ] && fail "$1 is a symbolic link (to $(readlink "$1"))"
	[ "$(stat -c '%F %u %a' "$1")" = "regular file 0 600" ] ||
		fail "$1 is not root's 0600 regular file: $(stat -c '%F owner %U mode %a' "$1")"
}

# planted_empty OUT: the attacker's planted files received nothing.
planted_empty() {
	local f
	for f in "$1".tmp*; do
		[ -L "$f" ] && continue
		[ "$(stat -c %U "$f")" = "$ATTACKER" ] || continue
		[ -s "$f" ] && fail "the attacker's file $f received $(stat -c %s "$f") bytes of root's output"
	done
	return 0
}

# Symlinks at the temporary names of export -o and diff --svg.
plant link "$SHARED/flame.svg"
"$SIPROF" export -f svg -o "$SHARED/flame.svg" "$tmpdir/good.siprof" 2> "$tmpdir/err" ||
	fail "export among planted symlinks failed: $(cat "$tmpdir/err")"
victim_unchanged "export -o"
is_roots_file "$SHARED/flame.svg"
grep -q '<svg' "$SHARED/flame.svg" || fail "flame.svg is not the flame graph"
plant link "$SHARED/diff.svg"
"$SIPROF" diff --svg="$SHARED/diff.svg" "$tmpdir/good.siprof" "$tmpdir/good.siprof" > /dev/null 2> "$tmpdir/err" ||
	fail "diff --svg among planted symlinks failed: $(cat "$tmpdir/err")"
victim_unchanged "diff --svg"
is_roots_file "$SHARED/diff.svg"

# Regular files of the attacker's at the same names.
plant file "$SHARED/own.svg"
"$SIPROF" export -f folded -c wall -o "$SHARED/own.svg" "$tmpdir/good.siprof" 2> "$tmpdir/err" ||
	fail "export among planted files failed: $(cat "$tmpdir/err")"
is_roots_file "$SHARED/own.svg"
planted_empty "$SHARED/own.svg"
plant file "$SHARED/owndiff.svg"
"$SIPROF" diff --svg="$SHARED/owndiff.svg" "$tmpdir/good.siprof" "$tmpdir/good.siprof" > /dev/null 2> "$tmpdir/err" ||
	fail "diff --svg among planted files failed: $(cat "$tmpdir/err")"
is_roots_file "$SHARED/owndiff.svg"
planted_empty "$SHARED/owndiff.svg"

# A session's side files, made by the attacker and held open: a reader
# there would see every commit (it notes the largest size it saw). record
# refuses, naming the file, and nothing reaches them; --force does not
# remove what is not root's. (setpriv itself, not as_attacker: a function
# run in the background is a subshell, and killing it leaves perl running.)
setpriv --reuid="$ATTACKER" --regid="$ATTACKER" --clear-groups -- perl -e '
	my ($s, $seen) = @ARGV;
	umask 0;
	open(my $w, "+>", "$s-wal") or die;
	open(my $m, "+>", "$s-shm") or die;
	my $max = 0;
	while (1) {
		for my $h ($w, $m) {
			my $n = -s $h;
			next if $n <= $max;
			$max = $n;
			open(my $o, ">", $seen) or die;
			print $o "$max\n";
			close($o);
		}
		select(undef, undef, undef, 0.01);
	}' "$SHARED/s.siprof" "$SHARED/seen" &
holder=$!
bg_pids="$bg_pids $holder"
for i in $(seq 100); do
	[ -e "$SHARED/s.siprof-shm" ] && break
	sleep 0.05
done
for force in "" --force; do
	"$SIPROF" record -q $force -o "$SHARED/s.siprof" -d 1 -p "$target" 2> "$tmpdir/err"
	rc=$?
	[ $rc = 1 ] || fail "record $force beside the attacker's -wal exited with $rc: $(cat "$tmpdir/err")"
	grep -q "$SHARED/s.siprof-wal exists and is owned by another user" "$tmpdir/err" ||
		fail "no clear word of the foreign -wal: $(cat "$tmpdir/err")"
done
sleep 0.1
[ -s "$SHARED/seen" ] && fail "the attacker's side files received $(cat "$SHARED/seen") bytes of root's session"
as_attacker rm "$SHARED/s.siprof-wal"
"$SIPROF" record -q -o "$SHARED/s.siprof" -d 1 -p "$target" 2> "$tmpdir/err"
[ $? = 1 ] || fail "record beside the attacker's -shm did not fail"
grep -q "$SHARED/s.siprof-shm exists and is owned by another user" "$tmpdir/err" ||
	fail "no clear word of the foreign -shm: $(cat "$tmpdir/err")"
[ -s "$SHARED/s.siprof-shm" ] && fail "the attacker's -shm received $(stat -c %s "$SHARED/s.siprof-shm") bytes"
[ -e "$SHARED/s.siprof" ] && fail "a refused record left $SHARED/s.siprof"
[ -e "$SHARED/s.siprof-wal" ] && fail "a refused record left a -wal"
kill "$holder"

# A symlink at -shm: refused with its name, the target untouched.
as_attacker ln -s "$victim" "$SHARED/l.siprof-shm"
"$SIPROF" record -q -o "$SHARED/l.siprof" -d 1 -p "$target" 2> "$tmpdir/err"
[ $? = 1 ] || fail "record beside a symlinked -shm did not fail with 1"
grep -q "$SHARED/l.siprof-shm exists and is a symbolic link" "$tmpdir/err" ||
	fail "no clear word of the symlinked -shm: $(cat "$tmpdir/err")"
victim_unchanged "record"

# Stale side files of root's own: refused without --force, replaced with it.
: > "$tmpdir/stale.siprof-wal"
"$SIPROF" record -q -o "$tmpdir/stale.siprof" -d 1 -p "$target" 2> "$tmpdir/err"
[ $? = 1 ] || fail "record beside a stale -wal did not fail"
grep -q "stale.siprof-wal exists, left by an earlier recording; remove it, or use --force" "$tmpdir/err" ||
	fail "no clear word of the stale -wal: $(cat "$tmpdir/err")"
cp "$tmpdir/good.siprof" "$tmpdir/stale.siprof"
: > "$tmpdir/stale.siprof-shm"
"$SIPROF" record -q --force -o "$tmpdir/stale.siprof" -d 1 -p "$target" 2> "$tmpdir/err" ||
	fail "record --force over a session and its stale side files failed: $(cat "$tmpdir/err")"
"$SIPROF" report "$tmpdir/stale.siprof" > /dev/null || fail "the forced session cannot be read"
[ -e "$tmpdir/stale.siprof-wal" ] && fail "a stale -wal is left after a forced record"
[ "$(stat -c %i "$tmpdir/stale.siprof")" != "$(stat -c %i "$tmpdir/good.siprof")" ] || fail "not replaced"

# A session being recorded can be read, by siprof and by SQLite.
"$SIPROF" record -q -o "$tmpdir/live.siprof" -d 3 -p "$target" &
rec=$!
sleep 1.5
"$SIPROF" report "$tmpdir/live.siprof" > /dev/null 2> "$tmpdir/err" ||
	fail "a session being recorded cannot be read: $(cat "$tmpdir/err")"
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); assert c.execute('select value from meta where key=\"pid\"').fetchone()[0] == sys.argv[2]" \
	"$tmpdir/live.siprof" "$target" || fail "SQLite cannot read a session being recorded"
wait $rec || fail "record with a reader beside it failed"

# A reader in the middle of a read when the recording ends: record waits
# for it (1 s here) and finishes as usual; one that stays past the wait
# (8 s) leaves the -wal beside the session, which is said, and the session
# is whole either way: as many thread-samples as record said it took.
for hold in 1 8; do
	f=$tmpdir/held$hold.siprof
	rm -f "$tmpdir/reading"
	"$SIPROF" record -o "$f" -d 2 -p "$target" 2> "$tmpdir/err$hold" &
	rec=$!
	python3 - "$f" "$hold" "$tmpdir/reading" <<'PYEOF' &
import os, sqlite3, sys, time
path, hold, flag = sys.argv[1], float(sys.argv[2]), sys.argv[3]
while not os.path.exists(path):
    time.sleep(0.05)
time.sleep(0.5)
db = sqlite3.connect(path, isolation_level=None)
db.execute("BEGIN")
db.execute("SELECT count(*) FROM samples").fetchone()
open(flag, "w").close()
time.sleep(1.5 + hold)  # the recording ends 2 s after it started
db.execute("COMMIT")
db.close()
PYEOF
	reader=$!
	wait $rec || fail "record with a reader holding the session ($hold s) failed: $(cat "$tmpdir/err$hold")"
	wait $reader
	[ -e "$tmpdir/reading" ] || fail "the reader never read"
	if [ $hold = 1 ]; then
		grep -q 'open' "$tmpdir/err$hold" && fail "a reader that let go in time was reported: $(cat "$tmpdir/err$hold")"
	else
		grep -q "another program has $f open" "$tmpdir/err$hold" ||
			fail "no word of the reader that kept the session: $(cat "$tmpdir/err$hold")"
	fi
	took=$(sed -n 's/.*recorded .*, \([0-9]*\) samples of .*/\1/p' "$tmpdir/err$hold")
	got=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select sum(count) from samples').fetchone()[0])" "$f")
	[ -n "$took" ] && [ "$took" = "$got" ] ||
		fail "the session held by a reader ($hold s) has $got samples, record said $took: $(cat "$tmpdir/err$hold")"
done

# SIGKILL at random moments of record's first half second: the file is
# either absent (and a re-run without --force works) or a readable session.
absent=0 readable=0
for i in $(seq 50); do
	f="$tmpdir/kill$i.siprof"
	"$SIPROF" record -q -o "$f" -p "$target" 2> /dev/null &
	rec=$!
	sleep "0.$(printf %03d $((RANDOM % 500)))"
	kill -KILL $rec
	wait $rec 2> /dev/null
	if [ -e "$f" ]; then
		"$SIPROF" report "$f" > /dev/null 2> "$tmpdir/err" ||
			fail "kill $i left $f ($(stat -c %s "$f") bytes) that report cannot read: $(cat "$tmpdir/err")"
		readable=$((readable + 1))
	else
		"$SIPROF" record -q -o "$f" -d 0.2 -p "$target" 2> "$tmpdir/err" ||
			fail "kill $i left no $f, and a re-run failed: $(cat "$tmpdir/err")"
		"$SIPROF" report "$f" > /dev/null || fail "the re-run after kill $i is unreadable"
		absent=$((absent + 1))
	fi
done
echo "kills: $readable left a readable session, $absent left none"
echo "left by kills besides the sessions: $(cd "$tmpdir" && ls | grep '^kill.*\.tmp' | tr '\n' ' ')"
assert_running "$target"

# Not regular files: refused at once with exit 7 (timeout fails a hang).
mkfifo "$tmpdir/fifo"
ln -s "$tmpdir/fifo" "$tmpdir/fifo-link"
mkdir "$tmpdir/dir.siprof"
expect_refused() { # expect_refused WHAT FILE COMMAND...
	local what=$1 file=$2
	shift 2
	SIPROF_SPOOL_DIR="$tmpdir/spool" timeout -k 1 10 "$SIPROF" "$@" > /dev/null 2> "$tmpdir/err"
	rc=$?
	[ $rc = 124 ] || [ $rc = 137 ] && fail "siprof $* hung on $what"
	[ $rc = 7 ] || fail "siprof $* on $what exited with $rc, expected 7: $(cat "$tmpdir/err")"
	grep -q "$file is $what, not a session file" "$tmpdir/err" ||
		fail "siprof $* on $what said: $(cat "$tmpdir/err")"
}
for f in fifo fifo-link; do
	expect_refused "a FIFO" "$tmpdir/$f" report "$tmpdir/$f"
	expect_refused "a FIFO" "$tmpdir/$f" export -f folded "$tmpdir/$f"
	expect_refused "a FIFO" "$tmpdir/$f" diff "$tmpdir/$f" "$tmpdir/good.siprof"
	expect_refused "a FIFO" "$tmpdir/$f" diff "$tmpdir/good.siprof" "$tmpdir/$f"
	expect_refused "a FIFO" "$tmpdir/$f" upload -q --url http://127.0.0.1:9/ "$tmpdir/$f"
done
expect_refused "a directory" "$tmpdir/dir.siprof" report "$tmpdir/dir.siprof"
expect_refused "a character device" /dev/null export -f pprof -o "$tmpdir/x.pb.gz" /dev/null
[ -e "$tmpdir/x.pb.gz" ] && fail "a refused export left its output"
true
