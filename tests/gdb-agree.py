#!/usr/bin/env python3
"""siprof's stacks against gdb's, frame by frame, program by program.

usage: gdb-agree.py [--retry FILE] DIR...

Each DIR is one program (its name is the directory's): gdb.txt, gdb's
`thread apply all bt` of every process of the program; a/PID.json and
b/PID.json, `siprof dump --json PID` taken before and after gdb; and
roles, optional lines "TID ROLE" naming what a thread is (a thread
not named there is its comm, or "bigframe" for the Go target's thread in
main.bigFrame).

Only threads that stayed blocked through the three reads count: sleeping
in both of siprof's reads, with the same pc in their top TOP_FRAMES
frames in both (spinners, and Go's sysmon between two naps, are left out).
For each counted thread the function names gdb and siprof print are
normalized alike (argument lists, Rust hashes, Go's .abi0, @plt, and
glibc's aliases: names that glibc's .dynsym and .symtab give one address;
a frame without a name is its pc) and matched by their longest common
subsequence. A program agrees when the matched frames are at least its
threshold of gdb's frames (agree%) and of siprof's (of-siprof%), summed
over its threads, its required frames are among them, and its stacks say
truncated where they must.
Prints a table; exits 1 when a program disagrees. --retry FILE: the
programs that disagree and whose threads may have moved (a thread that must
be counted was not, or gdb's top frame is not siprof's) go in FILE, one a
line, to be read again.
"""
import functools
import glob
import json
import os
import re
import subprocess
import sys

# Agreement each program must reach, in percent, both ways: the matched
# frames over gdb's frames (none of gdb's missing) and over siprof's (none
# made up), each summed over the program's threads.
THRESHOLD = {
    "target-go-stripped": 80.0,  # no CFI: siprof falls back to frame pointers
}
DEFAULT_THRESHOLD = 95.0

# Programs whose counted stacks must all say truncated (the frame-pointer
# fallback cannot tell it reached a thread's first frame). In every other
# program a stack may say truncated only where it still holds all of gdb's
# frames (Go's runtime.clone leaves no end to the chain: siprof cannot tell
# either, and gdb runs on into "??").
MUST_TRUNCATE = {"target-go-stripped"}

# Frames that must be among the matched ones: program -> role (from the
# roles file, or a thread's name) -> function names. A role listed here
# must be among the counted threads. Debian's postgres has its exported
# symbols only (no ServerLoop, no AutoVacLauncherMain: they are static);
# the Go target's main.main is on no thread (its goroutine is parked).
REQUIRED = {
    "postgres-backends": {
        "idle": ["PostgresMain"],
        "idle-in-transaction": ["PostgresMain"],
        "pg_sleep": ["PostgresMain", "pg_sleep"],
        "lock-waiter": ["PostgresMain", "LockAcquireExtended", "ProcSleep"],
    },
    "postgres-aux": {
        "postmaster": ["PostmasterMain", "main"],
        "checkpointer": ["CheckpointerMain"],
        "background-writer": ["BackgroundWriterMain"],
        "walwriter": ["WalWriterMain"],
        "autovacuum-launcher": ["StartAutoVacLauncher"],
    },
    "target-rust": {
        "main": ["rsprog::main"],
        "acceptor": ["rsprog::accept_loop"],
        "waiter": ["rsprog::waiter_main"],
    },
    "target-go": {"bigframe": ["main.bigFrame", "main.deep", "main.main.func1"]},
    "target-go-stripped": {"bigframe": ["main.bigFrame", "main.deep"]},
    "redis-server": {"redis-server": ["aeMain", "main"]},
}
REQUIRED["target-rust-v0"] = REQUIRED["target-rust"]

# A thread counts when its top frames kept their pcs from one siprof read
# to the next.
TOP_FRAMES = 3

# glibc's libraries, whose aliases are mapped (by their file names).
GLIBC = re.compile(r"^(libc|libm|libpthread|libdl|librt|ld-linux[-\w]*)\.so(\.\d+)*$")


def strip_params(name):
    """A C++ parameter list ("f(int) const") off the end of a name."""
    m = re.search(r"\)( const)?( volatile)?( &&?)?$", name)
    if not m or name.startswith("("):
        return name
    depth, i = 0, m.start()
    while i >= 0:
        if name[i] == ")":
            depth += 1
        elif name[i] == "(":
            depth -= 1
            if depth == 0:
                break
        i -= 1
    # "(anonymous namespace)" and the like are part of a name, not its
    # parameters: they are never at its end.
    return name[:i] if i > 0 else name


