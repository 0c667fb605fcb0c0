#!/bin/bash
# siprof upload against a local Pyroscope-like receiver: the request as the
# server sees it (path, name and labels: the service's identity alone, the
# run's pid and build-id in the profile's comments; spyName, times,
# credentials, a pprof body),
# retries through refused connections, timeouts, 500 and 429, a clear error
# for 401, and a spool that loses nothing and sends nothing twice.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_classes
classes_of() {
	"$SIPROF" report --json "$1" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["classes"])))'
}
# Five sessions with the same classes (in one second a loaded machine may
# give a class no sample, or a stray one: runq, a system call): the counts
# below are per session. One-second recordings are made until five share
# their set of classes, and those five are a to e.
mkdir -p "$tmpdir/tries"
for try in $(seq 1 25); do
	"$SIPROF" record -q -o "$tmpdir/tries/$try.siprof" -d 1 -t version=2.3 -t environment=test \
		-p "$TARGET_PID" || fail "record failed"
	echo "$(classes_of "$tmpdir/tries/$try.siprof" | tr ' ' ,) $try" >> "$tmpdir/tries/sets"
	classes=$(cut -d' ' -f1 "$tmpdir/tries/sets" | sort | uniq -c | sort -rn | awk '$1 >= 5 { print $2; exit }')
	[ -n "$classes" ] && break
done
[ -n "$classes" ] || fail "25 recordings of one second gave no five with the same classes: $(cat "$tmpdir/tries/sets")"
set -- a b c d e
for try in $(awk -v c="$classes" '$1 == c { print $2 }' "$tmpdir/tries/sets" | head -5); do
	mv "$tmpdir/tries/$try.siprof" "$tmpdir/$1.siprof"
	shift
done
classes=$(echo "$classes" | tr , ' ')
nclasses=$(echo $classes | wc -w)

