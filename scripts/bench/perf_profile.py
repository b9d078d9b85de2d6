"""Profiles Wren (perf record -a on a separate run per scenario, strace -c for syscall counts)
and summarises the hot functions."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from loadgen import client_argv, run_client
from peers import Ctx, Wren


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


SCRIPT_LINE = re.compile(r"^\s*(\d+)/(\d+)\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")


def perf_samples(data: Path, tids: Optional[dict] = None) -> dict[int, list[tuple[str, str]]]:
    """pid -> [(dso, symbol)] for every sample in a perf.data (self samples, no call chains);
    fills `tids` (pid -> set of thread ids) if given."""
    r = subprocess.run(["perf", "script", "-i", str(data), "-F", "pid,tid,ip,sym,dso",
                        "--hide-call-graph"], capture_output=True, text=True, timeout=600)
    by_pid: dict[int, list[tuple[str, str]]] = {}
    for line in r.stdout.splitlines():
        m = SCRIPT_LINE.match(line)
        if m:
            sym, dso = m.group(3), m.group(4)
            if sym.endswith("+0x") or not sym:
                sym = "[unknown]"
            if tids is not None:
                tids.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
            by_pid.setdefault(int(m.group(1)), []).append((dso, re.sub(r"\+0x[0-9a-f]+$", "", sym)))
    return by_pid


def perf_top(samples: list[tuple[str, str]], top: int = 25) -> dict:
    """Flat profile (self samples) of one process: share by object and by function."""
    total = len(samples)
    if not total:
        return dict(samples=0, kernel_pct=0, by_dso={}, top=[])
    by_sym: dict[tuple[str, str], int] = {}
    by_dso: dict[str, int] = {}
    for dso, sym in samples:
        by_sym[(dso, sym)] = by_sym.get((dso, sym), 0) + 1
        by_dso[dso] = by_dso.get(dso, 0) + 1
    kernel = sum(n for d, n in by_dso.items() if d.startswith("[kernel"))
    rows = [dict(pct=round(100 * n / total, 1), samples=n, dso=os.path.basename(d),
                 kernel=d.startswith("[kernel"), sym=sym)
            for (d, sym), n in sorted(by_sym.items(), key=lambda kv: -kv[1])[:top]]
    return dict(samples=total, kernel_pct=round(100 * kernel / total, 1),
                by_dso={os.path.basename(k): round(100 * v / total, 1)
                        for k, v in sorted(by_dso.items(), key=lambda kv: -kv[1])[:6]},
                top=rows)


def machine_share(samples: dict, wren_pid: int, client_pid: int) -> dict:
    """Share of all samples on the machine (both cores, idle included) by who ran."""
    total = sum(len(v) for v in samples.values()) or 1
    w = len(samples.get(wren_pid, []))
    c = len(samples.get(client_pid, []))
    idle = len(samples.get(0, []))
    return dict(wren_pct=round(100 * w / total, 1), client_pct=round(100 * c / total, 1),
                idle_pct=round(100 * idle / total, 1),
                other_pct=round(100 * (total - w - c - idle) / total, 1))


def kernel_callers(data: Path, tids: set, out: Path) -> None:
    """Full call-graph report (kernel stacks are complete; Rust user stacks are not) for reading."""
    if not tids:
        return
    with open(out, "w") as f:
        subprocess.run(["perf", "report", "-i", str(data), "--tid", ",".join(map(str, sorted(tids))),
                        "--no-children",
                        "--stdio", "--percentage", "relative", "--sort", "sym",
                        "-g", "caller,2,callee,function,percent"],
                       stdout=f, stderr=subprocess.DEVNULL, timeout=600)


def strace_counts(path: Path) -> dict:
    """Parse strace -c output: {syscall: calls}."""
    calls: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0].replace(".", "").isdigit() and parts[-1] not in ("total",):
            try:
                calls[parts[-1]] = int(parts[3])
            except ValueError:
                pass
    return dict(sorted(calls.items(), key=lambda kv: -kv[1])[:12])


def profile_wren(ctx: Ctx, scenarios: list, setup_broker: Callable) -> dict:
    """perf record of Wren under each rdkafka_performance scenario (a separate run each) and
    strace -c syscall counts."""
    prof_dir = ctx.work / "profile"
    prof_dir.mkdir(parents=True, exist_ok=True)
    out: dict = {}
    w = Wren(ctx)
    w.start()
    try:
        setup_broker(ctx, w)
        for sc in scenarios:
            if sc.brokers is not None and "wren" not in sc.brokers:
                continue
            if sc.command:
                continue  # the rdkafka crate scenarios are not profiled
            records = ctx.profile_records
            if sc.kind == "produce":
                topic = "bench-prof" if sc.name == "produce_idem_off" else f"bench-prof-{sc.name}"
            else:
                topic = "bench-prof"  # written by the idempotence-off profile run above
            argv = client_argv(ctx, sc.kind, w, topic, records, sc.args)
            data = prof_dir / f"{sc.name}.perf.data"
            # perf first, so that the whole client run is covered.
            perf = subprocess.Popen(["perf", "record", "-a", "-g", "-F", "999", "-o", str(data)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            try:
                res = run_client(ctx, argv, w, sc.kind)
            finally:
                perf.send_signal(signal.SIGINT)
                perf.wait(120)
            tids: dict = {}
            samples = perf_samples(data, tids)
            entry = dict(run=res, wren=perf_top(samples.get(w.pid, [])),
                         client=perf_top(samples.get(res["client_pid"], []), top=10),
                         machine={k: v for k, v in machine_share(samples, w.pid,
                                                                res["client_pid"]).items()})
            kernel_callers(data, tids.get(w.pid, set()), prof_dir / f"{sc.name}.wren-callgraph.txt")
            if ctx.strace:
                st = prof_dir / f"{sc.name}.strace.txt"
                n = max(ctx.profile_records // 5, 20000)
                topic2 = topic + "-strace"
                if sc.kind == "consume":
                    topic2 = topic
                argv2 = client_argv(ctx, sc.kind, w, topic2, n, sc.args)
                tr = subprocess.Popen(["strace", "-c", "-f", "-p", str(w.pid), "-o", str(st)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
                try:
                    sres = run_client(ctx, argv2, w, sc.kind)
                finally:
                    tr.send_signal(signal.SIGINT)
                    tr.wait(60)
                calls = strace_counts(st)
                entry["strace"] = dict(records=sres["records"], mb=round(sres["bytes"] / 1e6, 1),
                                       calls=calls,
                                       calls_per_mb={k: round(v / (sres["bytes"] / 1e6), 2)
                                                     for k, v in calls.items()})
            out[sc.name] = entry
            log(f"profiled wren {sc.name}: {res['mb_per_s']} MB/s under perf")
    finally:
        w.stop()
    return out
