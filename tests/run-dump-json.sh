#!/bin/bash
# --json: valid JSON a script can use, carrying the same facts as the text.
. "$(dirname "$0")/test-subr.sh"
need_ptrace
command -v python3 > /dev/null || skip "python3 is not installed (contrib/setup.sh installs it)"
start_chain

"$SIPROF" dump --json "$TARGET_PID" > "$tmpdir/out.json" 2> "$tmpdir/err" ||
	fail "siprof dump --json exited with $?: $(cat "$tmpdir/err")"
assert_running "$TARGET_PID"
leaf=$(line_of '/\* LEAF \*/' "$CHAIN_SRC")
python3 - "$tmpdir/out.json" "$TARGET_PID" "$leaf" <<'PY' || fail "the JSON dump is wrong"
import json, sys
doc = json.load(open(sys.argv[1]))
pid, leaf = int(sys.argv[2]), int(sys.argv[3])
assert doc["pid"] == pid and doc["command"] == "target-chain" and doc["unwinder"] == "dw", doc
threads = {t["name"]: t for t in doc["threads"]}
assert set(threads) == {"target-chain", "worker", "reader", "poller", "locker", "plugin"}, threads.keys()
w = threads["worker"]
names = [f["function"] for f in w["frames"]]
assert names == ["spin_inline", "compute", "level2", "level1", "worker_main",
                 "start_thread", "__clone3"], names
f0 = w["frames"][0]
assert f0["inlined"] is True and f0["line"] == leaf and f0["file"].endswith("/chain.c"), f0
assert f0["module"].endswith("/target-chain") and len(f0["build_id"]) == 40, f0
assert w["frames"][1]["inlined"] is False
assert w["stopped"] is True and w["held_us"] > 0 and w["truncated"] is False, w
p = threads["poller"]
assert p["stopped"] is False and p["syscall"] == "epoll_wait" and "held_us" not in p, p
assert threads["reader"]["syscall"] == "read" and threads["worker"]["syscall"] is None
print("ok")
PY
stop_chain > /dev/null