def normalize(name, pc, aliases):
    """name as compared; a frame without one is known by its pc."""
    n = (name or "??").strip()
    if n == "??":
        return f"??@{pc:#x}" if pc is not None else n
    n = re.sub(r" \(inlined\)$", "", n)
    n = strip_params(n)
    n = re.sub(r"::h[0-9a-f]{16}$", "", n)
    n = re.sub(r"\.llvm\.\d+$", "", n)
    n = re.sub(r"@plt$", "", n)
    n = re.sub(r"\.abi0$", "", n)
    # gdb's name for the frame of the signal trampoline, which is glibc's
    # __restore_rt (its .symtab says so; gdb knows the frame by its code).
    if n == "<signal handler called>":
        n = "__restore_rt"
    return aliases.get(n, n)


def gdb_threads(path):
    """tid -> gdb's frames, innermost first: (function, pc), the pc where
    gdb printed an address, as siprof looks it up (a caller's return
    address less one)."""
    threads, cur = {}, None
    for line in open(path, errors="replace"):
        m = re.match(r"^Thread [\d.]+ \(.*?LWP (\d+)\b", line)
        if m:
            cur = threads.setdefault(int(m.group(1)), [])
            continue
        m = re.match(r"^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(.*)$", line.rstrip("\n"))
        if not m or cur is None:
            continue
        pc = int(m.group(2), 16) if m.group(2) else None
        if pc == 0:
            continue  # "0x0 in ??": past the outermost frame
        if pc is not None and int(m.group(1)) > 0 and not (cur and cur[-1][0] == "<signal handler called>"):
            pc -= 1
        s = re.sub(r" (at \S+:\d+|from \S+)$", "", m.group(3))
        # The arguments, as "set print frame-arguments none" shows them.
        s = re.sub(r" \(([\w$.~]+=\.\.\.(, [\w$.~]+=\.\.\.)*)?\)$", "", s)
        cur.append((s, pc))
    return threads


def glibc_aliases(modules):
    """name -> one name of all that glibc's symbol tables give its address,
    for these (path, build id) libraries."""
    aliases = {}
    for path, build_id in sorted(modules):
        aliases.update(library_aliases(path, build_id))
    return aliases


