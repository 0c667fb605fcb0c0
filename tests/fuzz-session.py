#!/usr/bin/env python3
"""Damaged session files against every command that reads them.

usage: fuzz-session.py [--seed N] [--count N] [--keep DIR] [--timeout S]
                       [--siprof PATH] SESSION...

Each mutant is a copy of one of the SESSION files (real recordings) damaged
in a way that matters: cut at a random length, bytes flipped in its pages,
its SQLite header broken, or, through sqlite3, tables dropped, emptied or
replaced, rows given wrong types, NULLs, huge or negative numbers, ids that
point nowhere, cycles and deep chains in the stack tree, absurd schema
versions and meta values, names with control characters and broken UTF-8.
Every command that reads sessions runs on it: report (default, --tree,
--folded, --threads, --metrics, --json), export -f pprof, folded,
speedscope and svg, diff (both ways, against an intact session), and
upload to a refused loopback port with a private spool. A command must
exit 0, or 7 (a bad file) with a one-line message (upload: 8, not sent);
a signal, an exit code above 128, a hang, a sanitizer report in stderr, or
any other exit code is a failure. Failing mutants are kept in --keep DIR
(default: a temporary directory, printed) with the command to replay.

The same seed gives the same mutants. make check runs a short pass
(tests/run-fuzz-session.sh: 40 mutants); a longer one, ideally on an
ASan/UBSan build (configure --enable-sanitizers), is for example
    tests/fuzz-session.py --seed 1 --count 2000 --siprof build-asan/src/siprof S1 S2
"""
import argparse
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile

TABLES = ["meta", "strings", "modules", "frames", "stacks", "threads", "classes",
          "types", "samples", "metrics", "stats"]
INT_COLUMNS = {
    "strings": ["id"],
    "modules": ["id", "path", "build_id"],
    "frames": ["id", "function", "file", "line", "module", "inlined"],
    "stacks": ["id", "parent", "frame"],
    "threads": ["tid", "name", "pid"],
    "samples": ["bucket", "tid", "stack", "class", "syscall", "count", "type", "value", "max"],
    "types": ["id"],
    "metrics": ["t", "cpu_percent", "utime_ns", "vm_size", "rss_anon", "threads", "fds",
                "io_rchar"],
    "stats": ["value"],
}
META_KEYS = ["schema_version", "rate_hz", "start_unix_ns", "end_unix_ns", "pid", "comm",
             "command", "start", "end", "cpu_capacity", "unwinder", "run_id", "host",
             "executable", "build_id", "tag.app"]
STAT_KEYS = ["duration_s", "ticks", "samples", "dropped_samples", "held_p50_us"]
WEIRD_VALUES = [None, -1, 0, 1, 2, -2**31, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1,
                -2**63, 65535, 65536, 1e308, -1e308, float("inf"), float("-inf"), 0.5,
                "", "x", "nan", "inf", "-1", "1e999", "0x10", " 5", "9" * 40,
                "\x1b]0;owned\x07\x1b[2J", "a" * 5000, b"\xff\xfe\x00bin", "\u00e9\u00e8"]


def weird(rng):
    v = rng.choice(WEIRD_VALUES)
    return v


