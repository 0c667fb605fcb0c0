#!/bin/bash
# The spool with two servers and two tenants, as their user checks it from
# the servers' own logs: a profile spooled for one server and tenant goes
# there and nowhere else, whatever the next upload's URL or tenant; what
# waits elsewhere is said; a profile refused for good is moved aside,
# listed with the server's status and message, and never sent again;
# upload --list (and --json) shows each item's destination, tenant, type,
# size, tries and state; --purge [--older-than] removes them; an older
# siprof's items (no destination) are sent only with --adopt; no secret
# is ever written to the spool, whose files are mode 0600.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_classes
for s in s1 s2 s3; do
	"$SIPROF" record -q -o "$tmpdir/$s.siprof" -d 1 -t version=1.0 -t build-host=ci.1 -p "$TARGET_PID" || fail "record failed"
done
nclasses() { "$SIPROF" report --json "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["classes"]))'; }
start_of() { "$SIPROF" report --json "$1" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["context"]["start_unix_ns"]) // 10**9)'; }
n1=$(nclasses "$tmpdir/s1.siprof")
n2=$(nclasses "$tmpdir/s2.siprof")
n3=$(nclasses "$tmpdir/s3.siprof")
[ "$n3" -ge 2 ] || fail "s3 has only $n3 classes"

# Server A is start_receiver's ($srv, $URL); server B a second receiver.
start_receiver
A=$URL
srvB=$tmpdir/srvB
mkdir -p "$srvB"
python3 "$top_srcdir/tests/ingest-server.py" "$srvB" 2> "$srvB/stderr" &
bg_pids="$bg_pids $!"
wait_file "$srvB/port"
B=http://127.0.0.1:$(cat "$srvB/port")
count() { [ -f "$1/log" ] && wc -l < "$1/log" || echo 0; }
SPOOL=$tmpdir/spool
export SIPROF_SPOOL_DIR=$SPOOL
unset SIPROF_UPLOAD_TENANT SIPROF_UPLOAD_TOKEN SIPROF_UPLOAD_USER SIPROF_UPLOAD_PASSWORD SIPROF_UPLOAD_URL
# log_of DIR FROM: the requests DIR's receiver logged after the first FROM,
# as "tenant status from name" lines.
log_of() {
	tail -n +$(($2 + 1)) "$1/log" 2> /dev/null | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print(r["tenant"] or "-", r["status"], r["query"]["from"][0], r["query"]["name"][0])'
}

# ---- A fails (500): s1 waits for A and tenant x ----
echo 500 > "$srv/always"
SIPROF_UPLOAD_TENANT=x SIPROF_UPLOAD_TOKEN=tok-s3cr3t "$SIPROF" upload --url "$A" --attempts 1 \
	"$tmpdir/s1.siprof" > "$tmpdir/out" 2>&1; rc=$?
rm -f "$srv/always"
[ $rc = 8 ] || fail "A failing: exit $rc: $(cat "$tmpdir/out")"
[ "$(count "$srv")" = "$n1" ] || fail "A got $(count "$srv") requests, expected $n1"

# ---- tenant y uploads s2 to B: B gets s2 alone, for y; A nothing ----
a0=$(count "$srv")
SIPROF_UPLOAD_TENANT=y "$SIPROF" upload --json --url "$B" "$tmpdir/s2.siprof" > "$tmpdir/json" 2> "$tmpdir/out" ||
	fail "upload to B failed: $(cat "$tmpdir/out")"
[ "$(count "$srv")" = "$a0" ] || fail "uploading to B sent $(( $(count "$srv") - a0 )) requests to A"
log_of "$srvB" 0 > "$tmpdir/b-log"
[ "$(wc -l < "$tmpdir/b-log")" = "$n2" ] || fail "B got $(wc -l < "$tmpdir/b-log") profiles, expected s2's $n2: $(cat "$tmpdir/b-log")"
s2_start=$(start_of "$tmpdir/s2.siprof")
awk -v s="$s2_start" '$1 != "y" || $2 != 200 || $3 != s' "$tmpdir/b-log" | grep . &&
	fail "B got profiles that are not s2's for tenant y"
grep -q "upload: $n1 profiles\? waits\? for $A (tenant x); upload --url $A to send them" "$tmpdir/out" ||
	fail "no word about what waits for A: $(cat "$tmpdir/out")"
# The scripts' view says the same as B's log.
python3 - "$tmpdir/json" "$srvB/log" "$A" "$n1" <<'EOF' || fail "upload --json: $(cat "$tmpdir/json")"
import json, sys
doc = json.load(open(sys.argv[1]))
log = [json.loads(l) for l in open(sys.argv[2])]
assert doc["exit"] == 0 and doc["sent"] == len(log) and doc["kept"] == 0, doc
assert doc["tenant"] == "y", doc
assert sorted(i["name"] for i in doc["items"] if i["state"] == "sent") == sorted(r["query"]["name"][0] for r in log), doc
assert doc["waiting"] == [{"url": sys.argv[3], "tenant": "x", "count": int(sys.argv[4])}], doc["waiting"]
EOF

# ---- another tenant on A, or the right tenant on B, does not get s1 ----
SIPROF_UPLOAD_TENANT=y "$SIPROF" upload --url "$A" > "$tmpdir/out" 2>&1 || fail "upload --url A as y: $(cat "$tmpdir/out")"
"$SIPROF" upload --spool --url "$A" > "$tmpdir/out" 2>&1 || fail "upload --url A without a tenant: $(cat "$tmpdir/out")"
b0=$(count "$srvB")
SIPROF_UPLOAD_TENANT=x "$SIPROF" upload --url "$B" > "$tmpdir/out" 2>&1 || fail "upload --url B as x: $(cat "$tmpdir/out")"
[ "$(count "$srv")" = "$a0" ] || fail "s1 went to A for another tenant: $(log_of "$srv" "$a0")"
[ "$(count "$srvB")" = "$b0" ] || fail "s1 went to B: $(log_of "$srvB" "$b0")"

# ---- tenant x flushes A: s1 arrives there, for x, once ----
SIPROF_UPLOAD_TENANT=x "$SIPROF" upload --url "$A/" > "$tmpdir/out" 2>&1 || fail "flushing A failed: $(cat "$tmpdir/out")"
log_of "$srv" "$a0" > "$tmpdir/a-log"
s1_start=$(start_of "$tmpdir/s1.siprof")
[ "$(awk -v s="$s1_start" '$1 == "x" && $2 == 200 && $3 == s' "$tmpdir/a-log" | wc -l)" = "$n1" ] ||
	fail "A did not get s1's $n1 profiles for x: $(cat "$tmpdir/a-log")"
[ "$(wc -l < "$tmpdir/a-log")" = "$n1" ] || fail "A got more than s1: $(cat "$tmpdir/a-log")"
# A tag's name as a label name the server accepts.
awk '{ print $4 }' "$tmpdir/a-log" | grep -qv ',build_host=ci\.1[,}]' && fail "no build_host label: $(cat "$tmpdir/a-log")"
[ -z "$(ls "$SPOOL" | grep -v '^acked$')" ] || fail "the spool is not empty: $(ls "$SPOOL")"
a1=$(count "$srv")
SIPROF_UPLOAD_TENANT=x "$SIPROF" upload -q --url "$A" "$tmpdir/s1.siprof" || fail "s1 again to A failed"
[ "$(count "$srv")" = "$a1" ] || fail "s1 was sent to A twice"
# Acknowledged by A for x is not acknowledged by B for y.
b1=$(count "$srvB")
SIPROF_UPLOAD_TENANT=y "$SIPROF" upload -q --url "$B" "$tmpdir/s1.siprof" || fail "s1 to B failed"
[ $(( $(count "$srvB") - b1 )) = "$n1" ] || fail "B got $(( $(count "$srvB") - b1 )) of s1's $n1 profiles"

# ---- no secret in the spool; its files are the user's alone ----
grep -rq "s3cr3t" "$SPOOL" && fail "a secret was written to the spool"
find "$SPOOL" -type f ! -perm 600 | grep . && fail "spool files not mode 0600"

# ---- a 400: that profile is moved aside, the others go ----
a2=$(count "$srv")
printf '400 profile is too old\n' > "$srv/plan"
SIPROF_UPLOAD_TENANT=x "$SIPROF" upload --url "$A" "$tmpdir/s3.siprof" > "$tmpdir/out" 2>&1; rc=$?
[ $rc = 8 ] || fail "a 400: exit $rc: $(cat "$tmpdir/out")"
[ $(( $(count "$srv") - a2 )) = "$n3" ] || fail "a 400 was retried: $(log_of "$srv" "$a2")"
refused=$(log_of "$srv" "$a2" | awk '$2 == 400 { print $4 }')
[ -n "$refused" ] || fail "the receiver refused nothing"
grep -q "refused: the server answered 400: profile is too old; moved aside in $SPOOL, never sent again" "$tmpdir/out" ||
	fail "no word about the refusal: $(cat "$tmpdir/out")"
a3=$(count "$srv")
SIPROF_UPLOAD_TENANT=x "$SIPROF" upload --url "$A" > "$tmpdir/out" 2>&1 || fail "flushing A after a 400: $(cat "$tmpdir/out")"
SIPROF_UPLOAD_TENANT=x "$SIPROF" upload --url "$A" "$tmpdir/s3.siprof" > "$tmpdir/out2" 2>&1 ||
	fail "s3 again after a 400: $(cat "$tmpdir/out2")"
[ "$(count "$srv")" = "$a3" ] || fail "the refused profile was sent again: $(log_of "$srv" "$a3")"
grep -q "1 profile this server refused before stays aside" "$tmpdir/out" || fail "$(cat "$tmpdir/out")"
grep -q "was refused by the server before; it stays aside" "$tmpdir/out2" || fail "$(cat "$tmpdir/out2")"

# ---- B fails for tenant z: s3 waits there, tried twice ----
b2=$(count "$srvB")
echo 500 > "$srvB/always"
SIPROF_UPLOAD_TENANT=z "$SIPROF" upload -q --url "$B" --attempts 2 --retry-wait 0.1 "$tmpdir/s3.siprof" 2> /dev/null
[ $? = 8 ] || fail "B failing: not exit 8"
rm -f "$srvB/always"

# ---- --list and --list --json, against the receivers' logs ----
"$SIPROF" upload --list > "$tmpdir/list" 2> "$tmpdir/err" || fail "upload --list failed: $(cat "$tmpdir/err")"
[ "$(grep -c "^pending .* $B (tenant z)$" "$tmpdir/list")" = "$n3" ] || fail "upload --list: $(cat "$tmpdir/list")"
[ "$(grep -c "^rejected .* $A (tenant x)$" "$tmpdir/list")" = 1 ] || fail "upload --list: $(cat "$tmpdir/list")"
grep -q "refused: the server answered 400: profile is too old" "$tmpdir/list" || fail "upload --list: $(cat "$tmpdir/list")"
"$SIPROF" upload --list --json > "$tmpdir/list.json" || fail "upload --list --json failed"
python3 - "$tmpdir/list.json" "$srv/log" "$srvB/log" "$A" "$B" "$refused" "$n3" <<'EOF' || fail "upload --list --json: $(cat "$tmpdir/list.json")"
import collections, json, sys
doc = json.load(open(sys.argv[1]))
A, B, refused, n3 = sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7])
tries = collections.Counter()
size = {}
for path, url in ((sys.argv[2], A), (sys.argv[3], B)):
    for l in open(path):
        r = json.loads(l)
        key = (url, r["tenant"], r["query"]["name"][0])
        tries[key] += 1
        size[key] = r["size"]
