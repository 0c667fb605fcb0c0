#!/usr/bin/env python3
"""siprof's benchmarks, side by side with perf, gdb and eu-stack.

Every comparison runs in the same invocation, interleaved round by round,
and is reported as medians and ratios: these machines are shared and noisy,
so absolute times from one run mean little and are never asserted.

  1 held     how long a thread is stopped per sample: siprof against a bare
             interrupt/get-registers/copy-stack/resume loop (bench-floor)
  2 slowdown 4 busy threads at 99 Hz: throughput lost under siprof, perf -g,
             perf --call-graph dwarf, and the bare ptrace loop on the busy
             threads (what any stop-and-copy sampler costs)
  3 idle     1 busy and 200 idle threads at 99 Hz: the busy thread's
             slowdown and siprof's own CPU
  4 cpu      siprof's own CPU at 99 Hz x 8 busy threads
  5 unwind   unwind + symbolize throughput on snapshots 30-60 frames deep,
             in CPU time of the one thread doing it; then of threads copied
             without a stop (12 threads blocked in epoll_wait, accept4 and
             a socket read under frame-pointer callers, whose frame record
             is searched for in the copied stack), dw and libunwind: warm
             (the same stacks again, as an idle thread is sampled) and with
             the search every time (nothing remembered)
  6 size     session file per hour at 99 Hz x 8 threads, against perf.data
  7 dump     one-shot dump of 50 threads: siprof dump, eu-stack, gdb; wall
             time and the longest any thread went without running
  8 accuracy a known 50:30:20 CPU split as siprof and perf see it; then
             with both CPUs saturated by two other processes, siprof and perf
             recording at once: the shares, and the cpu class against the
             CPU time the kernel accounted to the thread (schedstat)
  9 clones   threads created per second by a thread that creates and joins
             one short-lived thread at a time, and by one that creates 200
             and then joins them: under siprof record (99 Hz) against no
             tracer and against a bare PTRACE_O_TRACECLONE tracer that only
             restarts stops (bench-floor clone); medians of per-round ratios
 10 shares   real programs (gzip, xz, a postgres backend sorting md5s, a Go
             and a Rust program of tests/bench/shares.*), siprof and perf
             recording each at once at 499 Hz: every function's share of
             the on-CPU samples (siprof's cpu class; the function a sample's
             pc is in, inlined frames taken into the function around them as
             perf counts them), and the largest difference between the two
 11 alloc    record --alloc beside heaptrack -p and bcc's memleak on a
             steady 10,000 and 200,000 malloc/free pairs a second across 4
             threads: the workload's CPU per pair and achieved rate, the
             tool's CPU, the byte-share error against the workload's own
             counts (tests/bench/alloc.py, its own table after the others)

With --baseline DIR (another build tree, e.g. of the previous commit),
measurements 4 and 5 also run that build's siprof and bench-unwind,
alternating round by round with this one's, and report both medians and
their ratio: a change's cost, side by side in one run.

usage: bench.py --builddir DIR [--out FILE] [--quick] [--only N,N...]
                [--baseline DIR]
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import sqlite3
import threading
import tempfile
import time

RATE = 99
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Workload:
    """A bench-workload process, driven over its stdin/stdout protocol."""

    def __init__(self, prog, mode, n=None):
        argv = [prog, mode] + ([str(n)] if n is not None else [])
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        ready = self.p.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError(f"workload {mode} did not start")
        self.pid = int(ready[1])
        self.tids = [int(t) for t in ready[2:]]

    def _send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def start(self):
        self._send("start")

    def stop(self):
        self._send("stop")
        f = self.p.stdout.readline().split()
        return {f[i]: float(f[i + 1]) for i in range(0, len(f) - 1, 2)}

    def window(self, seconds):
        self.start()
        time.sleep(seconds)
        return self.stop()

    def close(self):
        try:
            self._send("quit")
        except BrokenPipeError:
            pass
        self.p.wait(timeout=30)


def cpu_seconds(pid):
    """User + system CPU of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Profiler:
    """A profiler attached to a running process until stopped with SIGINT."""

    def __init__(self, name, argv):
        self.name = name
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)

    def cpu(self):
        return cpu_seconds(self.p.pid)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        try:
            _, err = self.p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.p.kill()
            _, err = self.p.communicate()
        if self.p.returncode not in (0, 130, -signal.SIGINT):
            log(f"{self.name} exited {self.p.returncode}: {err.strip()[:300]}")