def mutate_bytes(rng, data):
    kind = rng.randrange(4)
    if kind == 0:  # cut at a random length
        return data[:rng.randrange(len(data) + 1)], "truncated"
    data = bytearray(data)
    if kind == 1:  # the SQLite header: magic, page size, counts, encoding
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(100)] = rng.randrange(256)
        return bytes(data), "header"
    if kind == 2:  # flip bytes inside one page
        page = int.from_bytes(data[16:18], "big") or 65536
        npages = max(1, len(data) // page)
        base = rng.randrange(npages) * page
        for _ in range(rng.randint(1, 32)):
            i = base + rng.randrange(page)
            if i < len(data):
                data[i] ^= 1 << rng.randrange(8)
        return bytes(data), "page %d" % (base // page)
    for _ in range(rng.randint(1, 64)):  # bytes anywhere
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data), "bytes"


def sql_mutation(rng, db):
    """One damage done through SQL; returns its description."""
    c = db.cursor()
    kind = rng.randrange(15)
    if kind == 0:
        t = rng.choice(TABLES)
        c.execute("DROP TABLE IF EXISTS %s" % t)
        return "drop %s" % t
    if kind == 1:
        t = rng.choice(TABLES)
        c.execute("DELETE FROM %s" % t)
        return "empty %s" % t
    if kind == 2:  # a column of wrong type, NULL, huge or negative
        t = rng.choice(list(INT_COLUMNS))
        col = rng.choice(INT_COLUMNS[t])
        v = weird(rng)
        rows = "" if rng.random() < 0.3 else " WHERE rowid IN (SELECT rowid FROM %s ORDER BY random() LIMIT 3)" % t
        c.execute("UPDATE %s SET %s = ?%s" % (t, col, rows), (v,))
        return "%s.%s = %r" % (t, col, v if not isinstance(v, str) else v[:20])
    if kind == 3:  # the stack tree: cycles, self-parents, dangling frames
        n = c.execute("SELECT count(*) FROM stacks").fetchone()[0]
        if n < 2:
            return "stacks too small"
        a, b = rng.randrange(1, n), rng.randrange(1, n)
        how = rng.randrange(3)
        if how == 0:
            c.execute("UPDATE stacks SET parent = ? WHERE id = ?", (b, a))
            return "stacks %d -> parent %d" % (a, b)
        if how == 1:
            c.execute("UPDATE stacks SET parent = id")
            return "stacks: every node its own parent"
        c.execute("UPDATE stacks SET frame = ? WHERE id = ?", (rng.choice([0, 10**6, -1]), a))
        return "stacks %d: dangling frame" % a
    if kind == 4:  # a deep chain of stacks, and samples on its end
        n = c.execute("SELECT count(*) FROM stacks").fetchone()[0]
        nf = c.execute("SELECT count(*) FROM frames").fetchone()[0]
        depth = rng.choice([5000, 50000, 200000])
        rows = [(n + i, n + i - 1 if i else 0, 1 + i % max(1, nf - 1)) for i in range(depth)]
        c.executemany("INSERT INTO stacks VALUES(?, ?, ?)", rows)
        c.execute("INSERT INTO samples(bucket, tid, stack, class, syscall, count)"
                  " VALUES(0, (SELECT min(tid) FROM threads), ?, 0, 0, 5)",
                  (n + depth - 1,))
        return "a chain of %d stacks" % depth
    if kind == 5:
        v = rng.choice(["0", "-1", "2", "99", "999999999", "abc", "1e3", "", " 1", "1.0",
                        "0x1", None])
        c.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (v,))
        return "schema_version = %r" % v
    if kind == 6:
        k = rng.choice(META_KEYS)
        v = weird(rng)
        c.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (k, v))
        return "meta %s = %r" % (k, v if not isinstance(v, str) else v[:20])
    if kind == 7:
        k = rng.choice(STAT_KEYS)
        v = weird(rng)
        c.execute("INSERT OR REPLACE INTO stats VALUES(?, ?)", (k, v))
        return "stats %s = %r" % (k, v if not isinstance(v, str) else v[:20])
    if kind == 8:  # names: control characters, broken UTF-8, huge
        v = rng.choice(["\x1b[2J\x1b]0;x\x07", b"\xc3(\xa0\xa1", "a" * 100000, "", "\n\t;",
                        "<svg>&amp;\"'", b"caf\xc3"])
        c.execute("UPDATE strings SET value = ? WHERE id IN (SELECT id FROM strings ORDER BY random() LIMIT 5)", (v,))
        return "strings = %r" % (v[:20],)
    if kind == 9:  # huge buckets, far apart
        c.execute("UPDATE samples SET bucket = ? WHERE rowid IN (SELECT rowid FROM samples ORDER BY random() LIMIT 2)",
                  (rng.choice([2**32 - 1, 2**31, 10**9, -1]),))
        return "huge bucket"
    if kind == 10:  # many threads, samples and classes out of range
        c.execute("UPDATE samples SET tid = abs(random()) % 100000 WHERE rowid % 3 = 0")
        c.execute("UPDATE samples SET class = ? WHERE rowid % 7 = 0", (rng.choice([11, 12, 255, 65535, -1]),))
        return "scattered tids, classes out of range"
    if kind == 11:  # a table with another shape
        t = rng.choice(TABLES)
        c.execute("DROP TABLE IF EXISTS %s" % t)
        c.execute("CREATE TABLE %s(x)" % t)
        c.execute("INSERT INTO %s VALUES(1)" % t)
        return "%s replaced" % t
    if kind == 12:  # metrics: huge times, duplicates, odd values
        c.execute("UPDATE metrics SET t = ?, cpu_percent = ? WHERE rowid IN (SELECT rowid FROM metrics ORDER BY random() LIMIT 2)",
                  (rng.choice([2**32 - 1, 10**6, -5]), rng.choice([1e308, -50, 1e9, None])))
        return "odd metrics"
    if kind == 13:  # the schema itself, as stored: columns renamed, text broken
        t = rng.choice(TABLES)
        new = rng.choice(["CREATE TABLE %s(x)" % t, "CREATE TABLE %s(" % t, "\x1b[2J\n",
                          "CREATE VIEW %s AS SELECT 1" % t])
        c.execute("PRAGMA writable_schema = ON")
        c.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (new, t))
        return "schema of %s = %r" % (t, new)
    # ids that are not dense: a gap in strings, frames or stacks
    t = rng.choice(["strings", "frames", "stacks", "modules"])
    c.execute("UPDATE %s SET id = id + 1000 WHERE id = (SELECT max(id) FROM %s)" % (t, t))
    return "%s: gap in ids" % t