items = doc["items"]
assert len(items) == n3 + 1, items
for i in items:
    key = (i["url"], i["tenant"], i["name"])
    assert i["app"] + "." + i["type"] == i["name"].split("{")[0], i
    assert i["size"] == size[key], (i, size[key])
    assert 0 <= i["age_s"] < 600, i
    if i["state"] == "rejected":
        assert (i["url"], i["tenant"], i["name"], i["status"]) == (A, "x", refused, 400), i
        assert i["error"] == "the server answered 400: profile is too old", i
        assert i["attempts"] == 1, i
    else:
        assert i["state"] == "pending" and i["url"] == B and i["tenant"] == "z", i
        assert i["attempts"] == tries[key] == 2 and i["status"] == 500, (i, tries[key])
EOF

# ---- an older siprof's item (no destination): sent only with --adopt ----
# What such a siprof wrote, as man/siprof.1 (FILES) describes it.
legacy() { # legacy ID AGE: item ID, queued AGE ago, made of one of s3's profiles
	legacy_from=$(date +%s)
	cp "$srvB/body-$(count "$srvB")" "$SPOOL/$1.pb.gz"
	printf '{"name":"old.cpu{host=h}","class":"cpu","from":%s,"until":%s}' "$legacy_from" "$((legacy_from + 1))" > "$SPOOL/$1.meta"
	chmod 600 "$SPOOL/$1.pb.gz" "$SPOOL/$1.meta"
	touch -d "$2" "$SPOOL/$1.meta"
}
legacy old1 "3 days ago"
a4=$(count "$srv")
SIPROF_UPLOAD_TENANT=x "$SIPROF" upload --url "$A" > "$tmpdir/out" 2>&1 || fail "upload with an older item: $(cat "$tmpdir/out")"
[ "$(count "$srv")" = "$a4" ] || fail "an item without a destination was sent: $(log_of "$srv" "$a4")"
grep -q "1 profile spooled by an older siprof has no destination and is not sent; upload --adopt --url URL" "$tmpdir/out" ||
	fail "no word about the older item: $(cat "$tmpdir/out")"
