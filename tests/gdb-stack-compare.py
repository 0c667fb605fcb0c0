#!/usr/bin/env python3
"""Compare one thread's stack in `siprof dump --json` with gdb's backtrace.

usage: gdb-stack-compare.py GDB_FILE SIPROF_JSON TID [--prefix] [--tail NAME]...

gdb's physical frames (those it prints with an address, and #0) must be
siprof's physical frames, in order, from the top: a caller frame matches
when siprof's lookup pc is gdb's return address minus one (the innermost:
the same pc, or, where gdb prints no address for it, the same function by
name as one of siprof's frames at that pc, compared leniently: argument lists, generics, Rust hashes and Go's
.abi0 stripped, last path component). siprof may go on past gdb's last
frame (gdb stops at main). --tail NAME: a gdb frame in function NAME is a
tail-call frame that gdb rebuilds from call-site information and the machine
stack lacks; it may be missing. --prefix: siprof's stack may end early, but
then it must say truncated. Prints what it compared; exits 1 on a mismatch.
"""
import json
import re
import sys


def gdb_threads(path):
    threads, cur = {}, None
    for line in open(path, errors="replace"):
        m = re.match(r"^Thread \d+ \(.*LWP (\d+)\b", line)
        if m:
            cur = threads.setdefault(int(m.group(1)), [])
            continue
        m = re.match(r"^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(.*)$", line)
        if m and cur is not None:
            name = re.split(r" \(| at | from ", m.group(3))[0].strip()
            cur.append((int(m.group(1)), int(m.group(2), 16) if m.group(2) else None, name))
    return threads


def strip_brackets(s, o, c):
    out, depth = [], 0
    for ch in s:
        if ch == o:
            depth += 1
        elif ch == c and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


def last_component(name):
    n = re.sub(r"\$LT\$.*?\$GT\$", "", name or "")
    n = strip_brackets(strip_brackets(n, "<", ">"), "(", ")")
    n = re.sub(r"::h[0-9a-f]{16}$", "", n)
    n = re.sub(r"\.llvm\.\d+$", "", n)
    n = re.sub(r"\.abi0$", "", n)
    parts = [p for p in re.split(r"::|\.", n) if p and not p.startswith("{")]
    return parts[-1] if parts else n


def same_function(g, s):
    a, b = last_component(g), last_component(s)
    return bool(a) and (a == b or a in (s or ""))


def main():
    args = sys.argv[1:]
    prefix = "--prefix" in args
    tails = [args[i + 1] for i, a in enumerate(args) if a == "--tail"]
    gdb_file, dump_file, tid = args[0], args[1], int(args[2])
    gdb = gdb_threads(gdb_file).get(tid)
    if not gdb:
        sys.exit(f"gdb shows no thread {tid}")
    dump = json.load(open(dump_file))
    th = [t for t in dump["threads"] if t["tid"] == tid]
    if not th:
        sys.exit(f"siprof shows no thread {tid}")
    th = th[0]
    phys = [f for f in th["frames"] if not f.get("inlined")]
    gphys = [g for g in gdb if g[0] == 0 or g[1] is not None]
    ok, j = True, 0
    print(f"thread {tid}: gdb {len(gdb)} frames ({len(gphys)} with their own pc), "
          f"siprof {len(th['frames'])} ({len(phys)}), truncated {th.get('truncated')}")
    for idx, addr, name in gphys:
        if addr == 0:
            break  # gdb's "0x0 in ??": past the outermost frame
        if j >= len(phys):
            if any(t in name for t in tails):
                continue
            if prefix and th.get("truncated"):
                print(f"  gdb #{idx} {name}: beyond siprof's stack, which says truncated")
                break
            print(f"  MISMATCH gdb #{idx} {name}: siprof's stack ended")
            ok = False
            break
        f = phys[j]
        pc = int(f["pc"], 16)
        if addr is not None and idx > 0:
            match = pc == addr - 1
        elif addr is not None:
            match = pc == addr
        else:  # gdb's #0 without an address: any level inlined at that pc
            match = any(same_function(name, x.get("function"))
                        for x in th["frames"] if x["pc"] == f["pc"])
        if not match and any(t in name for t in tails):
            print(f"  gdb #{idx} {name}: a tail-call frame, skipped")
            continue
        print(f"  {'ok' if match else 'MISMATCH'} gdb #{idx} {hex(addr) if addr else '-'} {name}"
              f" / siprof {f['pc']} {f.get('function')}")
        if not match:
            ok = False
            break
        j += 1
    if ok and th.get("truncated") and not prefix:
        print("  MISMATCH: siprof says truncated")
        ok = False
    sys.exit(0 if ok else 1)


main()
