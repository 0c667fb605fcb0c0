#!/bin/bash
# Names a target chooses (its thread names, command line, file name and a
# symbol) with escape sequences, C1 and bidirectional controls and UTF-8 cut
# mid-character: no text output of dump, attach --batch, record, report,
# export or diff carries a control character or invalid UTF-8; every thread
# of the target (as the kernel lists them) is in every JSON output with its
# name made valid; and each format is read by its real consumer (python's
# json and XML parsers, go tool pprof).
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
GO=$(command -v go || echo /usr/lib/go/bin/go)
[ -x "$GO" ] || { skip_check go "go tool pprof reads the thread names in the pprof export; contrib/setup.sh installs golang-go"; GO=; }
export HOME=$tmpdir GOCACHE=$tmpdir/gocache GOFLAGS=-mod=mod GOTOOLCHAIN=local

# The program's file name clears the screen, its arguments retitle the
# terminal and break the line.
STATE=$tmpdir/names
mkdir -p "$STATE"
exe="$tmpdir/names"$'\e[2J'
cp "$TARGETS/target-names" "$exe" || fail "cannot copy the target"
"$exe" "$STATE" $'\e]0;argv\a' $'line\nbreak' &
TARGET_PID=$!
bg_pids="$bg_pids $TARGET_PID"
wait_file "$STATE/ready"
o=$tmpdir/out
mkdir -p "$o"

# The kernel's view: every thread and its name, bytes decoded with
# replacement characters.
python3 - "$TARGET_PID" > "$o/kernel.json" <<'EOF'
import json, os, sys
pid = sys.argv[1]
names = {}
for tid in os.listdir(f"/proc/{pid}/task"):
    raw = open(f"/proc/{pid}/task/{tid}/comm", "rb").read()
    names[int(tid)] = raw[:-1].decode("utf-8", "replace") if raw.endswith(b"\n") else raw.decode("utf-8", "replace")
json.dump(names, sys.stdout)
EOF
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$o/kernel.json")" = 5 ] ||
	fail "the target does not have its 5 threads: $(cat "$o/kernel.json")"

# ---- every output, stdout and stderr apart ----
texts=""
run() { # run NAME CMD...: stdout to $o/NAME, stderr to $o/NAME.err
	local name=$1
	shift
	"$@" > "$o/$name" 2> "$o/$name.err" || fail "$* failed: $(cat "$o/$name.err")"
}
text() { # text NAME CMD...: as run, and NAME is a text output
	run "$@"
	texts="$texts $o/$1"
}
# The spinning thread is in the odd function most of the time: dump until
# it is caught there.
for i in 1 2 3 4 5 6 7 8 9 10; do
	text dump "$SIPROF" dump "$TARGET_PID"
	grep -qF 'odd\x1b]0;sym\x07' "$o/dump" && break
done
run dump.json "$SIPROF" dump --json "$TARGET_PID"
text batch "$SIPROF" attach --batch --iterations=1 --delay=1 "$TARGET_PID"
run batch.json "$SIPROF" attach --batch --json --iterations=1 --delay=1 "$TARGET_PID"
text record "$SIPROF" record -o "$o/a.siprof" -d 2 -p "$TARGET_PID" -t $'note=\e[31mred'
text record-b "$SIPROF" record -q -o "$o/b.siprof" -d 1 -p "$TARGET_PID"
text report "$SIPROF" report "$o/a.siprof"
text tree "$SIPROF" report --tree "$o/a.siprof"
text folded "$SIPROF" report --folded "$o/a.siprof"
text threads "$SIPROF" report --threads "$o/a.siprof"
run threads.json "$SIPROF" report --threads --json "$o/a.siprof"
run report.json "$SIPROF" report --json "$o/a.siprof"
run tree.json "$SIPROF" report --tree --json "$o/a.siprof"
run export-folded "$SIPROF" export -f folded -c wall --by-thread -o "$o/e.folded" "$o/a.siprof"
texts="$texts $o/e.folded $o/export-folded"
run export-ss "$SIPROF" export -f speedscope -c wall -o "$o/e.speedscope.json" "$o/a.siprof"
run export-svg "$SIPROF" export -f svg -c wall --by-thread -o "$o/e.svg" "$o/a.siprof"
run export-pprof "$SIPROF" export -f pprof -o "$o/e.pb.gz" "$o/a.siprof"
text diff "$SIPROF" diff "$o/a.siprof" "$o/b.siprof"
run diff.json "$SIPROF" diff --json "$o/a.siprof" "$o/b.siprof"
run diff-svg "$SIPROF" diff --svg "$o/d.svg" "$o/a.siprof" "$o/b.siprof"
if [ -n "$GO" ]; then
	"$GO" tool pprof -raw -symbolize=none "$o/e.pb.gz" > "$o/pprof.raw" 2> "$o/pprof.err" ||
		fail "go tool pprof cannot read the profile: $(cat "$o/pprof.err")"
