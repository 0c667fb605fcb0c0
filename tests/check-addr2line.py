#!/usr/bin/env python3
"""Check a `siprof dump --json` against binutils' addr2line -i.

usage: check-addr2line.py DUMP.json MODULE REFERENCE-ELF [--names go|rust]
                          [--inlined CALLEE:CALLER]...

Every pc siprof shows in MODULE (a file's basename) is given, at the same
offset, to `addr2line -a -i -f -C -e REFERENCE-ELF`; the chain of frames
siprof shows for it (its inlined frames, then the function that holds
them) must be the chain addr2line prints: the same number of frames, the
same source lines, files that agree (one path ends with the other), and
the same functions. --names go compares only the function that holds the
pc (binutils names a Go inlined body after the function around it);
--names rust compares every name leniently (after c++filt, without hashes,
generic arguments and closure components: the last path component), since
demangling differs between tools. --inlined CALLEE:CALLER requires one pc
where CALLEE is shown inlined right into CALLER (names as compared). Prints what agreed; exits
1 with the first disagreement.
"""
import json
import re
import subprocess
import sys


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


LEGACY_ESCAPES = {"$LT$": "<", "$GT$": ">", "$u7b$": "{", "$u7d$": "}", "$u20$": " ",
                  "$RF$": "&", "$LP$": "(", "$RP$": ")", "$C$": ",", "$BP$": "*",
                  "$u5b$": "[", "$u5d$": "]", "$u27$": "'", "$SP$": "@"}


def strip_generics(s):
    out, depth = [], 0
    for c in s:
        if c == "<":
            depth += 1
        elif c == ">" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(c)
    return "".join(out)


def rust_key(name, demangled):
    """The last meaningful path component of a Rust name, or '*'."""
    if name == "??":
        return name
    s = demangled.get(name, name).replace("::_$", "::$")
    for k, v in LEGACY_ESCAPES.items():
        s = s.replace(k, v)
    s = s.replace("..", "::")
    s = re.sub(r"\.llvm\.\d+$", "", s)
    s = re.sub(r"::h[0-9a-f]{16}$", "", s)
    # A vtable shim is marked in its symbol only; named from DWARF, as gdb
    # names it, it is the function it forwards to.
    s = re.sub(r"\{+vtable\.shim\}+", "", s)
    s = strip_generics(s)
    parts = [p.strip() for p in s.split("::")]
    parts = [p for p in parts if p and not p.startswith("{")]
    return parts[-1] if parts else "*"


def same_file(a, b):
    if a is None or b is None or a == "??" or b == "??":
        return (a in (None, "??")) == (b in (None, "??"))
    a = a[2:] if a.startswith("./") else a
    b = b[2:] if b.startswith("./") else b
    return a.endswith(b) or b.endswith(a)


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("module")
    ap.add_argument("ref")
    ap.add_argument("--names", default="exact", choices=["exact", "go", "rust"])
    ap.add_argument("--inlined", action="append", default=[])
    a = ap.parse_args()
    dump, module, ref, names = a.dump, a.module, a.ref, a.names
    inlined_req = [tuple(x.split(":", 1)) for x in a.inlined]
    data = json.load(open(dump))

    groups = []  # (thread, [frames]) sharing one pc, innermost first
    for t in data["threads"]:
        cur = []
        for f in t["frames"]:
            mod = f.get("module") or ""
            if mod.rsplit("/", 1)[-1] != module:
                cur = []
                continue
            cur.append(f)
            if not f["inlined"]:
                groups.append((t["name"], cur))
                cur = []
    if not groups:
        fail("no frame of %s in the dump" % module)

    offsets = sorted({g[1][0]["offset"] for g in groups}, key=lambda x: int(x, 16))
    out = subprocess.run(["addr2line", "-a", "-i", "-f", "-C", "-e", ref] + offsets,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    ref_chain, cur = {}, None
    i = 0
    while i < len(out):
        line = out[i]
        if re.match(r"^0x[0-9a-f]+$", line):
            cur = int(line, 16)
            ref_chain[cur] = []
            i += 1
            continue
        func, loc = line, out[i + 1]
        file, _, ln = loc.rpartition(":")
        ln = re.sub(r"\D.*", "", ln)
        ref_chain[cur].append((func, file, int(ln) if ln else 0))
        i += 2

    demangled = {}
    if names == "rust":
        raw = sorted({f["function"] for _, g in groups for f in g if f["function"]})
        dm = subprocess.run(["c++filt"], input="\n".join(raw) + "\n", capture_output=True,
                            text=True, check=True).stdout.splitlines()
        demangled = dict(zip(raw, dm))

    seen, nframes, ninl = set(), 0, 0
    key = (lambda n: rust_key(n, demangled)) if names == "rust" else (lambda n: n)
    for tname, g in groups:
        off = int(g[0]["offset"], 16)
        want = ref_chain.get(off, [])
        got = [(f["function"] or "??", f["file"], f["line"] or 0) for f in g]
        where = "thread %s, %s+%s" % (tname, module, g[0]["offset"])
        show = "siprof: %s\naddr2line: %s" % (got, want)
        if len(got) != len(want):
            fail("%s: %d frames, addr2line -i gives %d\n%s" % (where, len(got), len(want), show))
        for k, ((gf, gfile, gline), (wf, wfile, wline)) in enumerate(zip(got, want)):
            if gline != wline or not same_file(gfile, wfile):
                fail("%s: frame %d is at %s:%s, addr2line says %s:%s\n%s" %
                     (where, k, gfile, gline, wfile, wline, show))
            outer = k == len(got) - 1
            if names == "rust":
                x, y = rust_key(gf, demangled), rust_key(wf, {})
                if x != y and "*" not in (x, y):
                    fail("%s: frame %d is %s (%s), addr2line says %s (%s)\n%s" %
                         (where, k, gf, x, wf, y, show))
            elif outer or names == "exact":
                # Go's ABI wrappers: the ELF symbol has .abi0, pclntab not.
                if gf.replace(".abi0", "") != wf.replace(".abi0", ""):
                    fail("%s: frame %d is %s, addr2line says %s\n%s" % (where, k, gf, wf, show))
        nframes += len(got)
        ninl += len(got) - 1
        for k in range(len(got) - 1):
            seen.add((key(got[k][0]), key(got[k + 1][0])))
    for req in inlined_req:
        if req not in seen:
            fail("%s is never shown inlined into %s" % req)
    print("%d pcs of %s, %d frames (%d inlined) agree with addr2line -i" %
          (len(groups), module, nframes, ninl))


main()
