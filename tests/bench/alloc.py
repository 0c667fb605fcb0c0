#!/usr/bin/env python3
"""The allocation benchmark: siprof record --alloc beside heaptrack and
bcc's memleak on one workload, side by side in one run.

bench-alloc-workload (tests/bench/alloc-workload.c) does a steady RATE
malloc/free pairs a second across 4 threads at two call sites and counts
them itself. For each rate (10,000 and 200,000 a second) and each tool
(nothing attached; heaptrack -p; memleak-bpfcc -p; siprof record without
--alloc, what its stack sampler alone costs; siprof record --alloc at the
default budget and with --alloc-window=always), round after round
with the order rotated, a fresh workload runs with the tool attached,
and over one window the script reads from the workload's own counters:

  cpu/1k   the workload's CPU (user + system, getrusage: a probe trap's
           kernel time is in it) per 1000 pairs done
  rate     pairs a second achieved (below RATE when it cannot keep pace)
  slowdown CPU per pair against the same round's run with nothing attached,
           and the CPU it added per pair (the workload's pacing, 4,000
           wake-ups a second, is most of the baseline at 10,000 pairs)
  tool CPU the tool's own processes' CPU over the window (one core = 100%)
  share    byte-share error: the largest difference, in points, between
           the tool's split of the bytes between the two sites and the
           workload's own counts, where the tool's output says it
           (heaptrack_print: allocations per site times the site's object
           size; memleak reports only outstanding allocations, which a
           malloc/free pair leaves none of; siprof: the alloc samples of
           the session, innermost frame)

bcc compiles memleak against the running kernel's headers
(/lib/modules/RELEASE/build and source); on a kernel built elsewhere,
Debian's linux-headers-amd64 linked there serve for its uprobe programs.

Medians over rounds. A tool that is not installed, or fails (siprof's
rows until record --alloc exists), is reported as missing, not fatal.

usage: alloc.py --builddir DIR [--seconds S] [--rounds N] [--rates R,R]
                [--tools a,b] [--out FILE]
"""

import argparse
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
SIZES = {"bench_site_a": 64, "bench_site_b": 256}


def log(msg):
    print(f"bench-alloc: {msg}", file=sys.stderr, flush=True)