fi
errs=$(ls "$o"/*.err | grep -v pprof.err)

# ---- no control character in text, valid UTF-8 everywhere ----
python3 - $texts -- $errs "$o"/*.json "$o/e.speedscope.json" <<'EOF' || fail "an output is not safe for a terminal"
import re, sys
c0 = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
# In text, C1 and the controls that reorder a line too; JSON keeps those.
invisible = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
args = sys.argv[1:]
split = args.index("--")
for i, path in enumerate(args):
    if i == split:
        continue
    data = open(path, "rb").read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        sys.exit(f"{path}: not valid UTF-8 ({e}): {data[max(0, e.start - 40):e.start + 40]!r}")
    m = (invisible if i < split else c0).search(text)
    if m:
        sys.exit(f"{path}: control character U+{ord(m.group()):04X}: {text[max(0, m.start() - 40):m.start() + 40]!r}")
EOF

# The escapes are the ones the manual describes, so that a reader can see
# what the name was.
main_tid=$TARGET_PID
grep -qF "thread $main_tid \"\\x1b]0;pwned\\x07\" " "$o/dump" || fail "no escaped main thread name in dump: $(cat -v "$o/dump")"
grep -qF 'odd\x1b]0;sym\x07 [names\x1b[2J]' "$o/dump" || fail "the odd symbol or the module is not shown escaped in dump: $(cat -v "$o/dump")"
grep -qF '"ééééééé'$'\xef\xbf\xbd''"' "$o/dump" || fail "the cut name is not shown with a replacement character: $(cat -v "$o/dump")"
grep -qF '"x\u009b2J'$'\xef\xbf\xbd''y"' "$o/dump" || fail "the C1 control is not shown escaped: $(cat -v "$o/dump")"
grep -qF '"a\u202eb\nc\td"' "$o/dump" || fail "the bidirectional override, newline or tab is not shown escaped: $(cat -v "$o/dump")"
grep -qF ': '"$exe"'' "$o/report" && fail "the command line went raw to the report"
grep -qF 'names \x1b]0;argv\x07 line\nbreak' "$o/report" || fail "the command line is not shown escaped: $(cat -v "$o/report")"
grep -qF 'note=\x1b[31mred' "$o/report" || fail "the tag is not shown escaped: $(cat -v "$o/report")"
grep -qF 'odd\x1b]0:sym\x07' "$o/folded" || fail "the odd symbol is not in the folded stacks (';' made ':'): $(cat -v "$o/folded")"

# ---- every thread, its name valid, in every JSON document ----
python3 - "$o" <<'EOF' || fail "a JSON output lost a thread or its name"
import json, sys
o = sys.argv[1]
kernel = {int(k): v for k, v in json.load(open(f"{o}/kernel.json")).items()}

dump = json.load(open(f"{o}/dump.json"))
got = {t["tid"]: t.get("name") for t in dump["threads"]}
assert got == kernel, f"dump --json: {got} != the kernel's {kernel}"
assert dump["command"] == kernel[dump["pid"]], dump["command"]

batch = json.load(open(f"{o}/batch.json"))
got = {t["tid"]: t["name"] for t in batch["threads"]}
assert got == kernel, f"attach --batch --json: {got} != the kernel's {kernel}"
assert batch["command"] == kernel[batch["pid"]], batch["command"]
assert any(f["function"] == "odd\x1b]0;sym\x07" for f in batch["functions"]), batch["functions"]

threads = json.load(open(f"{o}/threads.json"))
got = {t["tid"]: t.get("name") for t in threads}
assert got == kernel, f"report --threads --json: {got} != the kernel's {kernel}"

ctx = json.load(open(f"{o}/report.json"))["context"]
assert ctx["comm"] == kernel[int(ctx["pid"])], ctx["comm"]
assert ctx["command"].endswith("\x1b]0;argv\x07 line\nbreak"), ctx["command"]
assert ctx["tags"]["note"] == "\x1b[31mred", ctx["tags"]
functions = json.load(open(f"{o}/report.json"))["functions"]
assert any(f["function"] == "odd\x1b]0;sym\x07" for f in functions), functions
json.load(open(f"{o}/tree.json"))
json.load(open(f"{o}/diff.json"))

ss = json.load(open(f"{o}/e.speedscope.json"))
got = sorted(p["name"] for p in ss["profiles"])
want = sorted(f"{name} ({tid}), wall" for tid, name in kernel.items())
assert got == want, f"speedscope profiles {got} != {want}"
assert any(f["name"] == "odd\x1b]0;sym\x07" for f in ss["shared"]["frames"]), ss["shared"]["frames"]
EOF

# ---- the SVG flame graphs are XML; each thread has its box ----
python3 - "$o" <<'EOF' || fail "an SVG is not valid XML or lost a thread"
import json, sys
import xml.etree.ElementTree as ET
o = sys.argv[1]
kernel = {int(k): v for k, v in json.load(open(f"{o}/kernel.json")).items()}
ns = "{http://www.w3.org/2000/svg}"
for svg in ("e.svg", "d.svg"):
    ET.parse(f"{o}/{svg}")
titles = [t.text for t in ET.parse(f"{o}/e.svg").getroot().iter(ns + "title")]
for tid, name in kernel.items():
    assert any(f"({tid}) (" in t for t in titles), f"no box for thread {tid} {name!r}: {titles}"
cut = [n for n in kernel.values() if n.startswith("é")][0]
assert any(t.startswith(f"{cut} (") for t in titles), f"no box named {cut!r}: {titles}"
assert any(t.startswith("odd\\x1b]0;sym\\x07 (") for t in titles), titles
EOF

# ---- go tool pprof: every thread's name as a label ----
[ -z "$GO" ] || python3 - "$o" <<'EOF' || fail "the pprof lost a thread's name"
import json, sys
o = sys.argv[1]
kernel = {int(k): v for k, v in json.load(open(f"{o}/kernel.json")).items()}
raw = open(f"{o}/pprof.raw", "rb").read().decode("utf-8")
for tid, name in kernel.items():
    assert f"thread:[{name}] thread_id:[{tid}]" in raw, f"no label for {tid} {name!r}"
EOF

# ---- a server's error message: JSON, then raw bytes ----
srv=$tmpdir/srv
mkdir -p "$srv"
python3 - "$srv" 2> "$srv/stderr" <<'EOF' &
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
n = [0]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        n[0] += 1
        if n[0] % 2:
            body = json.dumps({"code": 3, "message": "\x1b]0;srv\x07bad\x1b[2J"}).encode()
        else:
            body = b"raw \x1b]0;srv\x07 \x9b2J \xff"
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + "/port.tmp", "w").write(str(s.server_port))
os.rename(sys.argv[1] + "/port.tmp", sys.argv[1] + "/port")
s.serve_forever()
EOF
bg_pids="$bg_pids $!"
wait_file "$srv/port"
SIPROF_SPOOL_DIR=$tmpdir/spool "$SIPROF" upload --url "http://127.0.0.1:$(cat "$srv/port")" \
	"$o/a.siprof" > "$o/upload" 2>&1
[ $? = 8 ] || fail "upload against a refusing server did not exit 8: $(cat -v "$o/upload")"
grep -qF 'the server answered 400: \x1b]0;srv\x07bad\x1b[2J' "$o/upload" ||
	fail "the server's JSON message is not shown escaped: $(cat -v "$o/upload")"
grep -qF 'the server answered 400: raw \x1b]0;srv\x07 '$'\xef\xbf\xbd''2J '$'\xef\xbf\xbd' "$o/upload" ||
	fail "the server's raw message is not shown escaped: $(cat -v "$o/upload")"
python3 - "$o/upload" <<'EOF' || fail "upload printed a control character: $(cat -v "$o/upload")"
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8")
assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
EOF
assert_running "$TARGET_PID"