@functools.lru_cache(maxsize=None)
def library_aliases(path, build_id):
    """The library's own .dynsym and .symtab and its separate debug file's
    .symtab (libc6-dbg), read with readelf: every function symbol at one
    address is one function; the representative (the same for gdb's names
    and siprof's) is the one with the fewest leading underscores, then the
    shortest."""
    files = [path]
    if build_id:
        dbg = f"/usr/lib/debug/.build-id/{build_id[:2]}/{build_id[2:]}.debug"
        if os.path.exists(dbg):
            files.append(dbg)
    at = {}
    for f in files:
        try:
            out = subprocess.run(["readelf", "-Ws", f], capture_output=True,
                                 text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            sys.exit(f"cannot read the symbols of {f}: {e}")
        for line in out.splitlines():
            p = line.split()
            if len(p) < 8 or not p[0].endswith(":") or p[3] not in ("FUNC", "IFUNC") or p[6] == "UND":
                continue
            at.setdefault(int(p[1], 16), set()).add(p[7].split("@")[0])
    aliases = {}
    for names in at.values():
        if len(names) < 2:
            continue
        group = set(names)
        for n in names:  # a name at two addresses joins both groups
            if n in aliases:
                group |= {k for k, v in aliases.items() if v == aliases[n]}
        rep = min(group, key=lambda n: (len(n) - len(n.lstrip("_")), len(n), n))
        for n in group:
            aliases[n] = rep
    return aliases


def unnamed_tail(names):
    """names without the frames past the last one with a name: what gdb
    finds past a thread's first frame where nothing ends the chain (Go's
    runtime.clone leaves whatever the new stack held), and siprof alike."""
    while names and names[-1].startswith("??"):
        names = names[:-1]
    return names


def lcs(a, b):
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            t[i][j] = t[i + 1][j + 1] + 1 if a[i] == b[j] else max(t[i + 1][j], t[i][j + 1])
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            out.append(a[i])
            i, j = i + 1, j + 1
        elif t[i + 1][j] >= t[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def load_dumps(d, which):
    dumps = {}
    for f in sorted(glob.glob(os.path.join(d, which, "*.json"))):
        doc = json.load(open(f))
        for t in doc["threads"]:
            dumps[t["tid"]] = (int(os.path.basename(f)[:-5]), t)
    return dumps


def top(t):
    return [f["pc"] for f in t.get("frames", [])[:TOP_FRAMES]]


def program(d):
    name = os.path.basename(d.rstrip("/"))
    roles = {}
    if os.path.exists(os.path.join(d, "roles")):
        for line in open(os.path.join(d, "roles")):
            p = line.split()
            if len(p) == 2:
                roles[int(p[0])] = p[1]
    a, b = load_dumps(d, "a"), load_dumps(d, "b")
    gdb = gdb_threads(os.path.join(d, "gdb.txt"))
    modules = {(f["module"], f.get("build_id")) for _, t in a.values() for f in t.get("frames", [])
               if f.get("module") and GLIBC.match(os.path.basename(f["module"]))}
    aliases = glibc_aliases(modules)

    rows, left_out, problems = [], [], []
    for tid in sorted(a):
        pid, ta = a[tid]
        tb = b.get(tid, (None, None))[1]
        role = roles.get(tid)
        if role is None and any(f.get("function") == "main.bigFrame" for f in ta.get("frames", [])):
            role = "bigframe"
        role = role or ta.get("name")
        why = None
        if tid not in gdb:
            why = "not in gdb's backtrace"
        elif tb is None:
            why = "gone in the second read"
        elif ta["state"] != "sleeping" or tb["state"] != "sleeping":
            why = f"{ta['state']}, then {tb['state']}"
        elif not ta.get("frames") or top(ta) != top(tb):
            why = "its top frames moved between the two reads"
        if why:
            left_out.append(f"{tid} ({role}): {why}")
            continue
        g = unnamed_tail([normalize(n, pc, aliases) for n, pc in gdb[tid]])
        s = unnamed_tail([normalize(f.get("function"), int(f["pc"], 16), aliases)
                          for f in ta["frames"]])
        rows.append(dict(tid=tid, role=role, g=g, s=s, common=lcs(g, s),
                         truncated=bool(ta.get("truncated")), why=ta.get("truncated_why")))

    threshold = THRESHOLD.get(name, DEFAULT_THRESHOLD)
    ng = sum(len(r["g"]) for r in rows)
    ns = sum(len(r["s"]) for r in rows)
    nc = sum(len(r["common"]) for r in rows)
    pct = 100.0 * nc / ng if ng else 0.0
    pct_s = 100.0 * nc / ns if ns else 0.0
    whole = sum(1 for r in rows if r["g"] == r["s"])
    trunc = sum(1 for r in rows if r["truncated"])
    if not rows:
        problems.append("no thread stayed blocked through the three reads")
    elif min(pct, pct_s) < threshold:
        problems.append(f"{pct:.1f}% of gdb's frames and {pct_s:.1f}% of siprof's agree, "
                        f"below {threshold:.0f}%")
    if name in MUST_TRUNCATE and trunc != len(rows):
        problems.append(f"{len(rows) - trunc} of its stacks are not marked truncated")
    short = [r["tid"] for r in rows if r["truncated"] and len(r["common"]) < len(r["g"])]
    if name not in MUST_TRUNCATE and short:
        problems.append(f"stacks marked truncated lack some of gdb's frames (threads {short})")
    moved = any(r["g"][:1] != r["s"][:1] for r in rows)
    for role, need in REQUIRED.get(name, {}).items():
        mine = [r for r in rows if r["role"] == role]
        if not mine:
            problems.append(f"no {role} thread was counted")
            moved = True
        for r in mine:
            missing = [n for n in need if n not in r["common"]]
            if missing:
                problems.append(f"{role} (thread {r['tid']}) lacks {', '.join(missing)} "
                                "in the agreeing frames")
    return dict(name=name, threads=len(rows), gdb=ng, siprof=ns, agree=nc, pct=pct, pct_s=pct_s,
                whole=whole, truncated=trunc, threshold=threshold, rows=rows, left_out=left_out,
                problems=problems, moved=moved)


def main():
    args = sys.argv[1:]
    retry = None
    if args[:1] == ["--retry"] and len(args) > 1:
        retry, args = args[1], args[2:]
    if not args:
        sys.exit(__doc__)
    progs = [program(d) for d in args]
    for p in progs:
        print(f"== {p['name']}")
        for line in p["left_out"]:
            print(f"  left out: {line}")
        for r in p["rows"]:
            mark = "same" if r["g"] == r["s"] else f"{len(r['common'])}/{max(len(r['g']), len(r['s']))}"
            trunc = f" truncated ({r['why']})" if r["truncated"] else ""
            print(f"  thread {r['tid']} ({r['role']}): {mark}{trunc}")
            if r["g"] != r["s"]:
                print(f"    gdb:    {' < '.join(r['g'])}")
                print(f"    siprof: {' < '.join(r['s'])}")
    hdr = (f"{'program':<20} {'threads':>7} {'gdb':>5} {'siprof':>6} {'agree':>5} {'agree%':>7} "
           f"{'of-siprof%':>10} {'need%':>5} {'whole':>5} {'truncated':>9}")
    print()
    print(hdr)
    for p in progs:
        print(f"{p['name']:<20} {p['threads']:>7} {p['gdb']:>5} {p['siprof']:>6} {p['agree']:>5} "
              f"{p['pct']:>6.1f}% {p['pct_s']:>9.1f}% {p['threshold']:>4.0f}% {p['whole']:>5} {p['truncated']:>9}")
    bad = [p for p in progs if p["problems"]]
    if retry:
        with open(retry, "w") as f:
            f.writelines(p["name"] + "\n" for p in bad if p["moved"])
    for p in bad:
        for why in p["problems"]:
            print(f"DISAGREE {p['name']}: {why}")
    sys.exit(1 if bad else 0)


main()