def tree_cpu(pid):
    """User + system CPU seconds of PID and its descendants (heaptrack runs
    gdb and heaptrack_interpret under its script)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            pass
    return total


class Workload:
    def __init__(self, prog, rate):
        self.p = subprocess.Popen([prog, str(rate), "4"], stdout=subprocess.PIPE, text=True,
                                  bufsize=1)
        line = self.p.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError("the workload did not start")
        self.pid = int(line[1])

    def counters(self):
        os.kill(self.pid, signal.SIGUSR1)
        f = self.p.stdout.readline().split()
        return {f[i]: float(f[i + 1]) for i in range(0, len(f) - 1, 2)}

    def end(self):
        if self.p.poll() is None:
            self.p.terminate()
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


class Tool:
    """A tool attached to the workload: start, wait until attached, stop,
    and read its byte split (None where its output cannot say)."""

    def __init__(self, name, tmp, builddir):
        self.name, self.tmp, self.b = name, tmp, os.path.abspath(builddir)
        self.p = None
        self.out = os.path.join(tmp, f"{name.replace(' ', '_')}.out")

    def missing(self):
        prog = {"heaptrack": "heaptrack", "memleak": "memleak-bpfcc"}.get(self.name)
        if prog and not shutil.which(prog):
            return f"{prog} is not installed"
        if self.name.startswith("siprof") and not os.access(self.siprof(), os.X_OK):
            return "no siprof build"
        return None

    def siprof(self):
        return os.path.join(self.b, "src", "siprof")

    def argv(self, pid):
        if self.name == "heaptrack":
            return ["heaptrack", "-o", os.path.join(self.tmp, "ht"), "-p", str(pid)]
        if self.name == "memleak":
            return ["memleak-bpfcc", "-p", str(pid), "5"]
        extra = {"siprof always": ["--alloc", "--alloc-window=always"],
                 "siprof no alloc": []}.get(self.name, ["--alloc"])
        return [self.siprof(), "record", "-q", "--force", *extra,
                "-o", os.path.join(self.tmp, "alloc.siprof"), "-p", str(pid)]

    def start(self, wl):
        for f in os.listdir(self.tmp):
            if f.startswith("ht") or f.startswith("alloc.siprof"):
                os.unlink(os.path.join(self.tmp, f))
        self.log = open(self.out, "w")
        self.p = subprocess.Popen(self.argv(wl.pid), stdout=self.log, stderr=subprocess.STDOUT,
                                  cwd=self.tmp, start_new_session=True, env=self.env())
        # Attached when the tool says so (heaptrack's gdb injection and
        # memleak's BPF compile take seconds), then a settling second.
        want = {"heaptrack": "injection finished", "memleak": "Attaching to pid"}.get(self.name)
        deadline = time.monotonic() + 120
        while want and want not in open(self.out).read():
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not attach: {open(self.out).read()[-300:]}")
            time.sleep(0.2)
        time.sleep(1.5)
        if self.p.poll() is not None:
            raise RuntimeError(f"{self.name} exited {self.p.returncode}: "
                               f"{open(self.out).read().strip()[-300:]}")

    def env(self):
        """bcc compiles memleak's BPF program against the running kernel's
        headers (/lib/modules/RELEASE/build); a kernel without them (a
        custom build) is given Debian's (linux-headers-amd64) through
        BCC_KERNEL_SOURCE, which suffices for uprobe programs."""
        env = dict(os.environ)
        if self.name == "memleak" and not os.path.isdir(f"/lib/modules/{os.uname().release}/build"):
            heads = sorted(d for d in os.listdir("/usr/src") if re.match(r"linux-headers-.*-amd64$", d)) \
                if os.path.isdir("/usr/src") else []
            if heads:
                env["BCC_KERNEL_SOURCE"] = os.path.join("/usr/src", heads[-1])
        return env

    def cpu(self):
        return tree_cpu(self.p.pid)

    def stop(self, wl):
        """Stop the tool (heaptrack writes its file when the process ends,
        so the workload ends first), and wait for it."""
        if self.name == "heaptrack":
            wl.end()
        elif self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGINT)
        try:
            self.p.wait(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
        self.log.close()

    def bytes_by_site(self):
        if self.name == "heaptrack":
            files = [f for f in os.listdir(self.tmp) if f.startswith("ht")]
            if not files:
                return None
            r = subprocess.run(["heaptrack_print", "-f", os.path.join(self.tmp, files[0]),
                                "--print-flamegraph", os.path.join(self.tmp, "ht.folded"),
                                "--flamegraph-cost-type", "allocations"],
                               capture_output=True, text=True)
            if r.returncode != 0 or not os.path.exists(os.path.join(self.tmp, "ht.folded")):
                return None
            got = dict.fromkeys(SIZES, 0)
            for line in open(os.path.join(self.tmp, "ht.folded")):
                stack, _, n = line.rstrip("\n").rpartition(" ")
                for site in SIZES:
                    if site in stack:
                        got[site] += int(n) * SIZES[site]
            return got
        if self.name in ("memleak", "siprof no alloc"):
            return None
        db = sqlite3.connect(f"file:{os.path.join(self.tmp, 'alloc.siprof')}?mode=ro", uri=True)
        try:
            rows = db.execute("""SELECT f.function, sum(s.value) FROM samples s
                JOIN types t ON t.id = s.type JOIN stacks st ON st.id = s.stack
                JOIN frame_names f ON f.id = st.frame WHERE t.name = 'alloc'
                GROUP BY f.function""").fetchall()
        finally:
            db.close()
        got = dict.fromkeys(SIZES, 0)
        for fn, v in rows:
            if fn in got:
                got[fn] += v
        return got


def share_error(got, a, b):
    """Largest difference in points between the tool's byte split and the
    workload's own (a and b: its bytes at the two sites over the run)."""
    if not got or sum(got.values()) == 0:
        return None
    t = sum(got.values())
    want = {"bench_site_a": 100.0 * a / (a + b), "bench_site_b": 100.0 * b / (a + b)}
    return max(abs(100.0 * got[k] / t - want[k]) for k in want)