start_receiver
SPOOL=$tmpdir/spool
export SIPROF_SPOOL_DIR=$SPOOL
spooled() { ls "$SPOOL"/*.item "$SPOOL"/*.rejected 2> /dev/null | wc -l; }

# ---- a good upload: what the server receives ----
SIPROF_UPLOAD_TENANT=acme SIPROF_UPLOAD_TOKEN=sekrit-token-123 \
	"$SIPROF" upload --url "$URL" --app shop "$tmpdir/a.siprof" > "$tmpdir/out" 2>&1 ||
	fail "upload failed: $(cat "$tmpdir/out")"
grep -q sekrit "$tmpdir/out" && fail "the token was printed"
[ "$(requests)" = "$nclasses" ] || fail "expected $nclasses requests, got $(requests)"
"$SIPROF" report --json "$tmpdir/a.siprof" > "$tmpdir/a.json"
python3 - "$srv/log" "$tmpdir/a.json" <<'EOF' || fail "the requests are wrong"
import json, re, sys
log = [json.loads(l) for l in open(sys.argv[1])]
ctx = json.load(open(sys.argv[2]))["context"]
classes = set(json.load(open(sys.argv[2]))["classes"])
seen = set()
for r in log:
    assert r["path"] == "/ingest", r["path"]
    q = {k: v[0] for k, v in r["query"].items()}
    assert q["format"] == "pprof", q
    assert q["spyName"] == "siprof", q
    m = re.match(r"^shop\.(\w+)\{(.*)\}$", q["name"])
    assert m, q["name"]
    seen.add(m.group(1))
    labels = dict(kv.split("=", 1) for kv in m.group(2).split(","))
    assert labels["host"] == ctx["host"], labels
    assert "pid" not in labels and "build_id" not in labels, labels
    assert labels["version"] == "2.3" and labels["environment"] == "test", labels
    start = int(ctx["start_unix_ns"]) // 10**9
    assert int(q["from"]) == start and start < int(q["until"]) <= start + 3, q
    h = {k.lower(): v for k, v in r["headers"].items()}
    assert h["x-scope-orgid"] == "acme", h
    assert h["authorization"] == "Bearer sekrit-token-123", h
    assert h["content-type"] == "application/octet-stream", h
    assert r["size"] > 0
assert seen == classes, (seen, classes)
EOF
GO=$(command -v go || echo /usr/lib/go/bin/go)
if [ -x "$GO" ]; then
	export HOME=$tmpdir GOCACHE=$tmpdir/gocache GOTOOLCHAIN=local
	for n in $(seq 1 "$nclasses"); do
		"$GO" tool pprof -raw -symbolize=none "$srv/body-$n" > "$tmpdir/raw" 2>&1 ||
			fail "go tool pprof cannot read upload $n: $(cat "$tmpdir/raw")"
		grep -qE '^PeriodType: [a-z]+ nanoseconds$' "$tmpdir/raw" || fail "upload $n: $(head -3 "$tmpdir/raw")"
		# What tells this run from others, in the profile's comments.
		python3 - "$tmpdir/raw" "$tmpdir/a.json" <<'EOF2' || fail "upload $n: no pid and build-id in the comments: $(head -3 "$tmpdir/raw")"
import json, sys
ctx = json.load(open(sys.argv[2]))["context"]
comments = " ".join(l[len("Comment: "):] for l in open(sys.argv[1]) if l.startswith("Comment: ")).split()
assert "pid=%s" % ctx["pid"] in comments and "build_id=%s" % ctx["build_id"] in comments, comments
EOF2
	done
else
	skip_check go "go tool pprof reads the uploaded profiles; contrib/setup.sh installs golang-go"
fi
[ "$(spooled)" = 0 ] || fail "acknowledged profiles left in the spool"

# Nothing is sent twice once acknowledged (by that server, for that tenant).
SIPROF_UPLOAD_TENANT=acme "$SIPROF" upload --url "$URL/" --app shop "$tmpdir/a.siprof" > "$tmpdir/out" 2>&1 ||
	fail "second upload failed"
[ "$(requests)" = "$nclasses" ] || fail "an acknowledged profile was sent again"
grep -q "was uploaded before; not sent again" "$tmpdir/out" || fail "no word about it: $(cat "$tmpdir/out")"

# ---- 500, then 429 with Retry-After: retried, then sent ----
before=$(requests)
printf '500\n429 1\n' > "$srv/plan"
"$SIPROF" upload --url "$URL" --retry-wait 0.1 "$tmpdir/b.siprof" > "$tmpdir/out" 2>&1 ||
	fail "upload through 500 and 429 failed: $(cat "$tmpdir/out")"
[ $(( $(requests) - before )) = $((nclasses + 2)) ] || fail "expected $((nclasses + 2)) requests, got $(( $(requests) - before ))"
grep -q "the server answered 500: internal error; trying again" "$tmpdir/out" || fail "no retry message: $(cat "$tmpdir/out")"
grep -q "the server answered 429: too many requests; trying again in 1 s" "$tmpdir/out" ||
	fail "Retry-After not honoured: $(cat "$tmpdir/out")"
[ "$(spooled)" = 0 ] || fail "sent profiles left in the spool"

# ---- a slow server: the request times out and is tried again ----
before=$(requests)
printf 'slow 3\n' > "$srv/plan"
"$SIPROF" upload --url "$URL" --timeout 1 --retry-wait 0.1 "$tmpdir/c.siprof" > "$tmpdir/out" 2>&1 ||
	fail "upload through a timeout failed: $(cat "$tmpdir/out")"
grep -q "Timeout was reached; trying again" "$tmpdir/out" || fail "no timeout: $(cat "$tmpdir/out")"
[ $(( $(requests) - before )) = $((nclasses + 1)) ] || fail "expected $((nclasses + 1)) requests, got $(( $(requests) - before )): $(cat "$tmpdir/out")"

# ---- refused: kept in the spool for that server alone ----
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$SIPROF" upload --url "http://127.0.0.1:$dead" --attempts 2 --retry-wait 0.1 "$tmpdir/d.siprof" > "$tmpdir/out" 2>&1
rc=$?
[ $rc = 8 ] || fail "refused: exit $rc, expected 8: $(cat "$tmpdir/out")"
grep -q "not sent: Couldn't connect to server; kept in $SPOOL" "$tmpdir/out" || fail "refused: $(cat "$tmpdir/out")"
[ "$(spooled)" = "$nclasses" ] || fail "refused: $(spooled) profiles in the spool, expected $nclasses"
[ "$(stat -c %a "$SPOOL")" = 700 ] || fail "the spool is not mode 0700"
before=$(requests)
"$SIPROF" upload --spool --url "$URL" > "$tmpdir/out" 2>&1 || fail "upload --spool to another server failed: $(cat "$tmpdir/out")"
[ "$(requests)" = "$before" ] || fail "profiles for http://127.0.0.1:$dead went to $URL"
grep -q "upload: $nclasses profiles wait for http://127.0.0.1:$dead; upload --url http://127.0.0.1:$dead to send them" "$tmpdir/out" ||
	fail "no word about the profiles waiting for another server: $(cat "$tmpdir/out")"
"$SIPROF" upload --purge -q || fail "upload --purge failed"
[ "$(spooled)" = 0 ] || fail "upload --purge left $(spooled) profiles"

# ---- a server that fails (503): kept, sent by the next upload --spool, once ----
echo 500 > "$srv/always"
"$SIPROF" upload --url "$URL" --attempts 2 --retry-wait 0.1 "$tmpdir/d.siprof" > "$tmpdir/out" 2>&1
rc=$?
rm -f "$srv/always"
[ $rc = 8 ] || fail "500: exit $rc, expected 8: $(cat "$tmpdir/out")"
[ "$(spooled)" = "$nclasses" ] || fail "500: $(spooled) profiles in the spool, expected $nclasses"
before=$(requests)
"$SIPROF" upload --spool --url "$URL" > "$tmpdir/out" 2>&1 || fail "upload --spool failed: $(cat "$tmpdir/out")"
[ $(( $(requests) - before )) = "$nclasses" ] || fail "upload --spool sent $(( $(requests) - before ))"
[ "$(spooled)" = 0 ] || fail "the spool is not empty after upload --spool"
"$SIPROF" upload --url "$URL" > "$tmpdir/out" 2>&1 || fail "second upload of the spool failed"
[ $(( $(requests) - before )) = "$nclasses" ] || fail "upload --spool sent something twice"

# ---- 401: not retried, the server's message, kept for later ----
before=$(requests)
printf '401\n' > "$srv/plan"
"$SIPROF" upload --url "$URL" --retry-wait 0.1 "$tmpdir/e.siprof" > "$tmpdir/out" 2>&1
rc=$?
[ $rc = 8 ] || fail "401: exit $rc, expected 8"
grep -q "not sent: the server answered 401: no org id; kept in" "$tmpdir/out" || fail "401: $(cat "$tmpdir/out")"
[ $(( $(requests) - before )) = "$nclasses" ] || fail "401 was retried"
[ "$(spooled)" = 1 ] || fail "the refused profile is not in the spool"
"$SIPROF" upload --spool --url "$URL" -q || fail "upload --spool after 401 failed"
[ "$(spooled)" = 0 ] || fail "the spool is not empty"

# ---- credentials from a file, HTTP Basic from the environment ----
printf 'tenant=t2\ntoken=file-token-456\n' > "$tmpdir/auth"
chmod 644 "$tmpdir/auth"
"$SIPROF" upload --spool --url "$URL" --auth-file "$tmpdir/auth" 2> "$tmpdir/err"; rc=$?
[ $rc = 1 ] || fail "a readable credentials file: exit $rc"
grep -q "can be read by others: chmod 600 it" "$tmpdir/err" || fail "$(cat "$tmpdir/err")"
chmod 600 "$tmpdir/auth"
rm -f "$SPOOL/acked"
before=$(requests)
"$SIPROF" upload -q --url "$URL" --auth-file "$tmpdir/auth" "$tmpdir/a.siprof" || fail "upload with --auth-file failed"
tail -n 1 "$srv/log" | grep -q '"Authorization": "Bearer file-token-456"' || fail "no token from the file"
tail -n 1 "$srv/log" | grep -q '"X-Scope-Orgid": "t2"\|"X-Scope-OrgID": "t2"' || fail "no tenant from the file"
rm -f "$SPOOL/acked"
SIPROF_UPLOAD_USER=ann SIPROF_UPLOAD_PASSWORD='pa ss' "$SIPROF" upload -q --url "$URL" "$tmpdir/a.siprof" ||
	fail "upload with Basic auth failed"
tail -n 1 "$srv/log" | grep -q "\"Authorization\": \"Basic $(printf 'ann:pa ss' | base64)\"" || fail "no Basic auth"

# ---- record --upload, and what is refused on the command line ----
before=$(requests)
"$SIPROF" record -q -o "$tmpdir/r.siprof" -d 1 --upload "$URL" -p "$TARGET_PID" 2> "$tmpdir/out" ||
	fail "record --upload failed: $(cat "$tmpdir/out")"
[ $(( $(requests) - before )) -ge 1 ] || fail "record --upload sent nothing"
"$SIPROF" upload --url "http://user:pw@127.0.0.1:$dead" "$tmpdir/a.siprof" 2> "$tmpdir/err"; rc=$?
[ $rc = 2 ] || fail "credentials in the URL: exit $rc"
grep -q "credentials do not go on the command line" "$tmpdir/err" || fail "$(cat "$tmpdir/err")"
grep -q "pw" "$tmpdir/err" && fail "the password was printed"
"$SIPROF" upload --url "ftp://127.0.0.1/" "$tmpdir/a.siprof" 2> /dev/null; [ $? = 2 ] || fail "ftp: not a usage error"
"$SIPROF" upload "$tmpdir/a.siprof" 2> /dev/null; [ $? = 2 ] || fail "no URL: not a usage error"
"$SIPROF" upload --url "$URL" "$tmpdir/missing.siprof" 2> /dev/null; [ $? = 7 ] || fail "missing file: not exit 7"

# ---- a proxy is honoured as libcurl does: the receiver plays the proxy ----
before=$(requests)
http_proxy=$URL "$SIPROF" upload -q --spool-dir "$tmpdir/proxy-spool" --url "http://ingest.example.invalid:4040" "$tmpdir/c.siprof" ||
	fail "upload through a proxy failed"
[ $(( $(requests) - before )) = "$nclasses" ] || fail "the proxy did not get the requests"
tail -n 1 "$srv/log" | grep -q '"Host": "ingest.example.invalid:4040"' || fail "not a proxied request: $(tail -n 1 "$srv/log")"

# ---- TLS: a certificate nobody vouches for is refused, not retried ----
if command -v openssl > /dev/null; then
	tls=$tmpdir/tls
	mkdir -p "$tls"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
		-keyout "$tls/key.pem" -out "$tls/cert.pem" > /dev/null 2>&1 || fail "openssl failed"
	python3 "$top_srcdir/tests/ingest-server.py" "$tls" "$tls/cert.pem" "$tls/key.pem" 2> /dev/null &
	bg_pids="$bg_pids $!"
	wait_file "$tls/port"
	"$SIPROF" upload --url "https://127.0.0.1:$(cat "$tls/port")" --spool-dir "$tmpdir/tls-spool" \
		"$tmpdir/c.siprof" > "$tmpdir/out" 2>&1; rc=$?
	[ $rc = 8 ] || fail "an untrusted certificate: exit $rc: $(cat "$tmpdir/out")"
	grep -qi "certificate" "$tmpdir/out" || fail "no word about the certificate: $(cat "$tmpdir/out")"
	grep -q "trying again" "$tmpdir/out" && fail "a certificate failure was retried"
	[ ! -f "$tls/log" ] || fail "a request went through an untrusted connection"
else
	echo "note: openssl is missing; TLS verification is not checked"
fi

# ---- other profile types: samples of alloc and duration (added by SQL, as
# their producers will write them) go as profiles of their own, app.TYPE
# (alloc as app.memory, Go's heap profile), beside the classes already
# acknowledged, with their sample types ----
cp "$tmpdir/a.siprof" "$tmpdir/typed.siprof"
python3 - "$tmpdir/typed.siprof" <<'EOF2' || fail "cannot add typed samples"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO samples SELECT bucket, tid, stack, 0, 0, count, 1, count * 64, 0 FROM samples WHERE type = 0")
c.execute("INSERT INTO samples SELECT bucket, tid, stack, 0, 0, count, 3, count * 1000, 1000 FROM samples WHERE type = 0")
c.commit()
EOF2
before=$(requests)
"$SIPROF" upload --url "$URL" --app shop "$tmpdir/typed.siprof" > "$tmpdir/out" 2>&1 ||
	fail "upload of a session with other types failed: $(cat "$tmpdir/out")"
[ $(( $(requests) - before )) = 2 ] ||
	fail "expected the alloc and duration profiles alone, got $(( $(requests) - before )) requests: $(cat "$tmpdir/out")"
names=$(tail -n 2 "$srv/log" | python3 -c 'import json, sys; print(" ".join(sorted(json.loads(l)["query"]["name"][0].split("{")[0] for l in sys.stdin)))')
[ "$names" = "shop.duration shop.memory" ] || fail "the typed profiles are named $names"
if [ -x "$GO" ]; then
	for n in $((before + 1)) $((before + 2)); do
		"$GO" tool pprof -raw -symbolize=none "$srv/body-$n" > "$tmpdir/raw" 2>&1 ||
			fail "go tool pprof cannot read upload $n: $(cat "$tmpdir/raw")"
		grep -qE '^(alloc_objects/count alloc_space/bytes(\[dflt\])? inuse_objects/count inuse_space/bytes|duration_calls/count duration/nanoseconds)' "$tmpdir/raw" ||
			fail "upload $n has not its type's sample types: $(sed -n 1,4p "$tmpdir/raw")"
	done
fi

# ---- progress on a terminal, for a slow upload ----
if command -v script > /dev/null; then
	rm -f "$SPOOL/acked"
	printf 'slow 2\n' > "$srv/plan"
	script -qec "SIPROF_SPOOL_DIR='$SPOOL' '$SIPROF' upload --url '$URL' '$tmpdir/b.siprof'" /dev/null > "$tmpdir/tty" 2>&1 ||
		fail "upload on a terminal failed: $(cat -v "$tmpdir/tty")"
	grep -aqE 'upload: [a-z]+ +[0-9]+% of [0-9]+ kB' "$tmpdir/tty" || fail "no progress: $(cat -v "$tmpdir/tty")"
fi
assert_running "$TARGET_PID"