"$SIPROF" upload --list | grep -q "^no-destination .*3 d .*old.cpu" || fail "upload --list: $("$SIPROF" upload --list)"

# ---- --purge --older-than: the old item alone; then --adopt ----
"$SIPROF" upload --purge --older-than 2d 2> "$tmpdir/out" || fail "upload --purge --older-than failed: $(cat "$tmpdir/out")"
grep -q "purged 1 profiles (0 pending, 0 refused, 1 without a destination), $((n3 + 1)) left" "$tmpdir/out" || fail "$(cat "$tmpdir/out")"
[ ! -e "$SPOOL/old1.meta" ] && [ ! -e "$SPOOL/old1.pb.gz" ] || fail "the old item is still there: $(ls "$SPOOL")"
[ "$("$SIPROF" upload --list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" = $((n3 + 1)) ] ||
	fail "upload --purge --older-than removed newer items"
legacy old2 "1 hour ago"
SIPROF_UPLOAD_TENANT=x "$SIPROF" upload --adopt --url "$A" > "$tmpdir/out" 2>&1 || fail "upload --adopt failed: $(cat "$tmpdir/out")"
[ "$(log_of "$srv" "$a4")" = "x 200 $legacy_from old.cpu{host=h}" ] ||
	fail "--adopt did not send the older item to A for x: $(log_of "$srv" "$a4")"