def window(prog, rate, tool, seconds):
    wl = Workload(prog, rate)
    try:
        if tool:
            tool.start(wl)
        else:
            time.sleep(1.5)
        c0, t0 = wl.counters(), tool.cpu() if tool else 0.0
        time.sleep(seconds)
        c1, t1 = wl.counters(), tool.cpu() if tool else 0.0
        whole = c1
        if tool:
            tool.stop(wl)
    finally:
        wl.end()
    pairs = c1["pairs"] - c0["pairs"]
    wall = c1["wall_s"] - c0["wall_s"]
    res = {"cpu_per_k": 1000.0 * (c1["cpu_s"] - c0["cpu_s"]) / pairs if pairs else 0.0,
           "rate": pairs / wall, "tool_cpu": 100.0 * (t1 - t0) / wall}
    if tool:
        # Byte shares over the tool's whole attachment: from the workload's
        # counters at its end (a tool sees from its attach on; the split is
        # the same throughout, 3 pairs of 64 B to 1 of 256 B).
        res["share_err"] = share_error(tool.bytes_by_site(), whole["a_bytes"] - 0,
                                       whole["b_bytes"])
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rates", default="10000,200000")
    ap.add_argument("--tools",
                    default="none,heaptrack,memleak,siprof no alloc,siprof,siprof always")
    ap.add_argument("--out", default=None, help="append the table to FILE")
    args = ap.parse_args()
    prog = os.path.join(args.builddir, "tests", "bench", "bench-alloc-workload")
    if not os.access(prog, os.X_OK):
        sys.exit(f"bench-alloc: {prog} is not built (make {prog})")
    tmp = tempfile.mkdtemp(prefix="siprof-bench-alloc.")
    os.chmod(tmp, 0o755)
    names = args.tools.split(",")
    lines = ["| rate | tool | workload CPU per 1000 pairs | slowdown | pairs/s achieved | "
             "tool CPU | byte-share error |", "| --- | --- | --- | --- | --- | --- | --- |"]
    try:
        for rate in (int(r) for r in args.rates.split(",")):
            tools = {n: (Tool(n, tmp, args.builddir) if n != "none" else None) for n in names}
            res = {n: [] for n in names}
            slow = {n: [] for n in names}
            added = {n: [] for n in names}
            why, failed = {}, {}
            for r in range(args.rounds):
                order = names[r % len(names):] + names[:r % len(names)]
                got = {}
                for n in order:
                    t = tools[n]
                    if t and t.missing():
                        why[n] = t.missing()
                        continue
                    log(f"rate {rate}, round {r + 1}: {n}")
                    try:
                        got[n] = window(prog, rate, t, args.seconds)
                    except (RuntimeError, OSError, subprocess.SubprocessError,
                            sqlite3.Error) as e:
                        # A failed round is left out, and counted; the
                        # tool runs again in the next round.
                        why[n] = str(e).strip().splitlines()[-1][:160] if str(e).strip() else repr(e)
                        failed[n] = failed.get(n, 0) + 1
                        log(f"{n}: failed: {why[n]}")
                        continue
                    res[n].append(got[n])
                if "none" in got:
                    for n, g in got.items():
                        if n != "none":
                            slow[n].append(100.0 * (g["cpu_per_k"] / got["none"]["cpu_per_k"] - 1))
                            added[n].append(1000.0 * (g["cpu_per_k"] - got["none"]["cpu_per_k"]))
            med = lambda v: statistics.median(v) if v else None
            for n in names:
                if not res[n]:
                    lines.append(f"| {rate:,} | {n} | missing: {why.get(n, 'no run')} | | | | |")
                    continue
                cpu = med([x["cpu_per_k"] for x in res[n]])
                ach = med([x["rate"] for x in res[n]])
                tc = med([x["tool_cpu"] for x in res[n]])
                errs = [x["share_err"] for x in res[n] if x.get("share_err") is not None]
                sd = med(slow[n])
                ad = med(added[n])
                note = f" ({failed[n]} of {args.rounds} rounds failed: {why[n]})" if n in failed else ""
                lines.append(f"| {rate:,} | {n}{note} | {cpu * 1000:.1f} ms | "
                             f"{'-' if n == 'none' else (f'{sd:+.0f}% ({ad:+.2f} us/pair)' if sd is not None else '?')} | "
                             f"{ach:,.0f} | {'-' if n == 'none' else f'{tc:.1f}%'} | "
                             f"{'-' if n == 'none' else (f'{med(errs):.1f} pts' if errs else 'not readable')} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = (f"## allocation profiling ({os.cpu_count()} CPUs, {args.rounds} rounds of "
            f"{args.seconds:g} s, medians)\n\n" + "\n".join(lines) + "\n")
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