def make_mutant(rng, src, dst):
    with open(src, "rb") as f:
        data = f.read()
    if rng.random() < 0.3:
        data, what = mutate_bytes(rng, data)
        with open(dst, "wb") as f:
            f.write(data)
        return what
    shutil.copyfile(src, dst)
    db = sqlite3.connect(dst)
    done = []
    try:
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            done.append(sql_mutation(rng, db))
            db.commit()
    except sqlite3.Error as e:
        done.append("(sqlite: %s)" % e)
    db.close()
    for side in ("-wal", "-shm", "-journal"):
        if os.path.exists(dst + side):
            os.unlink(dst + side)
    return "; ".join(done)


def refused_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def commands(siprof, mutant, good, out, spool, port):
    r = [siprof, "report"]
    return [
        r + [mutant], r + ["--tree", mutant], r + ["--folded", mutant],
        r + ["--threads", mutant], r + ["--metrics", mutant], r + ["--json", mutant],
        r + ["--tree", "--json", mutant], r + ["--threads", "--json", mutant],
        r + ["--metrics", "--json", mutant],
        [siprof, "export", "-f", "pprof", "-o", out + ".pb.gz", mutant],
        [siprof, "export", "-f", "folded", "-o", out + ".folded", mutant],
        [siprof, "export", "-f", "speedscope", "-o", out + ".json", mutant],
        [siprof, "export", "-f", "svg", "-o", out + ".svg", mutant],
        [siprof, "diff", good, mutant], [siprof, "diff", mutant, good],
        [siprof, "diff", "--json", good, mutant],
        [siprof, "upload", "-q", "--attempts", "1", "--timeout", "2", "--spool-dir", spool,
         "--url", "http://127.0.0.1:%d/" % port, mutant],
    ]


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                   "SUMMARY: UndefinedBehaviorSanitizer", "AddressSanitizer:DEADLYSIGNAL")


def judge(cmd, rc, err):
    """Why a run is a failure, or None."""
    if rc is None:
        return "hang"
    if rc < 0:
        return "killed by signal %d" % -rc
    for m in SANITIZER_MARKS:
        if m in err:
            return "sanitizer report"
    ok = {0, 7}
    if cmd[1] == "upload":
        ok.add(8)
    if rc not in ok:
        return "exit %d" % rc
    if rc == 7:
        lines = [l for l in err.splitlines() if l.strip()]
        if len(lines) != 1 or not lines[0].startswith("siprof: "):
            return "exit 7 without a one-line message"
        if any(ord(ch) < 0x20 and ch not in "\n" for ch in err):
            return "exit 7 with a control character in its message"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--keep", help="where failing mutants go")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--siprof", default=os.path.join(os.path.dirname(__file__), "..", "src", "siprof"))
    ap.add_argument("sessions", nargs="+")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="siprof-fuzz.")
    keep = a.keep or os.path.join(work, "failed")
    os.makedirs(keep, exist_ok=True)
    spool = os.path.join(work, "spool")
    os.mkdir(spool, 0o700)
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    env["SIPROF_SPOOL_DIR"] = spool
    for k in ("SIPROF_UPLOAD_TOKEN", "SIPROF_UPLOAD_PASSWORD", "SIPROF_UPLOAD_USER",
              "SIPROF_UPLOAD_TENANT", "SIPROF_UPLOAD_AUTH_FILE", "SIPROF_UPLOAD_URL"):
        env.pop(k, None)
    port = refused_port()
    failures = runs = 0
    for i in range(a.count):
        src = rng.choice(a.sessions)
        good = rng.choice(a.sessions)
        mutant = os.path.join(work, "mutant-%d.siprof" % i)
        what = make_mutant(rng, src, mutant)
        for cmd in commands(a.siprof, mutant, good, os.path.join(work, "out"), spool, port):
            runs += 1
            try:
                p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=env, timeout=a.timeout)
                rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
            except subprocess.TimeoutExpired as e:
                rc, err = None, (e.stderr or b"").decode("utf-8", "replace")
            why = judge(cmd, rc, err)
            if why is None:
                continue
            failures += 1
            kept = os.path.join(keep, "seed%d-mutant%d.siprof" % (a.seed, i))
            if not os.path.exists(kept):
                shutil.copyfile(mutant, kept)
            shown = [x if x != mutant else kept for x in cmd]
            print("FAIL (%s): mutant %d (%s from %s): %s\n%s" %
                  (why, i, what, os.path.basename(src), " ".join(shown),
                   "\n".join(err.splitlines()[:30])), flush=True)
        for f in os.listdir(spool):
            os.unlink(os.path.join(spool, f))
        os.unlink(mutant)
    print("fuzz-session: seed %d, %d mutants, %d runs, %d failures%s" %
          (a.seed, a.count, runs, failures, (" (kept in %s)" % keep) if failures else ""))
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