cmp -s "$srv/body-$(count "$srv")" "$srvB/body-$(count "$srvB")" || fail "--adopt sent another profile"

# ---- --purge: everything, pending and refused; the ledger stays ----
"$SIPROF" upload --purge 2> "$tmpdir/out" || fail "upload --purge failed"
grep -q "purged $((n3 + 1)) profiles ($n3 pending, 1 refused, 0 without a destination), 0 left" "$tmpdir/out" || fail "$(cat "$tmpdir/out")"
[ "$(ls "$SPOOL")" = acked ] || fail "upload --purge left: $(ls "$SPOOL")"
a5=$(count "$srv")
SIPROF_UPLOAD_TENANT=x "$SIPROF" upload -q --url "$A" "$tmpdir/s1.siprof" || fail "s1 after --purge"
[ "$(count "$srv")" = "$a5" ] || fail "--purge made an acknowledged profile go again"

# ---- usage ----
"$SIPROF" upload --older-than 1d --url "$A" 2> /dev/null; [ $? = 2 ] || fail "--older-than without --purge: not a usage error"
"$SIPROF" upload --list "$tmpdir/s1.siprof" 2> /dev/null; [ $? = 2 ] || fail "--list FILE: not a usage error"
"$SIPROF" upload --purge --older-than 3x 2> /dev/null; [ $? = 2 ] || fail "--older-than 3x: not a usage error"
assert_running "$TARGET_PID"