class Bench:
    def __init__(self, args):
        self.b = args.builddir
        self.siprof = os.path.join(self.b, "src", "siprof")
        self.wl = os.path.join(self.b, "tests", "bench", "bench-workload")
        self.floor = os.path.join(self.b, "tests", "bench", "bench-floor")
        self.unwind = os.path.join(self.b, "tests", "bench", "bench-unwind")
        self.base = args.baseline
        if self.base:
            self.base_siprof = os.path.join(self.base, "src", "siprof")
            self.base_unwind = os.path.join(self.base, "tests", "bench", "bench-unwind")
        self.src = os.path.dirname(os.path.abspath(__file__))
        self.quick = args.quick
        self.tmp = tempfile.mkdtemp(prefix="siprof-bench.")
        self.rows = []  # (number, measurement, siprof, compared with, target, verdict)
        self.rounds = 2 if args.quick else 5
        self.window = 2.0 if args.quick else 4.0
        self.settle = 1.5
        self.tables = []  # tables of measurements that print their own

    def path(self, name):
        return os.path.join(self.tmp, name)

    def row(self, num, what, ours, other, target, ok):
        verdict = "-" if ok is None else ("met" if ok else "MISSED")
        self.rows.append((num, what, ours, other, target, verdict))
        log(f"{num}. {what}: {ours} | {other} | {target} | {verdict}")

    # Profilers -----------------------------------------------------------

    def start_siprof(self, pid, out="s.sip", extra=(), prog=None):
        return Profiler("siprof", [prog or self.siprof, "record", "-q", "--force", "-r", str(RATE),
                                   "-o", self.path(out), "-p", str(pid), *extra])

    def start_floor(self, wl):
        """The bare ptrace loop on the busy threads, running until stopped."""
        return Profiler("floor", [self.floor, str(RATE), "3600", "65536", str(wl.pid),
                                  *map(str, wl.tids)])

    def start_perf(self, pid, dwarf, out=None):
        out = out or ("perf-dwarf.data" if dwarf else "perf-fp.data")
        cg = ["--call-graph", "dwarf"] if dwarf else ["-g"]
        return Profiler("perf", ["perf", "record", "-q", "-F", str(RATE), *cg,
                                 "-o", self.path(out), "-p", str(pid)])

    def session_stats(self, out="s.sip"):
        r = subprocess.run([self.siprof, "report", "-j", self.path(out)],
                           capture_output=True, text=True, check=True)
        return json.loads(r.stdout)

    def attached_window(self, wl, start):
        """Throughput and the profiler's CPU share over one window."""
        prof = start(wl) if start else None
        time.sleep(self.settle if prof else 0.2)
        c0 = prof.cpu() if prof else 0.0
        t0 = time.monotonic()
        res = wl.window(self.window)
        res["prof_cpu"] = ((prof.cpu() - c0) / (time.monotonic() - t0)) if prof else 0.0
        if prof:
            prof.stop()
        return res

    # 1 ---------------------------------------------------------------------

    def held(self):
        wl = Workload(self.wl, "gaps")
        floor, ours = [], []
        try:
            for _ in range(self.rounds):
                seconds = self.settle + self.window
                r = subprocess.run([self.floor, str(RATE), str(seconds), "65536",
                                    str(wl.pid), *map(str, wl.tids)],
                                   capture_output=True, text=True, check=True)
                f = r.stdout.split()
                floor.append(float(f[f.index("held_p50_us") + 1]))
                self.attached_window(wl, lambda w: self.start_siprof(w.pid))
                st = self.session_stats()["context"]["stats"]
                ours.append(st["held_p50_us"])
        finally:
            wl.close()
        m_f, m_o = statistics.median(floor), statistics.median(ours)
        self.row(1, "held time per sample, running thread (median of round medians)",
                 f"{m_o:.1f} us", f"floor {m_f:.1f} us; ratio {m_o / m_f:.2f}",
                 "<= 1.5 x floor", m_o <= 1.5 * m_f)

    # 2, 3 ------------------------------------------------------------------

    def slowdown(self, mode, n, configs, num, what, target_pct):
        wl = Workload(self.wl, mode, n)
        results = {name: [] for name, _ in configs}
        cpu = []
        try:
            self.attached_window(wl, None)  # warm up
            for r in range(self.rounds):
                order = configs[r % len(configs):] + configs[:r % len(configs)]
                base = []
                got = {}
                for name, start in order:
                    res = self.attached_window(wl, start)
                    if start is None:
                        base.append(res["units_per_s"])
                    else:
                        got[name] = res
                # The baseline of a round: the same window without a profiler.
                b = statistics.median(base)
                for name, res in got.items():
                    results[name].append(100.0 * (1.0 - res["units_per_s"] / b))
                    if name == "siprof":
                        cpu.append(100.0 * res["prof_cpu"])
        finally:
            wl.close()
        med = {name: statistics.median(v) for name, v in results.items() if v}
        others = "; ".join(f"{k} {v:+.2f}%" for k, v in med.items() if k != "siprof")
        ok = med["siprof"] < target_pct and all(med["siprof"] <= v + 0.5 for k, v in med.items()
                                               if k.startswith("perf"))
        self.row(num, what, f"{med['siprof']:+.2f}% (siprof CPU {statistics.median(cpu):.1f}%)",
                 others or "-", f"< {target_pct:g}%" + (", no worse than perf" if "perf" in others else ""),
                 ok)

    # 4 ---------------------------------------------------------------------

    def own_cpu(self):
        wl = Workload(self.wl, "busy", 8)
        cpu, base = [], []
        try:
            for _ in range(max(2, self.rounds - 2)):
                cpu.append(100.0 * self.attached_window(wl, lambda w: self.start_siprof(w.pid))["prof_cpu"])
                if self.base:
                    base.append(100.0 * self.attached_window(
                        wl, lambda w: self.start_siprof(w.pid, out="base.sip",
                                                        prog=self.base_siprof))["prof_cpu"])
            st = self.session_stats()["context"]["stats"]
        finally:
            wl.close()
        m = statistics.median(cpu)
        hz = st["ticks"] / st["duration_s"] if st["duration_s"] else 0
        self.row(4, "siprof CPU, 99 Hz x 8 busy threads (one core = 100%)",
                 f"{m:.1f}%", f"{hz:.1f} Hz achieved, {st['missed_ticks']:.0f} missed ticks",
                 "< 10%", m < 10.0)
        if self.base:
            b = statistics.median(base)
            self.row(4, "siprof CPU against the baseline build, same rounds",
                     f"{m:.1f}%", f"baseline {b:.1f}% (ratio {m / b if b else 0:.2f})",
                     "ratio <= 1.10", b == 0 or m / b <= 1.10)

    # 5 ---------------------------------------------------------------------

    def unwind_rate(self):
        wl = Workload(self.wl, "deep", 4)
        out = {}
        base = []
        cur = []
        args = ["400" if self.quick else "2000", "3" if self.quick else "7"]

        def run(prog, kind, how="stopped", pid=None):
            r = subprocess.run([prog, str(pid or wl.pid), *args, kind, how],
                               capture_output=True, text=True, check=True)
            f = r.stdout.split()
            return {f[i]: float(f[i + 1]) for i in range(0, len(f) - 1, 2)}
        try:
            for kind in ("dw", "libunwind", "fp"):
                out[kind] = run(self.unwind, kind)
            if self.base:
                for _ in range(self.rounds):
                    base.append(run(self.base_unwind, "dw")["warm_per_s"])
                    cur.append(run(self.unwind, "dw")["warm_per_s"])
        finally:
            wl.close()
        dw = out["dw"]
        self.row(5, f"unwind + symbolize, warm, {dw['frames_mean']:.0f} frames mean "
                 "(samples per CPU-second)",
                 f"dw {dw['warm_per_s']:,.0f} (new profile {dw['new_profile_per_s']:,.0f})",
                 f"libunwind {out['libunwind']['warm_per_s']:,.0f}; fp {out['fp']['warm_per_s']:,.0f}"
                 f"; dw first pass {dw['first_pass_per_s']:,.0f}",
                 ">= 20,000", dw["warm_per_s"] >= 20000)
        if self.base:
            m, b = statistics.median(cur), statistics.median(base)
            self.row(5, "unwind + symbolize (dw, warm) against the baseline build, alternating",
                     f"{m:,.0f}/s", f"baseline {b:,.0f}/s (ratio {m / b if b else 0:.2f})",
                     "ratio >= 0.90", b == 0 or m / b >= 0.90)
        self.unwind_nonstop_rate(run, out)

    def unwind_nonstop_rate(self, run, stopped):
        """Measurement 5, threads copied without a stop: bench-unwind nonstop
        on bench-workload blocked, beside the stopped rows above; with
        --baseline, both builds alternating round by round (the baseline's
        bench-unwind must know "nonstop")."""
        wl = Workload(self.wl, "blocked", 12)
        ours = {k: [] for k in ("dw", "libunwind")}
        base = {k: [] for k in ("dw", "libunwind")}
        try:
            for _ in range(self.rounds if self.base else 1):
                for kind in ("dw", "libunwind"):
                    if self.base:
                        base[kind].append(run(self.base_unwind, kind, "nonstop", wl.pid))
                    ours[kind].append(run(self.unwind, kind, "nonstop", wl.pid))
        finally:
            wl.close()

        def med(runs, key):
            vals = [r[key] for r in runs if key in r]
            return statistics.median(vals) if vals else 0.0
        frames = med(ours["dw"], "frames_mean")
        found = med(ours["dw"], "fp_found_pct")
        self.row(5, f"unwind + symbolize, threads copied without a stop, {frames:.0f} frames "
                 f"mean, frame record found in {found:.0f}%: warm (search every time)",
                 "; ".join(f"{k} {med(ours[k], 'warm_per_s'):,.0f} "
                           f"({med(ours[k], 'unremembered_per_s'):,.0f})" for k in ours),
                 "stopped, deep: " + "; ".join(f"{k} {stopped[k]['warm_per_s']:,.0f}"
                                               for k in ours),
                 "-", None)
        if self.base:
            for kind in ours:
                m, b = med(ours[kind], "warm_per_s"), med(base[kind], "warm_per_s")
                u = med(ours[kind], "unremembered_per_s")
                self.row(5, f"copied without a stop ({kind}, warm) against the baseline "
                         "build, alternating",
                         f"{m:,.0f}/s (search every time {u:,.0f}/s)",
                         f"baseline {b:,.0f}/s (ratio {m / b if b else 0:.2f}; "
                         f"searching {u / b if b else 0:.2f})",
                         "search ratio >= 0.90", b == 0 or u / b >= 0.90)

    # 6 ---------------------------------------------------------------------

    def size(self, seconds):
        """Session growth per hour: the slope between a short and a long
        recording (a session has a fixed part: schema, context, symbols).
        perf records beside the long one; perf.data is mostly samples."""
        short = max(5.0, seconds / 4)
        wl = Workload(self.wl, "busy", 8)
        try:
            p = self.start_siprof(wl.pid, "short.sip")
            time.sleep(short)
            p.stop()
            profs = [self.start_siprof(wl.pid, "size.sip"),
                     self.start_perf(wl.pid, False, "size-fp.data"),
                     self.start_perf(wl.pid, True, "size-dwarf.data")]
            time.sleep(seconds)
            for p in profs:
                p.stop()
        finally:
            wl.close()

        def size(name):
            return os.path.getsize(self.path(name))

        ours = (size("size.sip") - size("short.sip")) * 3600.0 / (seconds - short) / 1e6
        mb_h = lambda name: size(name) * 3600.0 / seconds / 1e6
        self.row(6, f"session growth per hour, 99 Hz x 8 threads ({short:.0f} s and "
                 f"{seconds:.0f} s runs)",
                 f"{ours:.2f} MB/h ({size('size.sip') / 1e3:.0f} kB after {seconds:.0f} s)",
                 f"perf -g {mb_h('size-fp.data'):,.0f} MB/h; "
                 f"perf dwarf {mb_h('size-dwarf.data'):,.0f} MB/h",
                 "<= 2 MB/h", ours <= 2.0)

    # 7 ---------------------------------------------------------------------

    def dump(self):
        tools = {
            "siprof": [self.siprof, "dump"],
            "eu-stack": ["eu-stack", "-p"],
            "gdb": ["gdb", "-q", "-batch", "-ex", "thread apply all bt", "-p"],
        }
        wall = {k: [] for k in tools}
        stall = {k: [] for k in tools}
        base = []
        wl = Workload(self.wl, "heartbeat", 50)
        try:
            time.sleep(0.5)
            for r in range(self.rounds):
                base.append(wl.window(0.5)["beat_max_us"] / 1000.0 - 2.0)
                for name, argv in tools.items():
                    wl.start()
                    t0 = time.monotonic()
                    subprocess.run(argv + [str(wl.pid)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, check=False)
                    wall[name].append((time.monotonic() - t0) * 1000.0)
                    time.sleep(0.1)
                    stall[name].append(wl.stop()["beat_max_us"] / 1000.0 - 2.0)
        finally:
            wl.close()
        med = lambda v: statistics.median(v)
        self.row(7, "dump of 50 threads: wall ms / longest stall ms (medians)",
                 f"{med(wall['siprof']):.0f} / {med(stall['siprof']):.1f}",
                 f"eu-stack {med(wall['eu-stack']):.0f} / {med(stall['eu-stack']):.1f}; "
                 f"gdb {med(wall['gdb']):.0f} / {med(stall['gdb']):.1f}; "
                 f"no tool: stall {med(base):.1f}",
                 "stall within 2 ms of no tool",
                 med(stall["siprof"]) <= med(base) + 2.0)

    # 8 ---------------------------------------------------------------------

    def accuracy(self):
        fns = ("split_a", "split_b", "split_c")
        want = (50.0, 30.0, 20.0)
        ours, perf = [], []
        wl = Workload(self.wl, "split")
        seconds = 4.0 if self.quick else 10.0
        try:
            for _ in range(2):
                p = self.start_siprof(wl.pid, "split.sip")
                time.sleep(seconds)
                p.stop()
                r = subprocess.run([self.siprof, "report", "-j", "-c", "cpu", "-n", "50",
                                    self.path("split.sip")],
                                   capture_output=True, text=True, check=True)
                by = {f["function"]: f["self"] for f in json.loads(r.stdout)["functions"]}
                ours.append([by.get(f, 0) for f in fns])
                p = self.start_perf(wl.pid, False, "split.data")
                time.sleep(seconds)
                p.stop()
                r = subprocess.run(["perf", "report", "-i", self.path("split.data"), "--stdio",
                                    "--no-children", "--sort", "symbol", "-F", "sample,symbol"],
                                   capture_output=True, text=True, check=True)
                by = {}
                for line in r.stdout.splitlines():
                    m = re.match(r"\s*(\d+)\s+\[\.\]\s+(\S+)", line)
                    if m:
                        by[m.group(2)] = int(m.group(1))
                perf.append([by.get(f, 0) for f in fns])
        finally:
            wl.close()

        self.split_row("known split 50/30/20 (split_a/b/c), shares %", ours, perf, want,
                       "error close to perf's")

    def split_row(self, what, ours, perf, want, target):
        """A row of measurement 8: the shares siprof and perf gave the split's
        functions over all runs, and their errors against the known split."""
        def shares(runs):
            tot = [sum(r[i] for r in runs) for i in range(len(want))]
            s = sum(tot) or 1
            return [100.0 * t / s for t in tot], sum(tot)

        so, n_o = shares(ours)
        sp, n_p = shares(perf)
        err_o = max(abs(a - b) for a, b in zip(so, want))
        err_p = max(abs(a - b) for a, b in zip(sp, want))
        fmt = lambda s: "/".join(f"{x:.1f}" for x in s)
        self.row(8, what, f"{fmt(so)} (err {err_o:.1f} pts, {n_o} samples)",
                 f"perf -g {fmt(sp)} (err {err_p:.1f} pts, {n_p} samples)",
                 target, err_o <= err_p + 3.0)

    def accuracy_saturated(self):
        """Measurement 8 with both CPUs saturated by two other processes, siprof
        and perf recording at the same time: the split's shares, and the cpu
        class against the CPU time the kernel accounted to the thread over
        the session (its schedstat, polled every 10 ms)."""
        fns = ("split_a", "split_b", "split_c")
        want = (50.0, 30.0, 20.0)
        seconds = 4.0 if self.quick else 10.0
        wl = Workload(self.wl, "split")
        loads = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(2)]
        ours, theirs, cpu_rows = [], [], []
        try:
            for _ in range(2):
                polls, done = [], threading.Event()

                def poll():
                    while not done.is_set():
                        r = d = 0
                        for tid in wl.tids:
                            with open(f"/proc/{wl.pid}/task/{tid}/schedstat") as f:
                                v = f.read().split()
                            r, d = r + int(v[0]), d + int(v[1])
                        polls.append((time.time(), r, d))
                        time.sleep(0.01)
                th = threading.Thread(target=poll)
                th.start()
                time.sleep(0.2)
                p = self.start_siprof(wl.pid, "sat.sip")
                q = self.start_perf(wl.pid, False, "sat.data")
                time.sleep(seconds)
                p.stop()
                q.stop()
                done.set()
                th.join()
                doc = self.session_stats("sat.sip")
                r = subprocess.run([self.siprof, "report", "-j", "-c", "cpu", "-n", "50",
                                    self.path("sat.sip")], capture_output=True, text=True, check=True)
                by = {f["function"]: f["self"] for f in json.loads(r.stdout)["functions"]}
                ours.append([by.get(f, 0) for f in fns])
                r = subprocess.run(["perf", "report", "-i", self.path("sat.data"), "--stdio",
                                    "--no-children", "--sort", "symbol", "-F", "sample,symbol"],
                                   capture_output=True, text=True, check=True)
                by, n_perf = {}, 0
                for line in r.stdout.splitlines():
                    m = re.match(r"\s*(\d+)\s+\[[.k]\]\s+(\S+)", line)
                    if m:
                        by[m.group(2)] = int(m.group(1))
                        n_perf += int(m.group(1))
                theirs.append([by.get(f, 0) for f in fns])
                db = sqlite3.connect(f"file:{self.path('sat.sip')}?mode=ro", uri=True)
                meta = dict(db.execute("SELECT key, value FROM meta"))
                db.close()
                t0, t1 = int(meta["start_unix_ns"]) / 1e9, int(meta["end_unix_ns"]) / 1e9

                def at(t):
                    for a, b in zip(polls, polls[1:]):
                        if a[0] <= t <= b[0]:
                            f = (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else 0
                            return a[1] + f * (b[1] - a[1])
                    return polls[-1][1] if t > polls[-1][0] else polls[0][1]
                kernel = (at(t1) - at(t0)) / 1e9
                cpu = doc["classes"].get("cpu", 0) / RATE
                cpu_rows.append((cpu, kernel, n_perf / RATE, doc["classes"].get("runq", 0) / RATE))
        finally:
            for l in loads:
                l.kill()
                l.wait()
            wl.close()

        self.split_row("saturated CPUs: known split 50/30/20, shares % (siprof and perf at once)",
                       ours, theirs, want, "within 3 pts of perf's error")
        ratio = [c / k for c, k, _, _ in cpu_rows if k > 0]
        self.row(8, "saturated CPUs: cpu class / kernel CPU time of the thread",
                 "; ".join(f"{c:.2f}/{k:.2f} s" for c, k, _, _ in cpu_rows) +
                 f" (ratio {min(ratio):.3f}..{max(ratio):.3f})",
                 "perf samples/rate: " + "; ".join(f"{p:.2f} s" for _, _, p, _ in cpu_rows) +
                 "; runq " + "; ".join(f"{r:.2f} s" for _, _, _, r in cpu_rows),
                 "within 5%", all(abs(x - 1) <= 0.05 for x in ratio))

    # 9 ---------------------------------------------------------------------

    def start_clone_floor(self, wl):
        """The bare TRACECLONE tracer on the whole process, until stopped."""
        return Profiler("floor", [self.floor, "clone", str(wl.pid)])

    def clones(self, batch, num):
        configs = [("none", None), ("siprof", lambda w: self.start_siprof(w.pid)),
                   ("floor", self.start_clone_floor)]
        ratios = {"siprof": [], "floor": [], "siprof/floor": []}
        rates, cpu = [], []
        wl = Workload(self.wl, "spawn", batch)
        try:
            self.attached_window(wl, None)  # warm up
            for r in range(self.rounds):
                order = configs[r % len(configs):] + configs[:r % len(configs)]
                got = {name: self.attached_window(wl, start) for name, start in order}
                rate = {name: res["units_per_s"] for name, res in got.items()}
                ratios["siprof"].append(rate["siprof"] / rate["none"])
                ratios["floor"].append(rate["floor"] / rate["none"])
                ratios["siprof/floor"].append(rate["siprof"] / rate["floor"])
                rates.append(rate["none"])
                cpu.append(100.0 * got["siprof"]["prof_cpu"])
        finally:
            wl.close()
        med = {k: statistics.median(v) for k, v in ratios.items()}
        what = ("one at a time (create, join)" if batch == 1 else
                f"{batch} at a time (create {batch}, join {batch})")
        self.row(num, f"thread creation rate, {what}: ratio to no tracer "
                 "(median of round ratios)",
                 f"{med['siprof']:.2f} (siprof CPU {statistics.median(cpu):.0f}%)",
                 f"ptrace floor {med['floor']:.2f}; siprof/floor {med['siprof/floor']:.2f}; "
                 f"no tracer {statistics.median(rates):,.0f}/s",
                 ">= 0.8 x floor", med["siprof/floor"] >= 0.8)

    # 10 --------------------------------------------------------------------

    SHARES_RATE = 499

    @staticmethod
    def function_key(name, module):
        """A function's name as both tools can be matched on: no Rust hash,
        no Go ABI suffix, no generic or C++ arguments; an address in a
        module without symbols as module+0xOFFSET."""
        m = re.match(r"^(.*)\+0x([0-9a-f]+)$", name)
        if m or name in ("", "[unknown]"):
            return f"{os.path.basename(module)}+0x{int(m.group(2), 16) if m else 0:x}"
        name = re.sub(r"::h[0-9a-f]{16}$", "", name)
        name = re.sub(r"\.abi0$", "", name)
        name = re.sub(r"^(__GI_)?_*(libc_)?", "", name)  # aliases: __libc_pwrite, pwrite
        out, depth = [], 0
        for ch in name.replace("->", ""):  # generic arguments, <...> however deep
            depth += ch == "<"
            if depth == 0:
                out.append(ch)
            depth -= ch == ">" and depth > 0
        name = "".join(out)
        name = re.sub(r"(?<=[\w>])\(.*$", "", name)  # C++ arguments, not Go's (*T)
        return name.strip()

    def siprof_functions(self, path):
        """On-CPU samples per function from the session's own tables: the
        leaf's machine frame (inlined frames go to the function they are
        inlined into)."""
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            frames = {i: (fn or "", mod or "", inl) for i, fn, mod, inl in
                      db.execute("SELECT id, function, module, inlined FROM frame_names")}
            stacks = {i: (p, f) for i, p, f in db.execute("SELECT id, parent, frame FROM stacks")}
            cpu = db.execute("SELECT id FROM classes WHERE name = 'cpu'").fetchone()[0]
            rows = db.execute("SELECT stack, sum(count) FROM samples s JOIN types t ON t.id = s.type"
                              " WHERE t.name = 'samples' AND s.class = ? GROUP BY stack", (cpu,))
            got = {}
            for node, n in rows:
                while (node in stacks and frames[stacks[node][1]][2] == 1
                       and stacks[node][0] in stacks):
                    node = stacks[node][0]
                fn, mod, _ = frames[stacks[node][1]] if node in stacks else ("", "", 0)
                k = self.function_key(fn, mod)
                got[k] = got.get(k, 0) + n
            return got
        finally:
            db.close()

    def perf_functions(self, path):
        """Samples per function from perf script: the first frame of each
        sample's chain outside the kernel (siprof has no kernel frames; it
        counts a system call's time to the function that made it)."""
        r = subprocess.run(["perf", "script", "-i", path, "-F", "ip,sym,dso"],
                           capture_output=True, text=True, check=True)
        got = {}
        for block in r.stdout.split("\n\n"):
            for line in block.strip().splitlines():
                m = re.match(r"\s*([0-9a-f]+)\s+(.*)\s+\((.*)\)\s*$", line)
                if not m or "kernel.kallsyms" in m.group(3) or m.group(3).startswith("["):
                    continue
                ip, sym, dso = m.group(1), m.group(2).strip(), m.group(3)
                k = (f"{os.path.basename(dso)}+0x{int(ip, 16):x}" if sym == "[unknown]"
                     else self.function_key(sym, dso))
                got[k] = got.get(k, 0) + 1
                break
        return got

    def shares_row(self, what, pid, seconds):
        rate = str(self.SHARES_RATE)
        p = Profiler("siprof", [self.siprof, "record", "-q", "--force", "-r", rate,
                                "-o", self.path("shares.sip"), "-p", str(pid)])
        q = Profiler("perf", ["perf", "record", "-q", "-F", rate, "-g",
                              "-o", self.path("shares.data"), "-p", str(pid)])
        time.sleep(seconds)
        p.stop()
        q.stop()
        ours = self.siprof_functions(self.path("shares.sip"))
        theirs = self.perf_functions(self.path("shares.data"))
        n_o, n_p = sum(ours.values()) or 1, sum(theirs.values()) or 1
        keys = {k for k in ours if ours[k] / n_o >= 0.01} | {k for k in theirs if theirs[k] / n_p >= 0.01}
        diffs = sorted(((abs(100.0 * ours.get(k, 0) / n_o - 100.0 * theirs.get(k, 0) / n_p), k)
                        for k in keys), reverse=True)
        top = max(keys, key=lambda k: theirs.get(k, 0))
        worst, wk = diffs[0] if diffs else (0.0, "-")
        self.row(10, f"shares, {what}: largest difference over {len(keys)} functions of 1% or more",
                 f"{worst:.1f} pts ({wk}: {100.0 * ours.get(wk, 0) / n_o:.1f}%; "
                 f"top {top} {100.0 * ours.get(top, 0) / n_o:.1f}%; {n_o} samples)",
                 f"perf -g {100.0 * theirs.get(wk, 0) / n_p:.1f}%; "
                 f"top {100.0 * theirs.get(top, 0) / n_p:.1f}%; {n_p} samples",
                 "within 3 pts", worst <= 3.0)
        log(f"10. {what}: " + ", ".join(f"{k} {100.0 * ours.get(k, 0) / n_o:.1f}/"
                                        f"{100.0 * theirs.get(k, 0) / n_p:.1f}" for _, k in diffs[:8]))

    def stream_into(self, argv):
        """argv reading an endless stream of the system's libraries (what a
        compressor meets in a backup), until killed; its pid."""
        libs = " ".join(sorted(os.path.join("/usr/lib/x86_64-linux-gnu", f) for f in
                               os.listdir("/usr/lib/x86_64-linux-gnu") if ".so" in f)[:200])
        feed = subprocess.Popen(["sh", "-c", f"while :; do cat {libs} 2>/dev/null; done"],
                                stdout=subprocess.PIPE)
        prog = subprocess.Popen(argv, stdin=feed.stdout, stdout=subprocess.DEVNULL)
        feed.stdout.close()
        return feed, prog

    def start_pg(self):
        """A PostgreSQL server of its own (Debian's postgresql-15, as the
        postgres user) and one backend sorting md5 strings: (server, client,
        backend pid)."""
        pg_bin = "/usr/lib/postgresql/15/bin"
        d = self.path("pg")
        os.mkdir(d)
        os.chmod(self.tmp, 0o755)
        shutil.chown(d, "postgres")
        as_pg = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        subprocess.run(as_pg + [f"{pg_bin}/initdb", "-A", "trust", "-D", f"{d}/data"],
                       capture_output=True, check=True)
        port = str(20000 + os.getpid() % 20000)
        server = subprocess.Popen(as_pg + [f"{pg_bin}/postgres", "-D", f"{d}/data", "-k", d, "-p", port,
                                           "-c", "listen_addresses=", "-c", "work_mem=256MB"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env = dict(os.environ, PGHOST=d, PGPORT=port)
        for _ in range(200):
            if subprocess.run(["psql", "-U", "postgres", "-Atqc", "select 1"], env=env,
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        client = subprocess.Popen(["psql", "-U", "postgres", "-Atq"], env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        client.stdin.write("select pg_backend_pid();\n")
        client.stdin.write("select count(distinct h) from (select md5(i::text) h from "
                           "generate_series(1, 2000000000) i) s;\n")
        client.stdin.flush()
        return server, client, int(client.stdout.readline())

    def shares(self):
        seconds = 8.0 if self.quick else 20.0
        for what, argv in (("gzip -6 (no symbols: by address)", ["gzip", "-6", "-c"]),
                           ("xz -6", ["xz", "-6", "-T1", "-c"])):
            if not shutil.which(argv[0]):
                self.row(10, f"shares, {what}", f"{argv[0]} is not installed", "-", "-", None)
                continue
            feed, prog = self.stream_into(argv)
            try:
                time.sleep(1.0)
                self.shares_row(what, prog.pid, seconds)
            finally:
                for x in (prog, feed):
                    x.kill()
                    x.wait()
        if os.path.exists("/usr/lib/postgresql/15/bin/postgres"):
            server, client, backend = self.start_pg()
            try:
                time.sleep(1.0)
                self.shares_row("postgres backend, count(distinct md5(...))", backend, seconds)
            finally:
                client.kill()
                client.wait()
                server.send_signal(signal.SIGINT)  # fast shutdown: ends the backend's query
                server.wait()
        builds = (("Go", ["go", "build", "-o", self.path("shares-go"),
                          os.path.join(self.src, "shares.go")], "shares-go"),
                  ("Rust", ["rustc", "-O", "-g", "-o", self.path("shares-rs"),
                            os.path.join(self.src, "shares.rs")], "shares-rs"))
        for what, build, exe in builds:
            if not shutil.which(build[0]):
                self.row(10, f"shares, {what}", f"{build[0]} is not installed", "-", "-", None)
                continue
            subprocess.run(build, check=True, capture_output=True,
                           env=dict(os.environ, GOCACHE=self.path("gocache"), GO111MODULE="off"))
            prog = subprocess.Popen([self.path(exe)], stdout=subprocess.PIPE, text=True)
            try:
                prog.stdout.readline()
                time.sleep(1.0)
                self.shares_row(f"{what} ({exe[:-3]}.{'go' if what == 'Go' else 'rs'}: "
                                "map, sort, hashing)", prog.pid, seconds)
            finally:
                prog.kill()
                prog.wait()

    # 11 --------------------------------------------------------------------

    def alloc(self):
        """tests/bench/alloc.py, in its own process: its table goes after
        the others (its columns are its own)."""
        r = subprocess.run([sys.executable, os.path.join(self.src, "alloc.py"), "--builddir", self.b,
                            "--seconds", "10" if self.quick else "60",
                            "--rounds", "1" if self.quick else "3"],
                           capture_output=True, text=True)
        sys.stderr.write(r.stderr)
        if r.returncode != 0:
            raise RuntimeError(f"alloc.py exited {r.returncode}: {r.stderr.strip()[-200:]}")
        self.tables.append(r.stdout.strip())
        self.row(11, "allocation profiling, siprof beside heaptrack and memleak",
                 "see the table below", "-", "-", None)

    # -----------------------------------------------------------------------

    def table(self):
        out = ["| # | measurement | siprof | compared with | target | |",
               "| --- | --- | --- | --- | --- | --- |"]
        for r in self.rows:
            out.append("| " + " | ".join(str(x) for x in r) + " |")
        return "\n".join(out)


def machine():
    cpus = os.cpu_count()
    kernel = os.uname().release
    perf = subprocess.run(["perf", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cpus} CPUs, Linux {kernel}, {perf}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--out", default="bench-results.md")
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    ap.add_argument("--only", default="", help="comma-separated measurement numbers")
    ap.add_argument("--size-seconds", type=float, default=None)
    ap.add_argument("--baseline", default=None,
                    help="another build tree to compare measurements 4 and 5 with")
    args = ap.parse_args()

    b = Bench(args)
    only = {int(x) for x in args.only.split(",") if x}
    size_s = args.size_seconds or (20.0 if args.quick else 90.0)
    steps = [
        (1, b.held),
        (2, lambda: b.slowdown("busy", 4, [("none", None),
                                           ("siprof", lambda w: b.start_siprof(w.pid)),
                                           ("perf -g", lambda w: b.start_perf(w.pid, False)),
                                           ("perf dwarf", lambda w: b.start_perf(w.pid, True)),
                                           ("ptrace floor", b.start_floor)],
                               2, "slowdown, 4 busy threads at 99 Hz", 1.0)),
        (3, lambda: b.slowdown("idle", 200, [("none", None),
                                             ("siprof", lambda w: b.start_siprof(w.pid)),
                                             ("ptrace floor", b.start_floor)],
                               3, "slowdown, 1 busy + 200 idle threads at 99 Hz", 1.0)),
        (4, b.own_cpu),
        (5, b.unwind_rate),
        (6, lambda: b.size(size_s)),
        (7, b.dump),
        (8, b.accuracy),
        (8, b.accuracy_saturated),
        (9, lambda: (b.clones(1, 9), b.clones(200, 9))),
        (10, b.shares),
        (11, b.alloc),
    ]
    t0 = time.monotonic()
    try:
        for num, fn in steps:
            if only and num not in only:
                continue
            log(f"measurement {num}")
            try:
                fn()
            except (subprocess.CalledProcessError, RuntimeError, OSError) as e:
                detail = getattr(e, "stderr", None) or ""
                b.row(num, f"measurement {num} failed", str(e)[:80], str(detail).strip()[:120],
                      "-", False)
    finally:
        shutil.rmtree(b.tmp, ignore_errors=True)
    text = (f"# siprof benchmarks\n\n{machine()}; {b.rounds} rounds, "
            f"{b.window:g} s windows; {time.monotonic() - t0:.0f} s in all.\n\n"
            f"{b.table()}\n" + "".join(f"\n{t}\n" for t in b.tables))
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    log(f"results written to {args.out}")
    return 1 if any("failed" in r[1] for r in b.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
