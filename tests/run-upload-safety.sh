#!/bin/bash
# siprof upload as root beside a hostile user and an impatient operator: a
# spool that is not root's own is refused, files planted in it are neither
# sent nor removed, Ctrl-C at random moments loses nothing and sends nothing
# twice, a second Ctrl-C gives up at once, a profiled command never sees the
# credentials, and a server cannot hold siprof past the caps. The loopback
# receiver's own log of requests is the reference throughout.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_classes
"$SIPROF" record -q -o "$tmpdir/s.siprof" -d 1 --threads spinner,locked,sleeper -p "$TARGET_PID" ||
	fail "record failed"
classes=$("$SIPROF" report --json "$tmpdir/s.siprof" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["classes"])))')
nclasses=$(echo $classes | wc -w)
[ "$nclasses" -ge 2 ] || fail "the session has only the classes '$classes'"

start_receiver
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
spooled() { ls "$1"/*.item 2> /dev/null | wc -l; }
unset SIPROF_SPOOL_DIR SIPROF_UPLOAD_TOKEN SIPROF_UPLOAD_PASSWORD SIPROF_UPLOAD_USER SIPROF_UPLOAD_TENANT

# spool_into DIR: the session's profiles queued in DIR for the receiver
# (and $SIPROF_UPLOAD_TENANT), which answered 500 to each.
spool_into() {
	local i
	for i in $(seq 1 "$nclasses"); do echo 500; done >> "$srv/plan"
	"$SIPROF" upload -q --spool-dir "$1" --url "$URL" --attempts 1 "$tmpdir/s.siprof" 2> /dev/null
	[ $? = 8 ] || fail "could not queue the session in $1"
	[ "$(spooled "$1")" = "$nclasses" ] || fail "$(spooled "$1") profiles queued in $1, expected $nclasses"
}

# wait_grep PATTERN FILE: until FILE holds PATTERN (10 s at most).
wait_grep() {
	local i=0
	until grep -q "$1" "$2" 2> /dev/null; do
		[ $i -lt 200 ] || fail "timed out waiting for '$1' in $2: $(cat "$2")"
		sleep 0.05
		i=$((i + 1))
	done
}

# finish PID: wait for PID (30 s at most, then it is killed); rc gets its
# exit status, or "hung".
finish() {
	local i=0
	while kill -0 "$1" 2> /dev/null; do
		if [ $i -ge 600 ]; then
			kill -KILL "$1"
			wait "$1"
			rc=hung
			return
		fi
		sleep 0.05
		i=$((i + 1))
	done
	wait "$1"
	rc=$?
}

# ---- a spool that is not root's own is refused; nothing goes out ----
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	need_attacker
	mkdir -m 700 "$tmpdir/root-only"
	echo "root's secret" > "$tmpdir/root-only/file"
	evil=$SHARED/spool
	as_attacker mkdir -m 777 "$evil" || fail "the attacker cannot make a directory in $SHARED"
	as_attacker chmod 777 "$evil"
	as_attacker sh -c "printf '%s' '{\"name\":\"evil.cpu{}\",\"class\":\"cpu\",\"from\":1,\"until\":2}' > '$evil/zz-evil.meta'"
	as_attacker ln -s "$tmpdir/root-only/file" "$evil/zz-evil.pb.gz"
	before=$(requests)
	SIPROF_SPOOL_DIR=$evil SIPROF_UPLOAD_TOKEN=root-token \
		timeout 60 "$SIPROF" upload --spool --url "$URL" > "$tmpdir/out" 2>&1; rc=$?
	[ $rc = 1 ] || fail "an attacker's spool: exit $rc: $(cat "$tmpdir/out")"
	grep -q "the spool '$evil' belongs to uid $(id -u "$ATTACKER"), not to you (uid 0): chown it, or use another --spool-dir" "$tmpdir/out" ||
		fail "an attacker's spool: $(cat "$tmpdir/out")"
	SIPROF_SPOOL_DIR=$evil SIPROF_UPLOAD_TOKEN=root-token \
		timeout 60 "$SIPROF" upload --url "$URL" "$tmpdir/s.siprof" > "$tmpdir/out" 2>&1; rc=$?
	[ $rc = 1 ] || fail "a session into an attacker's spool: exit $rc: $(cat "$tmpdir/out")"
	[ "$(requests)" = "$before" ] || fail "root's upload sent $(( $(requests) - before )) requests from an attacker's spool"
	[ "$(ls "$evil" | sort | tr '\n' ' ')" = "zz-evil.meta zz-evil.pb.gz " ] ||
		fail "root wrote into the attacker's spool: $(ls -l "$evil")"

	# Root's own directory, but open to others; a symlink to root's spool.
	mkdir -m 755 "$SHARED/open"
	timeout 60 "$SIPROF" upload --spool --spool-dir "$SHARED/open" --url "$URL" 2> "$tmpdir/out"; rc=$?
	[ $rc = 1 ] || fail "a spool open to others: exit $rc"
	grep -q "the spool '$SHARED/open' is open to group or others (mode 0755): chmod 700 it, or use another --spool-dir" "$tmpdir/out" ||
		fail "a spool open to others: $(cat "$tmpdir/out")"
	mkdir -m 700 "$tmpdir/root-spool"
	as_attacker ln -s "$tmpdir/root-spool" "$SHARED/link"
	timeout 60 "$SIPROF" upload --spool-dir "$SHARED/link" --url "$URL" "$tmpdir/s.siprof" 2> "$tmpdir/out"; rc=$?
	[ $rc = 1 ] || fail "a symlink spool: exit $rc"
	grep -q "the spool '$SHARED/link' is a symlink" "$tmpdir/out" || fail "a symlink spool: $(cat "$tmpdir/out")"
	[ "$(requests)" = "$before" ] || fail "a refused spool was sent from"
	[ -z "$(ls "$tmpdir/root-spool")" ] || fail "root's spool was written through a symlink"
	touch "$tmpdir/plain"
	timeout 60 "$SIPROF" upload --spool --spool-dir "$tmpdir/plain" --url "$URL" 2> "$tmpdir/out"; rc=$?
	[ $rc = 1 ] && grep -q "is not a directory" "$tmpdir/out" || fail "a file as spool: exit $rc: $(cat "$tmpdir/out")"

	# ---- root's spool with files root's siprof did not make in it ----
	own=$tmpdir/own
	spool_into "$own"
	meta() { printf '{"name":"planted-%s.cpu{}","class":"cpu","from":1,"until":2,"url":"%s"}' "$1" "$URL" > "$own/zz-$1.item"; }
	meta link
	ln -s "$tmpdir/root-only/file" "$own/zz-link.pb.gz"
	meta theirs
	cp "$tmpdir/root-only/file" "$own/zz-theirs.pb.gz"
	chown "$ATTACKER" "$own/zz-theirs.item" "$own/zz-theirs.pb.gz"
	meta hard
	ln "$tmpdir/root-only/file" "$own/zz-hard.pb.gz"
	mkfifo "$own/zz-fifo.item"
	ln -s "$tmpdir/root-only/file" "$own/zz-meta.item"
	planted=$(ls "$own" | grep '^zz-' | sort)
	before=$(requests)
	SIPROF_UPLOAD_TOKEN=root-token timeout 60 "$SIPROF" upload --spool --spool-dir "$own" --url "$URL" > "$tmpdir/out" 2>&1; rc=$?
	[ $rc = 8 ] || fail "planted files: exit $rc, expected 8: $(cat "$tmpdir/out")"
	[ $(( $(requests) - before )) = "$nclasses" ] ||
		fail "planted files: $(( $(requests) - before )) requests, expected $nclasses: $(cat "$tmpdir/out")"
	grep -q planted "$srv/log" && fail "a planted item was sent"
	grep -q "root's secret" "$srv"/body-* && fail "the root-only file was sent"
	[ "$(ls "$own" | grep '^zz-' | sort)" = "$planted" ] || fail "planted files were removed: $(ls -l "$own")"
	for why in "zz-link.pb.gz' is a symlink" "zz-theirs.item' belongs to uid $(id -u "$ATTACKER"), not to uid 0" \
		"zz-hard.pb.gz' has 2 hard links" "zz-fifo.item' is not a regular file" "zz-meta.item' is a symlink"; do
		grep -q "skipped zz-.*$why, not a file siprof made; it is neither sent nor removed" "$tmpdir/out" ||
			fail "no warning \"$why\": $(cat "$tmpdir/out")"
	done
	[ "$(spooled "$own")" = 5 ] || fail "the sent profiles are still in the spool: $(ls "$own")"

	# A ledger that is a symlink: the spool is refused.
	rm -f "$own"/zz-* "$own/acked"
	ln -s "$tmpdir/root-only/file" "$own/acked"
	timeout 60 "$SIPROF" upload --spool --spool-dir "$own" --url "$URL" 2> "$tmpdir/out"; rc=$?
	[ $rc = 1 ] || fail "a symlink ledger: exit $rc"
	grep -q "the spool's ledger '$own/acked' is a symlink, not a file siprof made: remove it" "$tmpdir/out" ||
		fail "a symlink ledger: $(cat "$tmpdir/out")"
	[ "$(cat "$tmpdir/root-only/file")" = "root's secret" ] || fail "the ledger's target was written"
else
	echo "note: not root, or no setpriv: the hostile-spool attacks are not run"
fi

# ---- a profiled command never sees the credentials ----
before=$(requests)
SIPROF_UPLOAD_TOKEN=tok-s3cr3t SIPROF_UPLOAD_PASSWORD=pw-s3cr3t SIPROF_UPLOAD_USER=ann \
	SIPROF_UPLOAD_TENANT=acme SIPROF_SPOOL_DIR=$tmpdir/rec-spool \
	timeout 60 "$SIPROF" record -q -o "$tmpdir/r.siprof" --upload "$URL" -- sh -c '
		env > "$1/child-env"
		tr "\0" "\n" < /proc/$PPID/environ > "$1/parent-env"
		i=0; while [ $i -lt 300000 ]; do i=$((i + 1)); done' sh "$tmpdir" 2> "$tmpdir/out" ||
	fail "record --upload -- CMD failed: $(cat "$tmpdir/out")"
[ -s "$tmpdir/child-env" ] && grep -q '^PATH=' "$tmpdir/child-env" || fail "the command wrote no environment"
grep -q 's3cr3t' "$tmpdir/child-env" && fail "the command inherited a secret: $(grep s3cr3t "$tmpdir/child-env")"
grep -q '^SIPROF_UPLOAD_\(TOKEN\|PASSWORD\|USER\|TENANT\)=' "$tmpdir/child-env" && fail "the command inherited the credentials' names"
grep -q 's3cr3t' "$tmpdir/parent-env" && fail "siprof's /proc/PID/environ still holds a secret"
[ $(( $(requests) - before )) -ge 1 ] || fail "record --upload -- CMD sent nothing"
tail -n +$((before + 1)) "$srv/log" | python3 -c '
import json, sys
for l in sys.stdin:
    h = {k.lower(): v for k, v in json.loads(l)["headers"].items()}
    assert h.get("authorization") == "Bearer tok-s3cr3t", h
    assert h.get("x-scope-orgid") == "acme", h
' || fail "the upload after the command did not carry the credentials"

# An unusable credentials file stops record before it starts, not after.
printf 'token=tok-s3cr3t\n' > "$tmpdir/auth"
chmod 644 "$tmpdir/auth"
SIPROF_UPLOAD_AUTH_FILE=$tmpdir/auth timeout 60 "$SIPROF" record -q -o "$tmpdir/r2.siprof" --upload "$URL" -- true 2> "$tmpdir/out"; rc=$?
[ $rc = 1 ] || fail "record with an unusable credentials file: exit $rc: $(cat "$tmpdir/out")"
grep -q "the credentials file '$tmpdir/auth' can be read by others: chmod 600 it" "$tmpdir/out" || fail "$(cat "$tmpdir/out")"
[ ! -e "$tmpdir/r2.siprof" ] || fail "record ran with an unusable credentials file"

# A line too long for the reader, or a mistyped key, is refused without
# showing any of it: it may be a secret (here a token of 5000 characters
# whose tail, read as a line of its own, holds an '=').
python3 -c 'print("token=" + "A" * 4990 + "tail=s3cr3tTAIL==")' > "$tmpdir/auth"
chmod 600 "$tmpdir/auth"
SIPROF_UPLOAD_AUTH_FILE=$tmpdir/auth timeout 60 "$SIPROF" record -q -o "$tmpdir/r3.siprof" --upload "$URL" -- true 2> "$tmpdir/out"; rc=$?
[ $rc = 1 ] || fail "a credentials line too long: exit $rc: $(cat "$tmpdir/out")"
grep -q "$tmpdir/auth:1: the line is longer than" "$tmpdir/out" || fail "no word about the long line: $(cat "$tmpdir/out")"
grep -q "s3cr3t\|AAAA" "$tmpdir/out" && fail "part of the token was shown: $(cat "$tmpdir/out")"
printf 'tokne=s3cr3t-typo\n' > "$tmpdir/auth"
SIPROF_UPLOAD_AUTH_FILE=$tmpdir/auth timeout 60 "$SIPROF" record -q -o "$tmpdir/r4.siprof" --upload "$URL" -- true 2> "$tmpdir/out"; rc=$?
[ $rc = 1 ] || fail "a mistyped key: exit $rc: $(cat "$tmpdir/out")"
grep -q "$tmpdir/auth:1: unknown key" "$tmpdir/out" || fail "no word about the unknown key: $(cat "$tmpdir/out")"
grep -q "s3cr3t\|tokne" "$tmpdir/out" && fail "the mistyped line was shown: $(cat "$tmpdir/out")"

# ---- Retry-After: 100000 waits 60 s at most; the retry budget ----
printf '429 100000\n' > "$srv/plan"
before=$(requests)
"$SIPROF" upload --spool-dir "$tmpdir/ra-spool" --url "$URL" "$tmpdir/s.siprof" > "$tmpdir/out" 2>&1 &
pid=$!
wait_grep "trying again in" "$tmpdir/out"
grep -q "the server answered 429: too many requests; trying again in 60 s (2 of 4; the server asked for 100000 s, 60 s at most)" "$tmpdir/out" ||
	fail "Retry-After: 100000 is not capped: $(cat "$tmpdir/out")"
kill -INT "$pid"
finish "$pid"
[ "$rc" = 130 ] || fail "Ctrl-C during a retry wait: exit $rc: $(cat "$tmpdir/out")"
[ $(( $(requests) - before )) = 1 ] || fail "$(( $(requests) - before )) requests during a capped wait"
[ "$(spooled "$tmpdir/ra-spool")" = "$nclasses" ] || fail "Ctrl-C during a wait lost profiles"
printf '429 100000\n' > "$srv/plan"
before=$(requests)
timeout 60 "$SIPROF" upload --spool --spool-dir "$tmpdir/ra-spool" --url "$URL" --retry-budget 30 > "$tmpdir/out" 2>&1; rc=$?
[ $rc = 8 ] || fail "a wait past the budget: exit $rc: $(cat "$tmpdir/out")"
grep -q "not sent: the server answered 429: too many requests; no time is left to try again (--retry-budget 30 s)" "$tmpdir/out" ||
	fail "a wait past the budget: $(cat "$tmpdir/out")"
[ $(( $(requests) - before )) = "$nclasses" ] || fail "a wait past the budget: $(( $(requests) - before )) requests"

# A server that never answers: the budget ends the run, not each profile.
spool_into "$tmpdir/hang-spool"
echo "slow 30" > "$srv/always"
before=$(requests)
timeout 60 "$SIPROF" upload --spool --spool-dir "$tmpdir/hang-spool" --url "$URL" --timeout 1 --retry-wait 0.1 \
	--retry-budget 1.5 > "$tmpdir/out" 2>&1; rc=$?
n=$(( $(requests) - before ))
[ $rc = 8 ] || fail "a hanging server: exit $rc: $(cat "$tmpdir/out")"
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "a hanging server got $n requests within a 1.5 s budget: $(cat "$tmpdir/out")"
grep -q "upload: $((nclasses - 1)) not tried: 1.5 s went on failed requests and waits (--retry-budget); kept in" "$tmpdir/out" ||
	fail "a hanging server: $(cat "$tmpdir/out")"
[ "$(spooled "$tmpdir/hang-spool")" = "$nclasses" ] || fail "a hanging server: profiles lost"

# ---- a second Ctrl-C gives up the request in flight at once ----
spool_into "$tmpdir/stop-spool"
echo "slow 30" > "$srv/always"
before=$(requests)
"$SIPROF" upload --spool --spool-dir "$tmpdir/stop-spool" --url "$URL" > "$tmpdir/out" 2>&1 &
pid=$!
i=0
while [ "$(requests)" = "$before" ]; do
	[ $i -lt 200 ] || fail "the receiver got no request: $(cat "$tmpdir/out")"
	sleep 0.05
	i=$((i + 1))
done
kill -INT "$pid"
wait_grep "stopping: waiting up to 5 s for the answer to the request in flight (Ctrl-C again to give up)" "$tmpdir/out"
kill -INT "$pid"
finish "$pid"
[ "$rc" = 130 ] || fail "a second Ctrl-C: exit $rc: $(cat "$tmpdir/out")"
grep -q "gave up the request in flight (a second stop request)" "$tmpdir/out" || fail "a second Ctrl-C: $(cat "$tmpdir/out")"
[ $(( $(requests) - before )) = 1 ] || fail "something was sent after Ctrl-C: $(cat "$tmpdir/out")"
[ "$(spooled "$tmpdir/stop-spool")" = "$nclasses" ] || fail "a second Ctrl-C lost profiles"
rm -f "$srv/always"

# ---- Ctrl-C at random moments, 50 times: nothing lost, nothing sent twice ----
# The receiver stores each profile, then answers 0.3 s later. Each trial
# has its own spool, queued for its own tenant; after the interrupted
# upload, upload --spool sends the rest.
for i in $(seq 1 50); do
	SIPROF_UPLOAD_TENANT=trial-$i spool_into "$tmpdir/trial-$i"
done
echo "slow 0.3" > "$srv/always"
span_ms=$((nclasses * 300 + 300))
trial() {
	local i=$1 sp=$tmpdir/trial-$1 pid ms rc
	SIPROF_UPLOAD_TENANT=trial-$i "$SIPROF" upload --spool --spool-dir "$sp" --url "$URL" > "$sp.out1" 2>&1 &
	pid=$!
	ms=$((RANDOM % span_ms))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -INT "$pid" 2> /dev/null
	finish "$pid"
	case $rc in 0|130) ;; *) echo "trial $i: the interrupted upload: exit $rc" > "$sp.fail" ;; esac
	SIPROF_UPLOAD_TENANT=trial-$i timeout 60 "$SIPROF" upload --spool --spool-dir "$sp" --url "$URL" > "$sp.out2" 2>&1 ||
		echo "trial $i: the second upload: exit $?" >> "$sp.fail"
	[ "$(spooled "$sp")" = 0 ] || echo "trial $i: $(spooled "$sp") profiles left in the spool" >> "$sp.fail"
}
for batch in 0 1 2 3 4; do
	trials=""
	for j in 1 2 3 4 5 6 7 8 9 10; do
		trial $((batch * 10 + j)) &
		trials="$trials $!"
	done
	wait $trials
done
cat "$tmpdir"/trial-*.fail 2> /dev/null | head -5 | grep . && fail "random Ctrl-C: see above"
python3 - "$srv/log" "$classes" <<'EOF' || fail "random Ctrl-C: profiles lost or sent twice"
import collections, json, re, sys
classes = sys.argv[2].split()
got = collections.defaultdict(list)
for l in open(sys.argv[1]):
    r = json.loads(l)
    h = {k.lower(): v for k, v in r["headers"].items()}
    t = h.get("x-scope-orgid", "")
    if t.startswith("trial-") and r["status"] == 200:
        got[t].append(re.match(r"^[^.]+\.(\w+)\{", r["query"]["name"][0]).group(1))
bad = {t: sorted(c) for t, c in got.items() if sorted(c) != classes}
missing = [i for i in range(1, 51) if "trial-%d" % i not in got]
assert not bad and not missing, (bad, missing)
EOF
waited=$(grep -l "stopping: waiting up to" "$tmpdir"/trial-*.out1 | wc -l)
echo "note: $waited of 50 interrupts came while a request was in flight"
assert_running "$TARGET_PID"
